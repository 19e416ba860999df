package io.jmesh.controller.kubernetes;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1beta1.ReferenceGrant;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The Kubernetes objects the translation reads, as the informers' caches hold them at one moment.
 * The lists are copies; the objects in them are the caches' own and must not be changed. The jmesh
 * policies are held by kind: a list from the API server need not repeat each item's kind.
 */
record ClusterState(
    List<Service> services,
    List<EndpointSlice> endpointSlices,
    List<Pod> pods,
    List<HTTPRoute> httpRoutes,
    List<GRPCRoute> grpcRoutes,
    List<ReferenceGrant> referenceGrants,
    Map<PolicyKind, List<GenericKubernetesResource>> policies) {

  /** A cluster without ReferenceGrants and jmesh policies. */
  ClusterState(
      List<Service> services,
      List<EndpointSlice> endpointSlices,
      List<Pod> pods,
      List<HTTPRoute> httpRoutes,
      List<GRPCRoute> grpcRoutes) {
    this(services, endpointSlices, pods, httpRoutes, grpcRoutes, List.of(), Map.of());
  }

  ClusterState {
    services = List.copyOf(services);
    endpointSlices = List.copyOf(endpointSlices);
    pods = List.copyOf(pods);
    httpRoutes = List.copyOf(httpRoutes);
    grpcRoutes = List.copyOf(grpcRoutes);
    policies =
        policies.entrySet().stream()
            .collect(Collectors.toUnmodifiableMap(Map.Entry::getKey, e -> List.copyOf(e.getValue())));
    referenceGrants = List.copyOf(referenceGrants);
  }
}
