package io.jmesh.controller.kubernetes;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRouteStatus;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteStatus;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.RouteParentStatus;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.RouteParentStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Writes {@code status.parents[]} of HTTPRoutes and GRPCRoutes through the status subresource:
 * jmesh's entries (controller name {@value #CONTROLLER_NAME}) are replaced by what the
 * translation says, other controllers' entries are kept. A route whose status would not change
 * is not written, so the update event a write causes ends the loop; a condition keeps its {@code
 * lastTransitionTime} while its status stays the same.
 *
 * <p>A refused write (a 409 after someone else's update, a missing permission) is logged; the
 * update that caused it brings the route back through the translation, which tries again.
 *
 * <p>The same status is not written twice from the same {@code resourceVersion}: until the
 * informer's cache holds the result of an accepted write, the cached object is older than that
 * write, and writing the same status from it again would only repeat it (a translation in
 * between, caused by another object's change, did exactly that), with new transition times if
 * the second had ticked over meanwhile. So until then the accepted write stands for the status.
 *
 * <p>Not thread-safe: called from the source's one thread.
 */
final class RouteStatusWriter {
  static final String CONTROLLER_NAME = "jmesh.io/controller";
  private static final Logger LOG = System.getLogger(RouteStatusWriter.class.getName());

  private final KubernetesClient client;
  private final Clock clock;
  private volatile int writes; // read by tests on another thread
  // Per route (kind/namespace/name): the last accepted write, and the resourceVersion it was
  // made from. Only routes still in the cluster are kept.
  private Map<String, Written> written = new java.util.HashMap<>();

  private record Written(String fromVersion, List<RouteParentStatus> status) {}

  RouteStatusWriter(KubernetesClient client, Clock clock) {
    this.client = Objects.requireNonNull(client, "client");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /** How many statuses were written so far. */
  int writes() {
    return writes;
  }

  /** Brings the status of every route in {@code state} to what {@code statuses} says. */
  void write(ClusterState state, Map<RouteStatus.Key, List<RouteStatus>> statuses) {
    Map<String, Written> before = written;
    written = new java.util.HashMap<>();
    for (HTTPRoute route : state.httpRoutes()) {
      List<RouteStatus> desired = statuses.getOrDefault(key(RouteStatus.Kind.HTTPRoute, route), List.of());
      List<RouteParentStatus> cached =
          route.getStatus() == null || route.getStatus().getParents() == null
              ? List.of()
              : route.getStatus().getParents();
      update(route, cached, desired, before, next -> {
        HTTPRoute copy = Serialization.clone(route);
        copy.setStatus(new HTTPRouteStatus(next));
        client.resource(copy).updateStatus();
      });
    }
    for (GRPCRoute route : state.grpcRoutes()) {
      List<RouteStatus> desired = statuses.getOrDefault(key(RouteStatus.Kind.GRPCRoute, route), List.of());
      List<RouteParentStatus> cached =
          route.getStatus() == null || route.getStatus().getParents() == null
              ? List.of()
              : route.getStatus().getParents();
      update(route, cached, desired, before, next -> {
        GRPCRoute copy = Serialization.clone(route);
        copy.setStatus(new GRPCRouteStatus(next));
        client.resource(copy).updateStatus();
      });
    }
  }

  /**
   * Writes {@code route}'s status if it would change. While the cache still holds the version an
   * accepted write was made from, that write is the route's status: comparing with the older
   * cached one would write again, and with new transition times once the second ticks over.
   */
  private void update(
      HasMetadata route,
      List<RouteParentStatus> cached,
      List<RouteStatus> desired,
      Map<String, Written> before,
      java.util.function.Consumer<List<RouteParentStatus>> write) {
    String key = route.getClass().getSimpleName() + "/" + route.getMetadata().getNamespace() + "/"
        + route.getMetadata().getName();
    String version = route.getMetadata().getResourceVersion();
    Written last = before.get(key);
    boolean cacheBehind = last != null && version != null && version.equals(last.fromVersion());
    List<RouteParentStatus> current = cacheBehind ? last.status() : cached;
    List<RouteParentStatus> next = merge(route, current, desired);
    if (next.equals(current)) {
      if (cacheBehind) {
        written.put(key, last); // its update event comes
      }
      return;
    }
    if (tryWrite(route, () -> write.accept(next))) {
      writes++;
      written.put(key, new Written(version, next));
    }
  }

  /**
   * Runs {@code write}, a status update of {@code object}; a refusal is logged, naming the
   * object, and left to the object's next change. Shared with {@link PolicyStatusWriter}.
   *
   * @return whether the write was accepted
   */
  static boolean tryWrite(HasMetadata object, Runnable write) {
    try {
      write.run();
      return true;
    } catch (KubernetesClientException e) {
      LOG.log(
          Level.WARNING,
          "kubernetes: cannot write the status of " + object.getKind() + " "
              + object.getMetadata().getNamespace() + "/" + object.getMetadata().getName()
              + " (HTTP " + e.getCode() + "): " + e.getMessage()
              + "; tried again on its next change");
      return false;
    }
  }

  /**
   * {@code desired} as API conditions for {@code generation}: a condition keeps the {@code
   * lastTransitionTime} of its {@code previous} namesake while its status stays the same, else it
   * changed {@code now}. Shared with {@link PolicyStatusWriter}.
   */
  static List<Condition> conditions(
      List<RouteStatus.Condition> desired, List<Condition> previous, Long generation, String now) {
    List<Condition> conditions = new ArrayList<>();
    for (RouteStatus.Condition c : desired) {
      Condition before =
          previous == null
              ? null
              : previous.stream().filter(o -> c.type().equals(o.getType())).findFirst().orElse(null);
      String since =
          before != null && c.status().equals(before.getStatus()) ? before.getLastTransitionTime() : now;
      conditions.add(
          new ConditionBuilder()
              .withType(c.type())
              .withStatus(c.status())
              .withReason(c.reason())
              .withMessage(c.message())
              .withObservedGeneration(generation)
              .withLastTransitionTime(since)
              .build());
    }
    return conditions;
  }

  /** Now, to the second, as conditions carry it. */
  static String now(Clock clock) {
    return Instant.now(clock).truncatedTo(ChronoUnit.SECONDS).toString();
  }

  private static RouteStatus.Key key(RouteStatus.Kind kind, HasMetadata route) {
    return new RouteStatus.Key(
        kind, route.getMetadata().getNamespace(), route.getMetadata().getName());
  }

  private List<RouteParentStatus> merge(
      HasMetadata route, List<RouteParentStatus> current, List<RouteStatus> desired) {
    List<RouteParentStatus> next = new ArrayList<>();
    for (RouteParentStatus s : current) {
      if (!CONTROLLER_NAME.equals(s.getControllerName())) {
        next.add(s);
      }
    }
    Long generation = route.getMetadata().getGeneration();
    String now = now(clock);
    for (RouteStatus d : desired) {
      RouteParentStatus old =
          current.stream()
              .filter(s -> CONTROLLER_NAME.equals(s.getControllerName()))
              .filter(s -> Objects.equals(s.getParentRef(), d.parentRef()))
              .findFirst()
              .orElse(null);
      List<Condition> conditions =
          conditions(d.conditions(), old == null ? null : old.getConditions(), generation, now);
      next.add(
          new RouteParentStatusBuilder()
              .withControllerName(CONTROLLER_NAME)
              .withParentRef(d.parentRef())
              .withConditions(conditions)
              .build());
    }
    return next;
  }
}
