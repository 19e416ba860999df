package io.jmesh.controller.xds;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.config.Service;
import io.jmesh.runtime.xds.XdsNames;
import java.util.ArrayList;
import java.util.List;

/**
 * Translates a mesh snapshot into xDS v3 resources of the proxyless-gRPC shape (Listener with an
 * {@code api_listener} → RouteConfiguration → Cluster → ClusterLoadAssignment), named as {@link
 * io.jmesh.runtime.xds.XdsNames} says. A pure function: same snapshot, same resources. The field
 * by field mapping is the table in {@code controller/README.md} ("xDS mapping"); the agent's
 * {@link io.jmesh.runtime.xds.XdsDecoder} is its inverse.
 *
 * <p>Each resource type has its own translator ({@link ListenerTranslator}, {@link
 * RouteConfigurationTranslator}, {@link ClusterTranslator}, {@link LoadAssignmentTranslator}); this
 * class walks the snapshot's services and collects what they make.
 *
 * <p>Thread-safety: stateless.
 */
public final class XdsTranslator {
  private XdsTranslator() {}

  public static XdsResources translate(MeshSnapshot snapshot, String clusterDomain) {
    List<Listener> listeners = new ArrayList<>();
    List<RouteConfiguration> routes = new ArrayList<>();
    List<Cluster> clusters = new ArrayList<>();
    List<ClusterLoadAssignment> endpoints = new ArrayList<>();
    for (Service service : snapshot.services()) {
      String name = XdsNames.service(service.name(), service.namespace());
      for (int port : service.ports()) {
        listeners.add(ListenerTranslator.listener(service, clusterDomain, port));
      }
      // Only a policy other than the default travels: an agent assumes the default for a service
      // without an inbound listener, so the default needs no resource, and removing a policy
      // removes its listener.
      if (!service.authorization().isDefault()) {
        listeners.add(ListenerTranslator.inboundListener(service));
      }
      routes.add(RouteConfigurationTranslator.routeConfiguration(name, service.routes()));
      clusters.add(ClusterTranslator.cluster(name, service));
      endpoints.add(LoadAssignmentTranslator.loadAssignment(name, service.endpoints()));
    }
    return new XdsResources(snapshot.version(), listeners, routes, clusters, endpoints);
  }
}
