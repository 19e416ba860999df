package io.jmesh.runtime.xds;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.jmesh.runtime.config.DestinationPolicy;
import io.jmesh.runtime.config.Route;
import io.jmesh.runtime.config.ServiceEndpoint;
import java.util.List;

/**
 * Turns the xDS resources jmesh's controller sends into the runtime's model, strictly: a field
 * the runtime does not implement is an error, never silently ignored (see the mapping table in
 * {@code controller/README.md}). Pure functions; thread-safe.
 */
public final class XdsDecoder {
  private XdsDecoder() {}

  /** What one Listener says: the service port it makes a mesh destination, and its routes. */
  public record ListenerInfo(String service, String namespace, int port, String routeConfigName) {}

  public static ListenerInfo listener(Listener listener) throws XdsResourceException {
    throw new UnsupportedOperationException("TODO");
  }

  /** The routes of a RouteConfiguration named after its service (see {@link XdsNames}). */
  public static List<Route> routes(RouteConfiguration routeConfiguration)
      throws XdsResourceException {
    throw new UnsupportedOperationException("TODO");
  }

  public static DestinationPolicy cluster(Cluster cluster) throws XdsResourceException {
    throw new UnsupportedOperationException("TODO");
  }

  public static List<ServiceEndpoint> endpoints(ClusterLoadAssignment assignment)
      throws XdsResourceException {
    throw new UnsupportedOperationException("TODO");
  }
}
