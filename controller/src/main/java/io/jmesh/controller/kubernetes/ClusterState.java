package io.jmesh.controller.kubernetes;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1beta1.ReferenceGrant;
import java.util.List;

/**
 * The Kubernetes objects the translation reads, as the informers' caches hold them at one moment.
 * The lists are copies; the objects in them are the caches' own and must not be changed.
 */
record ClusterState(
    List<Service> services,
    List<EndpointSlice> endpointSlices,
    List<Pod> pods,
    List<HTTPRoute> httpRoutes,
    List<GRPCRoute> grpcRoutes,
    List<ReferenceGrant> referenceGrants) {

  /** A cluster without ReferenceGrants. */
  ClusterState(
      List<Service> services,
      List<EndpointSlice> endpointSlices,
      List<Pod> pods,
      List<HTTPRoute> httpRoutes,
      List<GRPCRoute> grpcRoutes) {
    this(services, endpointSlices, pods, httpRoutes, grpcRoutes, List.of());
  }

  ClusterState {
    services = List.copyOf(services);
    endpointSlices = List.copyOf(endpointSlices);
    pods = List.copyOf(pods);
    httpRoutes = List.copyOf(httpRoutes);
    grpcRoutes = List.copyOf(grpcRoutes);
    referenceGrants = List.copyOf(referenceGrants);
  }
}
