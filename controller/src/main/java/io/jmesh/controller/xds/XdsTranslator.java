package io.jmesh.controller.xds;

import com.google.common.cache.Cache;
import com.google.common.cache.CacheBuilder;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.config.Service;
import io.jmesh.runtime.xds.XdsNames;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

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
 * <p>Thread-safety: stateless; a {@link Memo} may be shared by threads.
 */
public final class XdsTranslator {
  private XdsTranslator() {}

  public static XdsResources translate(MeshSnapshot snapshot, String clusterDomain) {
    List<Listener> listeners = new ArrayList<>();
    List<RouteConfiguration> routes = new ArrayList<>();
    List<Cluster> clusters = new ArrayList<>();
    List<ClusterLoadAssignment> endpoints = new ArrayList<>();
    for (Service service : snapshot.services()) {
      ofService(service, clusterDomain).addTo(listeners, routes, clusters, endpoints);
    }
    return new XdsResources(snapshot.version(), listeners, routes, clusters, endpoints);
  }

  /**
   * {@link #translate} that keeps each Service's resources while that Service object lives, and
   * gives the same resource objects for it again: a source that reuses the objects of unchanged
   * Services (the Kubernetes source does) then has only the changed ones translated, and the
   * unchanged resources are equal to those served at a pointer comparison, hash their memoized
   * hash code and are packed into an {@code Any} once ({@link IdentityCachingSerializer}).
   * Keys are weak and compared by identity: a Service collected with its snapshot leaves.
   *
   * <p>Thread-safety: {@link #translate} may be called from several threads at once (the public
   * view and namespace views are translated on different threads).
   */
  public static final class Memo {
    private final String clusterDomain;
    private final Cache<Service, OfService> byService =
        CacheBuilder.newBuilder().weakKeys().build();

    public Memo(String clusterDomain) {
      this.clusterDomain = Objects.requireNonNull(clusterDomain, "clusterDomain");
    }

    /** Equal to {@link XdsTranslator#translate(MeshSnapshot, String)} of this memo's domain. */
    public XdsResources translate(MeshSnapshot snapshot) {
      List<Listener> listeners = new ArrayList<>();
      List<RouteConfiguration> routes = new ArrayList<>();
      List<Cluster> clusters = new ArrayList<>();
      List<ClusterLoadAssignment> endpoints = new ArrayList<>();
      for (Service service : snapshot.services()) {
        OfService made = byService.getIfPresent(service);
        if (made == null) {
          made = ofService(service, clusterDomain);
          byService.put(service, made);
        }
        made.addTo(listeners, routes, clusters, endpoints);
      }
      return new XdsResources(snapshot.version(), listeners, routes, clusters, endpoints);
    }
  }

  /** The resources one Service makes. */
  private record OfService(
      List<Listener> listeners,
      RouteConfiguration route,
      Cluster cluster,
      ClusterLoadAssignment endpoints) {
    void addTo(
        List<Listener> listeners,
        List<RouteConfiguration> routes,
        List<Cluster> clusters,
        List<ClusterLoadAssignment> endpoints) {
      listeners.addAll(this.listeners);
      routes.add(route);
      clusters.add(cluster);
      endpoints.add(this.endpoints);
    }
  }

  private static OfService ofService(Service service, String clusterDomain) {
    String name = XdsNames.service(service.name(), service.namespace());
    List<Listener> listeners = new ArrayList<>();
    for (int port : service.ports()) {
      listeners.add(ListenerTranslator.listener(service, clusterDomain, port));
    }
    // Only a policy other than the default travels: an agent assumes the default for a service
    // without an inbound listener, so the default needs no resource, and removing a policy
    // removes its listener.
    if (!service.authorization().isDefault()) {
      listeners.add(ListenerTranslator.inboundListener(service));
    }
    return new OfService(
        List.copyOf(listeners),
        RouteConfigurationTranslator.routeConfiguration(name, service.routes()),
        ClusterTranslator.cluster(name, service),
        LoadAssignmentTranslator.loadAssignment(name, service.endpoints()));
  }
}
