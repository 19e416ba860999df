package io.jmesh.controller.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.jmesh.runtime.config.Backend;
import io.jmesh.runtime.config.HeaderModifier;
import io.jmesh.runtime.config.MeshConfigParser;
import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.config.PathMatch;
import io.jmesh.runtime.config.RequestMirror;
import io.jmesh.runtime.config.Route;
import io.jmesh.runtime.config.RouteFilters;
import io.jmesh.runtime.config.RouteMatch;
import io.jmesh.runtime.config.RoutePolicy;
import io.jmesh.runtime.config.Service;
import io.jmesh.runtime.config.ServiceEndpoint;
import io.jmesh.runtime.config.UrlRewrite;
import io.jmesh.runtime.inbound.AuthorizationPolicy;
import io.jmesh.runtime.xds.XdsDecoder;
import io.jmesh.runtime.xds.XdsNames;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The agent's decoder is the translator's inverse: what the controller sends, the agent rebuilds
 * into the services the file described, field for field. This is the contract between the two
 * modules; a field one side learns and the other does not fails here.
 */
class XdsRoundTripTest {

  @Test
  void theFixtureSurvivesTranslationAndDecoding() throws Exception {
    assertRoundTrip(XdsTranslatorTest.fixture());
  }

  @Test
  void theMeshRuntimeExampleSurvivesTranslationAndDecoding() throws Exception {
    try (InputStream in = XdsRoundTripTest.class.getResourceAsStream("/mesh-example.yaml")) {
      if (in != null) {
        assertRoundTrip(
            MeshConfigParser.parse(
                "mesh-example.yaml", new String(in.readAllBytes(), StandardCharsets.UTF_8), "default"));
        return;
      }
    }
    // mesh-example.yaml lives in mesh-runtime's test resources; read it from the source tree.
    java.nio.file.Path example =
        java.nio.file.Path.of("..", "mesh-runtime", "src", "test", "resources", "mesh-example.yaml");
    assertThat(example).exists();
    assertRoundTrip(MeshConfigParser.parse(example, "default"));
  }

  @Test
  void queryMatchesRequestHeaderEditsAndRewritesSurvive() throws Exception {
    MeshSnapshot snapshot =
        MeshConfigParser.parse(
            "inline",
            """
            services:
              - name: orders
                ports: [8080]
                routes:
                  - name: v2
                    matches:
                      - path: {prefix: /api}
                        queryParams: [{name: version, value: v2}, {name: user, regex: "t-.*"}]
                      - path: {prefix: /legacy}
                    requestHeaders: {set: {x-env: prod}, add: {x-tag: a}, remove: [x-debug]}
                    rewrite: {hostname: orders.internal, path: {replacePrefix: /v2}}
                    backends: [{}]
                  - name: ping
                    matches: [{path: {exact: /health}}]
                    rewrite: {path: {replaceFull: /ping}}
                    backends: [{}]
            """,
            "default");
    assertThat(snapshot.services().get(0).routes().get(0).filters().isNone()).isFalse();
    assertRoundTrip(snapshot);
  }

  private static MeshSnapshot withFilters(RouteFilters filters) {
    Route route =
        new Route(
            "v2",
            List.of(new RouteMatch(PathMatch.prefix("/api"), List.of(), null)),
            List.of(Backend.all()),
            RoutePolicy.DEFAULT,
            filters);
    return new MeshSnapshot(
        "t",
        List.of(new Service("orders", "default", List.of(8080), List.of(ServiceEndpoint.of("10.0.0.1", 8080)), List.of(route))));
  }

  @Test
  void responseHeaderEditsSurvive() throws Exception {
    HeaderModifier edits =
        new HeaderModifier(
            List.of(new HeaderModifier.Header("x-env", "prod")),
            List.of(new HeaderModifier.Header("x-tag", "a")),
            List.of("x-debug"));
    assertRoundTrip(withFilters(new RouteFilters(HeaderModifier.NONE, edits, UrlRewrite.NONE)));
  }

  @Test
  void aMirrorBecomesEnvoysMirrorPolicy() throws Exception {
    MeshSnapshot snapshot = withFilters(RouteFilters.NONE.withMirror(new RequestMirror("shadow", "test", 12.5)));
    RouteConfiguration rc = XdsTranslator.translate(snapshot, "cluster.local").routes().get(0);
    var action = rc.getVirtualHosts(0).getRoutes(0).getRoute();
    assertThat(action.getRequestMirrorPoliciesList()).hasSize(1);
    var policy = action.getRequestMirrorPolicies(0);
    assertThat(policy.getCluster()).isEqualTo("shadow.test");
    assertThat(policy.getRuntimeFraction().getDefaultValue().getNumerator()).isEqualTo(125_000);
    assertThat(policy.getRuntimeFraction().getDefaultValue().getDenominator())
        .isEqualTo(io.envoyproxy.envoy.type.v3.FractionalPercent.DenominatorType.MILLION);
    // Every request: no fraction at all, as Envoy reads an absent one.
    RouteConfiguration all =
        XdsTranslator.translate(withFilters(RouteFilters.NONE.withMirror(new RequestMirror("shadow", "test", 100))), "cluster.local")
            .routes().get(0);
    assertThat(all.getVirtualHosts(0).getRoutes(0).getRoute().getRequestMirrorPolicies(0).hasRuntimeFraction()).isFalse();
    if (RouteFilters.MIRROR_APPLIED) {
      assertRoundTrip(snapshot);
    } else {
      // The agent reads the policy, and refuses it while its clients do not send the copies.
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> XdsDecoder.routes(rc))
          .hasMessageContaining("request_mirror_policies[0].cluster: shadow.test (expected: unset: " + RouteFilters.NOT_APPLIED);
    }
  }

  @Test
  void everyDefaultAndModeSurvives() throws Exception {
    // The fixture has one policy (audit, default deny); the other combinations, with mixed rules.
    for (String mode : List.of("enforce", "audit")) {
      for (String fallback : List.of("all-authenticated", "all", "deny")) {
        assertRoundTrip(
            MeshConfigParser.parse(
                "inline",
                """
                services:
                  - name: orders
                    ports: [8080]
                    authorization:
                      mode: %s
                      default: %s
                      rules:
                        - {name: d, action: deny, serviceAccounts: [batch], pathPrefix: /admin}
                        - {name: a, action: allow, namespaces: [shop]}
                  - name: open
                    ports: [8080]
                    authorization: {mode: %s, default: %s}
                """
                    .formatted(mode, fallback, mode, fallback),
                "default"));
      }
    }
  }

  static void assertRoundTrip(MeshSnapshot snapshot) throws Exception {
    XdsResources resources = XdsTranslator.translate(snapshot, "cluster.local");
    List<Service> decoded = decode(resources);
    assertThat(decoded).hasSameSizeAs(snapshot.services());
    for (int i = 0; i < decoded.size(); i++) {
      Service expected = snapshot.services().get(i);
      Service actual = decoded.get(i);
      assertThat(actual.name()).isEqualTo(expected.name());
      assertThat(actual.namespace()).isEqualTo(expected.namespace());
      assertThat(actual.ports()).isEqualTo(expected.ports());
      assertThat(actual.routes()).as(expected.qualifiedName() + " routes").isEqualTo(expected.routes());
      assertThat(actual.policy()).as(expected.qualifiedName() + " policy").isEqualTo(expected.policy());
      assertThat(actual.identities()).as(expected.qualifiedName() + " identities").isEqualTo(expected.identities());
      assertThat(actual.authorization()).as(expected.qualifiedName() + " authorization").isEqualTo(expected.authorization());
      // Grouped by priority on the wire: same endpoints, order within a priority kept.
      assertThat(actual.endpoints())
          .as(expected.qualifiedName() + " endpoints")
          .containsExactlyInAnyOrderElementsOf(expected.endpoints());
    }
  }

  /** What XdsClient does with a full set of resources, without the stream. */
  static List<Service> decode(XdsResources resources) throws Exception {
    Map<String, XdsDecoder.ListenerInfo> first = new TreeMap<>();
    Map<String, List<Integer>> ports = new java.util.LinkedHashMap<>();
    Map<String, AuthorizationPolicy> policies = new TreeMap<>();
    for (Listener l : resources.listeners()) {
      if (XdsNames.isInbound(l.getName())) {
        AuthorizationPolicy policy = XdsDecoder.inboundPolicy(l);
        policies.put(policy.name(), policy);
        continue;
      }
      XdsDecoder.ListenerInfo info = XdsDecoder.listener(l);
      String name = XdsNames.service(info.service(), info.namespace());
      first.putIfAbsent(name, info);
      ports.computeIfAbsent(name, k -> new ArrayList<>()).add(info.port());
    }
    Map<String, RouteConfiguration> routes = new TreeMap<>();
    resources.routes().forEach(r -> routes.put(r.getName(), r));
    Map<String, Cluster> clusters = new TreeMap<>();
    resources.clusters().forEach(c -> clusters.put(c.getName(), c));
    Map<String, ClusterLoadAssignment> endpoints = new TreeMap<>();
    resources.endpoints().forEach(e -> endpoints.put(e.getClusterName(), e));
    List<Service> out = new ArrayList<>();
    for (Map.Entry<String, List<Integer>> e : ports.entrySet()) {
      XdsDecoder.ListenerInfo info = first.get(e.getKey());
      out.add(
          new Service(
              info.service(),
              info.namespace(),
              e.getValue(),
              XdsDecoder.endpoints(endpoints.get(e.getKey())),
              XdsDecoder.routes(routes.get(info.routeConfigName())),
              XdsDecoder.cluster(clusters.get(e.getKey())),
              XdsDecoder.clusterInfo(clusters.get(e.getKey())).identities(),
              policies.getOrDefault(e.getKey(), AuthorizationPolicy.allAuthenticated(e.getKey()))));
    }
    return out;
  }
}
