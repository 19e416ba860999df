package io.jmesh.controller.xds;

import com.google.protobuf.UInt32Value;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.jmesh.runtime.config.Backend;
import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.config.Service;
import io.jmesh.runtime.config.ServiceEndpoint;
import io.jmesh.runtime.xds.XdsNames;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Translates a mesh snapshot into xDS resources that a standard proxyless gRPC client (grpc-java,
 * grpc-go, grpc-core with an {@code xds:///} target and no jmesh agent) accepts and routes by as
 * jmesh would. It starts from {@link XdsTranslator}'s resources and changes only what gRPC reads
 * differently (controller README, "Proxyless gRPC clients"):
 *
 * <ul>
 *   <li>gRPC has no load-balancer subsets: each subset a route selects becomes a Cluster and a
 *       ClusterLoadAssignment of its own, {@code hello.default|version=v2}, holding only the
 *       endpoints with those labels, and the routes name it instead of a {@code metadata_match}
 *       (Istio's {@code outbound|8080|v2|...} clusters, with jmesh's names).
 *   <li>gRPC implements {@code ROUND_ROBIN} and {@code LEAST_REQUEST} only: {@code random} is
 *       served as round robin and {@code peak-ewma} (a jmesh extension) as least request, the
 *       nearest load-aware policy. jmesh's own {@code io.jmesh} cluster metadata is left out.
 *   <li>gRPC ignores a locality without a weight, and wants distinct localities in contiguous
 *       priorities: each priority becomes one locality {@code priority-<n>} of weight 1,
 *       renumbered from 0.
 *   <li>A service with mesh TLS is not reachable in plaintext: gRPC clients without jmesh's mesh
 *       certificates get its Listener and a RouteConfiguration whose one route goes to the
 *       Cluster {@code hello.default|mesh-tls-required}, which has no endpoints: their calls fail
 *       ({@code UNAVAILABLE}, naming that cluster) and they never get an address of the service.
 *       (Leaving the Listener out would make java-control-plane hold the client's whole Listener
 *       request, other targets' too, until the name exists.)
 *   <li>Inbound listeners (authorization) are for agents that serve a service: left out.
 * </ul>
 *
 * <p>A pure function, like {@link XdsTranslator}.
 */
public final class ProxylessTranslator {
  /** The route, and the suffix of the Cluster without endpoints, of a service with mesh TLS. */
  static final String MESH_TLS_REQUIRED = "mesh-tls-required";

  private ProxylessTranslator() {}

  public static XdsResources translate(MeshSnapshot snapshot, String clusterDomain) {
    return ServiceResources.collect(snapshot, s -> ofService(s, clusterDomain));
  }

  /**
   * {@link #translate} that keeps each Service's resources while that Service object lives
   * ({@link ServiceResources.PerService}): only Services not translated before are.
   *
   * <p>Thread-safety: may be used by several threads at once.
   */
  public static final class Memo {
    private final ServiceResources.PerService perService;

    public Memo(String clusterDomain) {
      java.util.Objects.requireNonNull(clusterDomain, "clusterDomain");
      this.perService = new ServiceResources.PerService(s -> ofService(s, clusterDomain));
    }

    /** Equal to {@link ProxylessTranslator#translate(MeshSnapshot, String)} of this domain. */
    public XdsResources translate(MeshSnapshot snapshot) {
      return perService.translate(snapshot);
    }
  }

  private static ServiceResources ofService(Service service, String clusterDomain) {
    List<Listener> listeners = new ArrayList<>();
    List<RouteConfiguration> routes = new ArrayList<>();
    List<Cluster> clusters = new ArrayList<>();
    List<ClusterLoadAssignment> endpoints = new ArrayList<>();
    String name = XdsNames.service(service.name(), service.namespace());
    for (int port : service.ports()) {
      listeners.add(ListenerTranslator.listener(service, clusterDomain, port));
    }
    if (service.meshTls()) {
      // Fail closed: every route goes to a Cluster that never has an endpoint, so a plaintext
      // client never learns an address of the service, and its calls fail with the reason in
      // the cluster's name. (With no route at all, gRPC fails name resolution with an INTERNAL
      // error about its own LB config instead.)
      String refused = name + "|" + MESH_TLS_REQUIRED;
      routes.add(
          RouteConfiguration.newBuilder()
              .setName(name)
              .addVirtualHosts(
                  VirtualHost.newBuilder()
                      .setName(name)
                      .addDomains("*")
                      .addRoutes(
                          Route.newBuilder()
                              .setName(MESH_TLS_REQUIRED)
                              .setMatch(
                                  io.envoyproxy.envoy.config.route.v3.RouteMatch.newBuilder()
                                      .setPrefix("/"))
                              .setRoute(RouteAction.newBuilder().setCluster(refused))))
              .build());
      clusters.add(
          Cluster.newBuilder()
              .setName(refused)
              .setType(Cluster.DiscoveryType.EDS)
              .setEdsClusterConfig(
                  Cluster.EdsClusterConfig.newBuilder()
                      .setEdsConfig(XdsValues.ADS)
                      .setServiceName(refused))
              .setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN)
              .build());
      endpoints.add(ClusterLoadAssignment.newBuilder().setClusterName(refused).build());
      return new ServiceResources(listeners, routes, clusters, endpoints);
    }
    routes.add(routeConfiguration(name, service));
    Cluster base = cluster(ClusterTranslator.cluster(name, service));
    clusters.add(base);
    endpoints.add(loadAssignment(name, service.endpoints(), Map.of()));
    for (Map<String, String> subset : subsets(service)) {
      String subsetName = subsetCluster(name, subset);
      clusters.add(
          base.toBuilder()
              .setName(subsetName)
              .setEdsClusterConfig(
                  base.getEdsClusterConfig().toBuilder().setServiceName(subsetName))
              .build());
      endpoints.add(loadAssignment(subsetName, service.endpoints(), subset));
    }
    return new ServiceResources(listeners, routes, clusters, endpoints);
  }

  /** The services that standard xDS clients are refused (no routes): those with mesh TLS. */
  public static List<String> meshTlsServices(MeshSnapshot snapshot) {
    return snapshot.services().stream()
        .filter(Service::meshTls)
        .map(s -> XdsNames.service(s.name(), s.namespace()))
        .toList();
  }

  /** {@code hello.default|version=v2,zone=a}: the Cluster of one subset, labels sorted. */
  static String subsetCluster(String service, Map<String, String> subset) {
    return service
        + "|"
        + new TreeMap<>(subset)
            .entrySet().stream()
                .map(e -> e.getKey() + "=" + e.getValue())
                .collect(Collectors.joining(","));
  }

  private static List<Map<String, String>> subsets(Service service) {
    Map<String, Map<String, String>> byName = new LinkedHashMap<>();
    for (io.jmesh.runtime.config.Route route : service.routes()) {
      for (Backend backend : route.backends()) {
        if (!backend.subset().isEmpty()) {
          byName.putIfAbsent(subsetCluster("", backend.subset()), backend.subset());
        }
      }
    }
    return List.copyOf(byName.values());
  }

  /** jmesh's routes with each subset backend sent to the subset's Cluster. */
  private static RouteConfiguration routeConfiguration(String name, Service service) {
    RouteConfiguration jmesh = RouteConfigurationTranslator.routeConfiguration(name, service.routes());
    RouteConfiguration.Builder out = jmesh.toBuilder();
    for (VirtualHost.Builder host : out.getVirtualHostsBuilderList()) {
      for (Route.Builder route : host.getRoutesBuilderList()) {
        if (!route.getRoute().hasWeightedClusters()) {
          continue;
        }
        WeightedCluster.Builder weighted = route.getRouteBuilder().getWeightedClustersBuilder();
        for (WeightedCluster.ClusterWeight.Builder cw : weighted.getClustersBuilderList()) {
          if (!cw.hasMetadataMatch()) {
            continue;
          }
          Map<String, String> subset = new TreeMap<>();
          for (Map.Entry<String, Value> label :
              cw.getMetadataMatch()
                  .getFilterMetadataOrThrow(XdsNames.LB_METADATA)
                  .getFieldsMap()
                  .entrySet()) {
            subset.put(label.getKey(), label.getValue().getStringValue());
          }
          cw.setName(subsetCluster(cw.getName(), subset)).clearMetadataMatch();
        }
      }
    }
    return out.build();
  }

  /** jmesh's Cluster in the shape gRPC reads: its two policies, no subsets, no jmesh metadata. */
  private static Cluster cluster(Cluster jmesh) {
    Cluster.Builder out = jmesh.toBuilder().clearLbSubsetConfig().clearMetadata();
    if (jmesh.hasLoadBalancingPolicy()) {
      // The only custom policy the translator writes is peak EWMA.
      out.clearLoadBalancingPolicy().setLbPolicy(Cluster.LbPolicy.LEAST_REQUEST);
    } else if (jmesh.getLbPolicy() == Cluster.LbPolicy.RANDOM) {
      out.setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN);
    }
    return out.build();
  }

  /** The endpoints that carry every label of {@code subset}, one weighted locality a priority. */
  private static ClusterLoadAssignment loadAssignment(
      String name, List<ServiceEndpoint> all, Map<String, String> subset) {
    List<ServiceEndpoint> chosen =
        all.stream()
            .filter(e -> e.labels().entrySet().containsAll(subset.entrySet()))
            .toList();
    ClusterLoadAssignment jmesh = LoadAssignmentTranslator.loadAssignment(name, chosen);
    ClusterLoadAssignment.Builder out = jmesh.toBuilder().clearEndpoints();
    int priority = 0;
    for (LocalityLbEndpoints locality : jmesh.getEndpointsList()) {
      out.addEndpoints(
          locality.toBuilder()
              .setPriority(priority)
              .setLocality(Locality.newBuilder().setSubZone("priority-" + locality.getPriority()))
              .setLoadBalancingWeight(UInt32Value.of(1)));
      priority++;
    }
    return out.build();
  }
}
