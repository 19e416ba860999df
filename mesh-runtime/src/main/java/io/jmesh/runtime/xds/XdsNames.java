package io.jmesh.runtime.xds;

/**
 * How jmesh names its xDS resources; the contract between the controller's translator and the
 * agent's decoder. For service {@code hello} in namespace {@code default}, cluster domain {@code
 * cluster.local}, port 8080:
 *
 * <ul>
 *   <li>Listener {@code hello.default.svc.cluster.local:8080} (one per service port, as a
 *       proxyless gRPC client names the listener after its target);
 *   <li>RouteConfiguration {@code hello.default} (one per service, shared by its ports);
 *   <li>Cluster {@code hello.default} and its ClusterLoadAssignment {@code hello.default} (one per
 *       service; route backends select subsets of it by endpoint labels).
 * </ul>
 */
public final class XdsNames {
  public static final String LISTENER_TYPE =
      "type.googleapis.com/envoy.config.listener.v3.Listener";
  public static final String ROUTE_TYPE =
      "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
  public static final String CLUSTER_TYPE = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
  public static final String ENDPOINT_TYPE =
      "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

  private XdsNames() {}

  /** {@code hello.default.svc.cluster.local:8080}. */
  public static String listener(String name, String namespace, String clusterDomain, int port) {
    return name + "." + namespace + ".svc." + clusterDomain + ":" + port;
  }

  /** {@code hello.default}: the name of the service's RouteConfiguration, Cluster and CLA. */
  public static String service(String name, String namespace) {
    return name + "." + namespace;
  }
}
