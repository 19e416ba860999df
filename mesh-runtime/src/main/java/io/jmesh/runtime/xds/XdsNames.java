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
 *       service; route backends select subsets of it by endpoint labels);
 *   <li>Listener {@code inbound|hello.default} (one per service whose authorization policy is not
 *       the default): who may call the service's workloads, read by agents that serve it and never
 *       a destination (Istio names its inbound listeners with the same {@code inbound|} prefix).
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

  /** The HTTP filter whose per-route config carries fault injection. */
  public static final String FAULT_FILTER = "envoy.filters.http.fault";

  /** The HTTP filter of an inbound listener that carries its authorization policy. */
  public static final String RBAC_FILTER = "envoy.filters.http.rbac";

  /** The prefix of inbound listeners' names; an outbound listener's name cannot start with it. */
  public static final String INBOUND_PREFIX = "inbound|";

  /** The terminal HTTP filter every listener ends with. */
  public static final String ROUTER_FILTER = "envoy.filters.http.router";

  /** The metadata namespace of jmesh's own settings, those xDS has no field for. */
  public static final String JMESH_METADATA = "io.jmesh";

  /** The metadata namespace of endpoint labels, and of the subset a route backend selects. */
  public static final String LB_METADATA = "envoy.lb";

  /** The name of the custom load-balancing policy for peak EWMA. */
  public static final String PEAK_EWMA_POLICY = "io.jmesh.peak_ewma";

  /** The type its {@code TypedStruct} names (it has no fields yet). */
  public static final String PEAK_EWMA_TYPE = "type.googleapis.com/io.jmesh.lb.PeakEwma";

  /** Envoy's overprovisioning factor in percent, which jmesh's failover applies (1.4). */
  public static final int OVERPROVISIONING_FACTOR = 140;

  /** The name of the catch-all route the translator appends after the service's own. */
  public static final String DEFAULT_ROUTE = "default";

  /**
   * The pattern of the one {@code regex_rewrite} jmesh reads: it matches any path once, so its
   * substitution replaces the whole path (Gateway API's {@code ReplaceFullPath}).
   */
  public static final String FULL_PATH_REGEX = "^/.*$";

  private XdsNames() {}

  /** {@code hello.default.svc.cluster.local:8080}. */
  public static String listener(String name, String namespace, String clusterDomain, int port) {
    return name + "." + namespace + ".svc." + clusterDomain + ":" + port;
  }

  /** {@code inbound|hello.default}: the listener that carries the service's authorization. */
  public static String inboundListener(String name, String namespace) {
    return INBOUND_PREFIX + service(name, namespace);
  }

  /** Whether {@code listenerName} names an inbound listener (not a destination). */
  public static boolean isInbound(String listenerName) {
    return listenerName.startsWith(INBOUND_PREFIX);
  }

  /** {@code hello.default}: the name of the service's RouteConfiguration, Cluster and CLA. */
  public static String service(String name, String namespace) {
    return name + "." + namespace;
  }

  /** The Cluster transport socket of mesh TLS (Istio's shape). */
  public static final String TLS_TRANSPORT_SOCKET = "envoy.transport_sockets.tls";

  /** SDS name of the workload's own certificate, as in Istio. */
  public static final String SDS_CERTIFICATE = "default";

  /** SDS name of the mesh's trust anchors, as in Istio. */
  public static final String SDS_TRUST = "ROOTCA";
}
