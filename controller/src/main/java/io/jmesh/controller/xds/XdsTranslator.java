package io.jmesh.controller.xds;

import io.envoyproxy.envoy.config.listener.v3.Listener;
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
    return ServiceResources.collect(snapshot, s -> ofService(s, clusterDomain));
  }

  /**
   * {@link #translate} that keeps each Service's resources while that Service object lives
   * ({@link ServiceResources.PerService}): only Services not translated before are.
   *
   * <p>Thread-safety: {@link #translate} may be called from several threads at once (the public
   * view and namespace views are translated on different threads).
   */
  public static final class Memo {
    private final ServiceResources.PerService perService;

    public Memo(String clusterDomain) {
      Objects.requireNonNull(clusterDomain, "clusterDomain");
      this.perService = new ServiceResources.PerService(s -> ofService(s, clusterDomain));
    }

    /** Equal to {@link XdsTranslator#translate(MeshSnapshot, String)} of this memo's domain. */
    public XdsResources translate(MeshSnapshot snapshot) {
      return perService.translate(snapshot);
    }
  }

  private static ServiceResources ofService(Service service, String clusterDomain) {
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
    return new ServiceResources(
        listeners,
        List.of(RouteConfigurationTranslator.routeConfiguration(name, service.routes())),
        List.of(ClusterTranslator.cluster(name, service)),
        List.of(LoadAssignmentTranslator.loadAssignment(name, service.endpoints())));
  }
}
