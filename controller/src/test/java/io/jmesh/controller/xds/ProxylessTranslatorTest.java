package io.jmesh.controller.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.jmesh.runtime.config.MeshConfigParser;
import io.jmesh.runtime.config.MeshSnapshot;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * What standard proxyless gRPC clients are served instead of jmesh's own shape. Properties rather
 * than fixture files: the route fields this translation does not touch (retries, timeouts,
 * faults) are {@link XdsTranslatorTest}'s to pin. {@code XdsGrpcClientIT} shows grpc-xds
 * accepting the result.
 */
class ProxylessTranslatorTest {
  private static final String MESH =
      "services:\n"
          + "  - name: hello\n"
          + "    ports: [8080]\n"
          + "    endpoints:\n"
          + "      - {address: 127.0.0.2, port: 18081, labels: {version: v1, zone: a}}\n"
          + "      - {address: 127.0.0.3, port: 18081, labels: {version: v2}, priority: 5}\n"
          + "      - {address: 127.0.0.4, port: 18081, labels: {version: v1}, priority: 2}\n"
          + "    policy: {balancer: peak-ewma}\n"
          + "    routes:\n"
          + "      - name: pinned\n"
          + "        matches: [{headers: [{name: x-zone, value: a}]}]\n"
          + "        backends: [{subset: {zone: a, version: v1}}]\n"
          + "      - name: split\n"
          + "        matches: [{path: {prefix: /}}]\n"
          + "        backends:\n"
          + "          - {subset: {version: v1}, weight: 90}\n"
          + "          - {subset: {version: v2}, weight: 10}\n"
          + "          - {weight: 0}\n"
          + "  - name: rr\n"
          + "    ports: [80]\n"
          + "    policy: {balancer: random}\n"
          + "  - name: lr\n"
          + "    ports: [80]\n"
          + "    policy: {balancer: least-request}\n";

  private static XdsResources translate(String yaml) throws Exception {
    MeshSnapshot snapshot = MeshConfigParser.parse("mesh.yaml", yaml, "default");
    return ProxylessTranslator.translate(snapshot, "cluster.local");
  }

  @Test
  void eachSubsetARouteSelectsIsAClusterOfItsOwn() throws Exception {
    XdsResources resources = translate(MESH);

    RouteConfiguration hello = resources.routes().get(0);
    List<Route> routes = hello.getVirtualHosts(0).getRoutesList();
    assertThat(routes)
        .extracting(r -> r.getRoute().getWeightedClusters().getClustersList().stream()
            .map(WeightedCluster.ClusterWeight::getName)
            .toList())
        .containsExactly(
            List.of("hello.default|version=v1,zone=a"),
            List.of("hello.default|version=v1", "hello.default|version=v2", "hello.default"),
            List.of());
    assertThat(routes.get(2).getRoute().getCluster()).isEqualTo("hello.default");
    assertThat(routes)
        .flatExtracting(r -> r.getRoute().getWeightedClusters().getClustersList())
        .allSatisfy(cw -> assertThat(cw.hasMetadataMatch()).isFalse());

    Map<String, Cluster> clusters = byName(resources.clusters(), Cluster::getName);
    assertThat(clusters.keySet())
        .containsExactly(
            "hello.default",
            "hello.default|version=v1,zone=a",
            "hello.default|version=v1",
            "hello.default|version=v2",
            "rr.default",
            "lr.default");
    clusters.forEach(
        (name, cluster) -> {
          assertThat(cluster.getEdsClusterConfig().getServiceName()).isEqualTo(name);
          assertThat(cluster.hasLbSubsetConfig()).as(name).isFalse();
          assertThat(cluster.hasMetadata()).as("io.jmesh metadata of %s", name).isFalse();
        });

    // Each subset's assignment holds the endpoints with all of its labels.
    Map<String, ClusterLoadAssignment> endpoints =
        byName(resources.endpoints(), ClusterLoadAssignment::getClusterName);
    assertThat(addresses(endpoints.get("hello.default")))
        .containsExactly("127.0.0.2", "127.0.0.4", "127.0.0.3");
    assertThat(addresses(endpoints.get("hello.default|version=v1")))
        .containsExactly("127.0.0.2", "127.0.0.4");
    assertThat(addresses(endpoints.get("hello.default|version=v1,zone=a")))
        .containsExactly("127.0.0.2");
    assertThat(addresses(endpoints.get("hello.default|version=v2"))).containsExactly("127.0.0.3");
  }

  @Test
  void balancersAreOnesGrpcImplements() throws Exception {
    Map<String, Cluster> clusters = byName(translate(MESH).clusters(), Cluster::getName);
    // peak-ewma is jmesh's own: the nearest load-aware policy gRPC has.
    assertThat(clusters.get("hello.default").hasLoadBalancingPolicy()).isFalse();
    assertThat(clusters.get("hello.default").getLbPolicy())
        .isEqualTo(Cluster.LbPolicy.LEAST_REQUEST);
    assertThat(clusters.get("hello.default|version=v2").getLbPolicy())
        .isEqualTo(Cluster.LbPolicy.LEAST_REQUEST);
    assertThat(clusters.get("rr.default").getLbPolicy()).isEqualTo(Cluster.LbPolicy.ROUND_ROBIN);
    assertThat(clusters.get("lr.default").getLbPolicy())
        .isEqualTo(Cluster.LbPolicy.LEAST_REQUEST);
  }

  @Test
  void prioritiesAreContiguousWeightedLocalities() throws Exception {
    ClusterLoadAssignment hello = translate(MESH).endpoints().get(0);
    assertThat(hello.getEndpointsList())
        .extracting(
            LocalityLbEndpoints::getPriority,
            l -> l.getLocality().getSubZone(),
            l -> l.getLoadBalancingWeight().getValue())
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(0, "priority-0", 1),
            org.assertj.core.groups.Tuple.tuple(1, "priority-2", 1),
            org.assertj.core.groups.Tuple.tuple(2, "priority-5", 1));
  }

  @Test
  void aServiceWithMeshTlsRoutesToAClusterWithoutEndpoints() throws Exception {
    // The fixture's hello.shop has identities (mesh TLS) and endpoints on 127.0.0.2-4.
    XdsResources resources =
        ProxylessTranslator.translate(XdsTranslatorTest.fixture(), "cluster.local");

    assertThat(resources.listeners())
        .extracting(l -> l.getName())
        .containsExactly(
            "hello.shop.svc.cluster.local:8080",
            "hello.shop.svc.cluster.local:9090",
            "db-proxy.default.svc.cluster.local:5432",
            "empty.shop.svc.cluster.local:80");
    RouteConfiguration hello = resources.routes().get(0);
    assertThat(hello.getName()).isEqualTo("hello.shop");
    assertThat(hello.getVirtualHosts(0).getRoutesList())
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.getName()).isEqualTo("mesh-tls-required");
              assertThat(r.getMatch().getPrefix()).isEqualTo("/");
              assertThat(r.getRoute().getCluster()).isEqualTo("hello.shop|mesh-tls-required");
            });
    Map<String, Cluster> clusters = byName(resources.clusters(), Cluster::getName);
    assertThat(clusters).doesNotContainKey("hello.shop");
    assertThat(clusters.get("hello.shop|mesh-tls-required").hasTransportSocket()).isFalse();
    Map<String, ClusterLoadAssignment> endpoints =
        byName(resources.endpoints(), ClusterLoadAssignment::getClusterName);
    assertThat(endpoints).doesNotContainKey("hello.shop");
    assertThat(endpoints.get("hello.shop|mesh-tls-required").getEndpointsList()).isEmpty();
    assertThat(ProxylessTranslator.meshTlsServices(XdsTranslatorTest.fixture()))
        .containsExactly("hello.shop");
  }

  @Test
  void listenersAreTheAgentsOutboundOnes() throws Exception {
    XdsResources agents = XdsTranslator.translate(XdsTranslatorTest.fixture(), "cluster.local");
    XdsResources proxyless =
        ProxylessTranslator.translate(XdsTranslatorTest.fixture(), "cluster.local");
    assertThat(proxyless.listeners())
        .containsExactlyElementsOf(
            agents.listeners().stream()
                .filter(l -> !l.getName().startsWith("inbound|"))
                .toList());
    assertThat(proxyless.version()).isEqualTo(agents.version());
  }

  @Test
  void grpcLibrariesAreTheProxylessGroup() {
    assertThat(XdsServer.group(Node.newBuilder().setUserAgentName("gRPC Java").build()))
        .isEqualTo(XdsServer.PROXYLESS_GROUP);
    assertThat(XdsServer.group(Node.newBuilder().setUserAgentName("gRPC Go").build()))
        .isEqualTo(XdsServer.PROXYLESS_GROUP);
    assertThat(XdsServer.group(Node.newBuilder().setUserAgentName("jmesh").build()))
        .isEqualTo(XdsServer.NODE_GROUP);
    assertThat(XdsServer.group(Node.getDefaultInstance())).isEqualTo(XdsServer.NODE_GROUP);
  }

  private static <T> Map<String, T> byName(List<T> resources, Function<T, String> name) {
    return resources.stream()
        .collect(
            Collectors.toMap(name, r -> r, (a, b) -> a, java.util.LinkedHashMap::new));
  }

  private static List<String> addresses(ClusterLoadAssignment assignment) {
    return assignment.getEndpointsList().stream()
        .flatMap(l -> l.getLbEndpointsList().stream())
        .map(LbEndpoint::getEndpoint)
        .map(e -> e.getAddress().getSocketAddress().getAddress())
        .toList();
  }
}
