package io.jmesh.runtime.xds;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.jmesh.runtime.config.DestinationPolicy;
import io.jmesh.runtime.config.Route;
import io.jmesh.runtime.config.ServiceEndpoint;
import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.inbound.AuthorizationPolicy;
import java.util.List;

/**
 * Turns the xDS resources jmesh's controller sends into the runtime's model, strictly: a field
 * the runtime does not implement is an error, never silently ignored (see the mapping table in
 * {@code controller/README.md}). Every error reads {@code <Type> <name>: <field path>: <value>
 * (expected: ...)}, which the client sends back as the NACK's detail. Pure functions;
 * thread-safe.
 *
 * <p>The entry point for the client and the controller's round-trip tests; as in grpc-java's xDS
 * client, each resource type has its own decoder ({@link XdsListenerResource}, {@link
 * XdsRbacResource}, {@link XdsRouteConfigurationResource}, {@link XdsClusterResource}, {@link
 * XdsEndpointResource}), all sharing one {@link DecodingContext}.
 */
public final class XdsDecoder {
  private XdsDecoder() {}

  /** What one Listener says: the service port it makes a mesh destination, and its routes. */
  public record ListenerInfo(String service, String namespace, int port, String routeConfigName) {}

  /** What a Cluster gives a destination: its policy, and the identities its endpoints prove. */
  public record ClusterInfo(DestinationPolicy policy, List<SpiffeId> identities) {}

  /** An outbound Listener ({@code <service>.<namespace>.svc.<domain>:<port>}). */
  public static ListenerInfo listener(Listener listener) throws XdsResourceException {
    return XdsListenerResource.decode(listener);
  }

  /**
   * The authorization policy of an inbound listener ({@code inbound|<service>.<namespace>}, see
   * {@link XdsNames}), named after its service; its RBAC filter must say the same.
   */
  public static AuthorizationPolicy inboundPolicy(Listener listener) throws XdsResourceException {
    return XdsRbacResource.decode(listener);
  }

  /** The routes of a RouteConfiguration named after its service (see {@link XdsNames}). */
  public static List<Route> routes(RouteConfiguration routeConfiguration)
      throws XdsResourceException {
    return XdsRouteConfigurationResource.decode(routeConfiguration);
  }

  /** A Cluster's destination policy and the identities its endpoints must prove. */
  public static ClusterInfo clusterInfo(Cluster cluster) throws XdsResourceException {
    return XdsClusterResource.decode(cluster);
  }

  /** A Cluster's destination policy alone. */
  public static DestinationPolicy cluster(Cluster cluster) throws XdsResourceException {
    return XdsClusterResource.policy(cluster);
  }

  /**
   * The endpoints of a ClusterLoadAssignment, in order of priority. Endpoints whose health is
   * UNHEALTHY or DRAINING are left out, as Envoy leaves them out of load balancing.
   */
  public static List<ServiceEndpoint> endpoints(ClusterLoadAssignment assignment)
      throws XdsResourceException {
    return XdsEndpointResource.decode(assignment);
  }
}
