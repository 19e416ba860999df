package io.jmesh.controller.kubernetes;

import io.fabric8.kubernetes.api.model.gatewayapi.v1.ParentReference;
import java.util.List;

/**
 * What jmesh says of one route for one of its Service parents: the {@code Accepted} and {@code
 * ResolvedRefs} conditions of a {@code status.parents[]} entry, without times (the writer keeps a
 * condition's {@code lastTransitionTime} while its status does not change).
 */
record RouteStatus(ParentReference parentRef, List<Condition> conditions) {

  /** The route kinds jmesh reads. */
  enum Kind {
    HTTPRoute,
    GRPCRoute
  }

  /** A route, by kind, namespace and name. */
  record Key(Kind kind, String namespace, String name) {
    @Override
    public String toString() {
      return kind + " " + namespace + "/" + name;
    }
  }

  /** One condition: {@code status} is {@code True} or {@code False}. */
  record Condition(String type, String status, String reason, String message) {
    static Condition accepted() {
      return new Condition("Accepted", "True", "Accepted", "accepted by jmesh");
    }

    static Condition notAccepted(String reason, String message) {
      return new Condition("Accepted", "False", reason, message);
    }

    static Condition resolved() {
      return new Condition("ResolvedRefs", "True", "ResolvedRefs", "all backend references resolved");
    }

    static Condition unresolved(String reason, String message) {
      return new Condition("ResolvedRefs", "False", reason, message);
    }
  }

  RouteStatus {
    conditions = List.copyOf(conditions);
  }
}
