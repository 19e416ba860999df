package io.jmesh.controller.kubernetes;

import io.fabric8.kubernetes.api.model.gatewayapi.v1.ReferenceGrantFrom;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.ReferenceGrantTo;
import io.fabric8.kubernetes.api.model.gatewayapi.v1beta1.ReferenceGrant;
import java.util.List;
import java.util.Objects;

/**
 * Gateway API ReferenceGrants ({@code gateway.networking.k8s.io/v1beta1}) as the route
 * translation asks them: may a route of kind K in namespace A send to Service S in namespace B?
 * Yes when a ReferenceGrant in B lists {@code from} {group gateway.networking.k8s.io, kind K,
 * namespace A} and {@code to} {group "" (core), kind Service, and no name or name S}. Anything a
 * grant does not name is not granted (Gateway API: "ReferenceGrant ... is a form of consent").
 *
 * <p>Immutable; a pure function of the grants given.
 */
final class ReferenceGrants {
  static final ReferenceGrants NONE = new ReferenceGrants(List.of());
  private static final String GATEWAY_GROUP = "gateway.networking.k8s.io";

  private final List<ReferenceGrant> grants;

  private ReferenceGrants(List<ReferenceGrant> grants) {
    this.grants = List.copyOf(grants);
  }

  static ReferenceGrants of(List<ReferenceGrant> grants) {
    return grants.isEmpty() ? NONE : new ReferenceGrants(grants);
  }

  /**
   * Whether a {@code routeKind} (HTTPRoute, GRPCRoute) in {@code fromNamespace} may reference
   * Service {@code toNamespace/serviceName}.
   */
  boolean allowsService(
      String routeKind, String fromNamespace, String toNamespace, String serviceName) {
    for (ReferenceGrant grant : grants) {
      if (grant.getSpec() == null
          || !toNamespace.equals(grant.getMetadata().getNamespace())
          || !anyFrom(grant.getSpec().getFrom(), routeKind, fromNamespace)) {
        continue;
      }
      for (ReferenceGrantTo to : nonNull(grant.getSpec().getTo())) {
        if (core(to.getGroup())
            && "Service".equals(to.getKind())
            && (to.getName() == null || to.getName().isEmpty()
                || to.getName().equals(serviceName))) {
          return true;
        }
      }
    }
    return false;
  }

  private static boolean anyFrom(List<ReferenceGrantFrom> from, String kind, String namespace) {
    for (ReferenceGrantFrom f : nonNull(from)) {
      if (GATEWAY_GROUP.equals(f.getGroup())
          && kind.equals(f.getKind())
          && namespace.equals(f.getNamespace())) {
        return true;
      }
    }
    return false;
  }

  /** The core group is written {@code ""}; some write {@code core}. */
  private static boolean core(String group) {
    return group == null || group.isEmpty() || group.equals("core");
  }

  private static <T> List<T> nonNull(List<T> list) {
    return Objects.requireNonNullElse(list, List.of());
  }
}
