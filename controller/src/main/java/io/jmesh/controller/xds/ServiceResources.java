package io.jmesh.controller.xds;

import com.google.common.cache.Cache;
import com.google.common.cache.CacheBuilder;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.config.Service;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/** The xDS resources one Service makes, of each type in order. Immutable. */
record ServiceResources(
    List<Listener> listeners,
    List<RouteConfiguration> routes,
    List<Cluster> clusters,
    List<ClusterLoadAssignment> endpoints) {

  ServiceResources {
    listeners = List.copyOf(listeners);
    routes = List.copyOf(routes);
    clusters = List.copyOf(clusters);
    endpoints = List.copyOf(endpoints);
  }

  /** The resources of every Service of {@code snapshot}, in its order, with its version. */
  static XdsResources collect(MeshSnapshot snapshot, Function<Service, ServiceResources> of) {
    List<Listener> listeners = new ArrayList<>();
    List<RouteConfiguration> routes = new ArrayList<>();
    List<Cluster> clusters = new ArrayList<>();
    List<ClusterLoadAssignment> endpoints = new ArrayList<>();
    for (Service service : snapshot.services()) {
      ServiceResources made = of.apply(service);
      listeners.addAll(made.listeners);
      routes.addAll(made.routes);
      clusters.addAll(made.clusters);
      endpoints.addAll(made.endpoints);
    }
    return new XdsResources(snapshot.version(), listeners, routes, clusters, endpoints);
  }

  /**
   * Each Service's resources, kept while that Service object lives: the same resource objects for
   * it again. A source that reuses the objects of unchanged Services (the Kubernetes source does)
   * then has only the changed ones translated, and the unchanged resources are equal to those
   * served at a pointer comparison ({@link TypedSnapshot}), keep their memoized hash codes in the
   * cache's snapshot and are packed into an {@code Any} once ({@link IdentityCachingSerializer}).
   * Keys are weak and compared by identity: a Service collected with its snapshot leaves.
   *
   * <p>Thread-safety: may be used by several threads at once.
   */
  static final class PerService {
    private final Function<Service, ServiceResources> translate;
    private final Cache<Service, ServiceResources> byService =
        CacheBuilder.newBuilder().weakKeys().build();

    PerService(Function<Service, ServiceResources> translate) {
      this.translate = translate;
    }

    XdsResources translate(MeshSnapshot snapshot) {
      return collect(snapshot, this::of);
    }

    private ServiceResources of(Service service) {
      ServiceResources made = byService.getIfPresent(service);
      if (made == null) {
        made = translate.apply(service);
        byService.put(service, made);
      }
      return made;
    }
  }
}
