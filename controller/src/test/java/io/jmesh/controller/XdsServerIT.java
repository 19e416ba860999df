package io.jmesh.controller;

import static io.jmesh.controller.JsonPath.at;
import static io.jmesh.controller.JsonPath.parse;
import static io.jmesh.controller.JsonPath.string;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.config.Service;
import io.jmesh.runtime.config.ServiceEndpoint;
import io.jmesh.runtime.xds.XdsNames;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The xDS server with a real gRPC client on loopback, and what the admin API says about it. The
 * resources are made by hand ({@link HandMadeXds}) and the source is driven by the test, so this
 * needs neither {@code XdsTranslator} nor a file. It lives in the controller's package to start
 * the {@link Controller} exactly as the process does, with only source and translation replaced.
 */
class XdsServerIT {
  private static final String LDS = XdsNames.LISTENER_TYPE;
  private static final String RDS = XdsNames.ROUTE_TYPE;
  private static final String CDS = XdsNames.CLUSTER_TYPE;
  private static final String EDS = XdsNames.ENDPOINT_TYPE;
  private static final String HELLO = "hello.default";
  private static final String NACK_MESSAGE =
      "Cluster hello.default: lb_policy: MAGLEV (expected: ROUND_ROBIN or LEAST_REQUEST)";

  private final ManualMeshSource source = new ManualMeshSource();
  private Controller controller;
  private AdminClient admin;

  @BeforeEach
  void start() throws Exception {
    controller =
        Controller.start(
            Controller.Options.defaults(Path.of("unused.yaml"))
                .withInsecurePlaintext(true) // a plaintext ADS client
                .withXdsAddress("127.0.0.1", 0)
                .withAdminAddress("127.0.0.1", 0),
            source,
            HandMadeXds::of);
    admin = new AdminClient(controller.adminPort());
  }

  @AfterEach
  void stop() {
    controller.close();
  }

  @Test
  void subscribeAckPushNack() throws Exception {
    // Nothing to serve yet: not ready, and says why.
    HttpResponse<String> notReady = admin.get("/ready");
    assertThat(notReady.statusCode()).isEqualTo(503);
    assertThat(notReady.body())
        .isEqualTo("not ready: no snapshot in the xDS cache yet: waiting for manual source\n");
    assertThat(admin.get("/live").statusCode()).isEqualTo(200);

    try (AdsClient agent = new AdsClient(controller.xdsPort())) {
      // An agent connects before the first snapshot and subscribes to every listener.
      agent.subscribe(AdsClient.node("hello-1"), LDS, List.of());
      await()
          .atMost(AdsClient.TIMEOUT)
          .untilAsserted(
              () -> {
                Value agents = parse(admin.body("/agents"));
                assertThat(at(agents, "agentCount").getNumberValue()).isEqualTo(1);
                assertThat(string(agents, "agents", "0", "nodeId")).isEqualTo("hello-1");
                Value listener = at(agents, "agents", "0", "types", "listener");
                assertThat(at(listener, "wildcard").getBoolValue()).isTrue();
              });

      // The first snapshot reaches the waiting agent, and the controller becomes ready.
      source.push(snapshot("v1", 1, 1));
      DiscoveryResponse lds = agent.next(LDS);
      assertThat(lds.getVersionInfo()).isEqualTo("v1");
      Listener listener = lds.getResources(0).unpack(Listener.class);
      assertThat(listener.getName()).isEqualTo("hello.default.svc.cluster.local:8080");
      String routeName =
          listener
              .getApiListener()
              .getApiListener()
              .unpack(HttpConnectionManager.class)
              .getRds()
              .getRouteConfigName();
      assertThat(admin.get("/ready").statusCode()).isEqualTo(200);

      // ACK, then follow the references by name: RDS, CDS, EDS, as a proxyless client does.
      agent.ack(lds, List.of());
      agent.subscribe(null, RDS, List.of(routeName));
      DiscoveryResponse rds = agent.next(RDS);
      agent.ack(rds, List.of(routeName));
      agent.subscribe(null, CDS, List.of(HELLO));
      DiscoveryResponse cds = agent.next(CDS);
      agent.ack(cds, List.of(HELLO));
      agent.subscribe(null, EDS, List.of(HELLO));
      DiscoveryResponse eds = agent.next(EDS);
      assertThat(weights(eds)).containsExactly(1, 1);
      agent.ack(eds, List.of(HELLO));

      await()
          .atMost(AdsClient.TIMEOUT)
          .untilAsserted(
              () -> {
                Value a = at(parse(admin.body("/agents")), "agents", "0");
                for (String type : List.of("listener", "route", "cluster", "endpoint")) {
                  assertThat(string(a, "types", type, "ackedVersion")).as(type).isEqualTo("v1");
                  assertThat(at(a, "types", type, "nacked").getBoolValue()).isFalse();
                }
                assertThat(string(a, "types", "endpoint", "subscribed", "0")).isEqualTo(HELLO);
                assertThat(string(a, "remoteAddress")).startsWith("127.0.0.1:");
              });

      // A weight change touches endpoints only: only ClusterLoadAssignments are sent (v2), the
      // other types keep v1. The next response being EDS shows no CDS came first (the cache
      // answers in the order CDS, EDS, LDS, RDS).
      source.push(snapshot("v2", 1, 5));
      DiscoveryResponse eds2 = agent.next(EDS);
      assertThat(eds2.getVersionInfo()).isEqualTo("v2");
      assertThat(weights(eds2)).containsExactly(1, 5);
      agent.ack(eds2, List.of(HELLO));

      // A second service changes every type: all four come with v3 (and no LDS of v2 came
      // between: nextOfEach refuses a second response of a type).
      source.push(snapshot("v3", 1, 5, "other"));
      Map<String, DiscoveryResponse> v3 = agent.nextOfEach(LDS, RDS, CDS, EDS);
      assertThat(v3.values()).extracting(DiscoveryResponse::getVersionInfo).containsOnly("v3");
      assertThat(v3.get(LDS).getResourcesCount()).isEqualTo(2);
      agent.ack(v3.get(LDS), List.of());
      agent.ack(v3.get(RDS), List.of(routeName));
      agent.ack(v3.get(EDS), List.of(HELLO));

      // The agent rejects the clusters of v3 and keeps v1.
      agent.nack(v3.get(CDS), "v1", List.of(HELLO), NACK_MESSAGE);
      await()
          .atMost(AdsClient.TIMEOUT)
          .untilAsserted(
              () -> {
                Value cluster = at(parse(admin.body("/agents")), "agents", "0", "types", "cluster");
                assertThat(at(cluster, "nacked").getBoolValue()).isTrue();
                assertThat(string(cluster, "ackedVersion")).isEqualTo("v1");
                assertThat(string(cluster, "sentVersion")).isEqualTo("v3");
                assertThat(string(cluster, "lastNack", "version")).isEqualTo("v3");
                assertThat(string(cluster, "lastNack", "message")).isEqualTo(NACK_MESSAGE);
                Value endpoint =
                    at(parse(admin.body("/agents")), "agents", "0", "types", "endpoint");
                assertThat(string(endpoint, "ackedVersion")).isEqualTo("v3");
              });

      // An endpoint change: the clusters keep the rejected v3, which is not sent again; the next
      // response is the endpoints of v4.
      source.push(snapshot("v4", 2, 5, "other"));
      DiscoveryResponse eds4 = agent.next(EDS);
      assertThat(eds4.getVersionInfo()).isEqualTo("v4");
      assertThat(weights(eds4)).containsExactly(2, 5);
      agent.ack(eds4, List.of(HELLO));

      // The clusters change again (the second service goes): v5 reaches the held cluster watch.
      source.push(snapshot("v5", 2, 5));
      Map<String, DiscoveryResponse> v5 = agent.nextOfEach(LDS, RDS, CDS, EDS);
      assertThat(v5.values()).extracting(DiscoveryResponse::getVersionInfo).containsOnly("v5");
      agent.ack(v5.get(CDS), List.of(HELLO));
      await()
          .atMost(AdsClient.TIMEOUT)
          .untilAsserted(
              () -> {
                Value cluster = at(parse(admin.body("/agents")), "agents", "0", "types", "cluster");
                assertThat(string(cluster, "ackedVersion")).isEqualTo("v5");
                assertThat(at(cluster, "nacked").getBoolValue()).isFalse();
                // The reason stays visible after recovery.
                assertThat(string(cluster, "lastNack", "message")).isEqualTo(NACK_MESSAGE);
              });

      // The meters saw it all: endpoints were sent five times (v1 to v5), clusters three (v1,
      // v3, v5).
      String metrics = admin.body("/metrics");
      assertThat(metrics)
          .contains("jmesh_xds_streams 1.0")
          .contains("jmesh_xds_snapshot_updates_total 5.0")
          .contains("jmesh_xds_nacks_total{type=\"cluster\"} 1.0")
          .contains("jmesh_xds_nacks_total{type=\"endpoint\"} 0.0")
          .contains("jmesh_xds_acks_total{type=\"cluster\"} 2.0")
          .contains("jmesh_xds_acks_total{type=\"endpoint\"} 4.0")
          .contains("jmesh_xds_requests_total{type=\"listener\"}")
          .contains("jmesh_xds_responses_total{type=\"endpoint\"} 5.0")
          .contains("jmesh_xds_responses_total{type=\"cluster\"} 3.0")
          .containsPattern("jmesh_xds_propagation_seconds_count\\{type=\"endpoint\"} 4(\\.0)?\n")
          .contains("jvm_memory_used_bytes");

      // /snapshot shows what is served.
      Value snapshot = parse(admin.body("/snapshot"));
      assertThat(string(snapshot, "version")).isEqualTo("v5");
      assertThat(at(snapshot, "services", "0", "endpoints").getNumberValue()).isEqualTo(2);
      assertThat(at(snapshot, "lastError").hasNullValue()).isTrue();

      // The agent leaves: it is no longer listed.
      agent.finish();
      await()
          .atMost(AdsClient.TIMEOUT)
          .untilAsserted(
              () -> {
                assertThat(at(parse(admin.body("/agents")), "agentCount").getNumberValue())
                    .isZero();
                assertThat(admin.body("/metrics")).contains("jmesh_xds_streams 0.0");
              });
    }
  }

  @Test
  void anUnchangedVersionIsNotPushedAgain() throws Exception {
    source.push(snapshot("v1", 1, 1));
    try (AdsClient agent = new AdsClient(controller.xdsPort())) {
      agent.subscribe(AdsClient.node("hello-2"), EDS, List.of());
      DiscoveryResponse v1 = agent.next(EDS);
      agent.ack(v1, List.of());

      // The same version again (an unchanged source), then a new one: the agent sees only v2.
      source.push(snapshot("v1", 1, 1));
      source.push(snapshot("v2", 1, 2));
      assertThat(agent.next(EDS).getVersionInfo()).isEqualTo("v2");
      assertThat(admin.body("/metrics")).contains("jmesh_xds_snapshot_updates_total 2.0");
    }
  }

  @Test
  void aTranslationFailureKeepsServingTheLastGoodSnapshot() throws Exception {
    Controller failing =
        Controller.start(
            Controller.Options.defaults(Path.of("unused.yaml"))
                .withInsecurePlaintext(true) // a plaintext ADS client
                .withXdsAddress("127.0.0.1", 0)
                .withAdminAddress("127.0.0.1", 0),
            source,
            s -> {
              if (s.version().equals("bad")) {
                throw new IllegalStateException("cannot translate " + s.version());
              }
              return HandMadeXds.of(s);
            });
    try {
      AdminClient failingAdmin = new AdminClient(failing.adminPort());
      source.push(snapshot("bad", 1, 1));
      assertThat(failingAdmin.body("/ready"))
          .isEqualTo(
              "not ready: no snapshot in the xDS cache yet: translation to xDS failed: version"
                  + " bad: java.lang.IllegalStateException: cannot translate bad\n");

      source.push(snapshot("good", 1, 1));
      source.push(snapshot("bad", 1, 1));
      assertThat(failingAdmin.get("/ready").statusCode()).isEqualTo(200);
      Value status = parse(failingAdmin.body("/snapshot"));
      assertThat(string(status, "version")).isEqualTo("good");
      assertThat(string(status, "sourceVersion")).isEqualTo("bad");
      assertThat(string(status, "translationError")).contains("cannot translate bad");
      assertThat(failingAdmin.body("/metrics"))
          .contains("jmesh_controller_translation_failures_total 2.0");
    } finally {
      failing.close();
    }
  }

  private static MeshSnapshot snapshot(String version, int weightA, int weightB) {
    return new MeshSnapshot(version, List.of(hello(weightA, weightB)));
  }

  /** {@code hello} and a second service, {@code other}: every type changes. */
  private static MeshSnapshot snapshot(String version, int weightA, int weightB, String other) {
    return new MeshSnapshot(
        version,
        List.of(
            hello(weightA, weightB),
            new Service(
                other,
                "default",
                List.of(8080),
                List.of(new ServiceEndpoint("127.0.0.4", 18081, 1, Map.of())),
                List.of())));
  }

  private static Service hello(int weightA, int weightB) {
    return new Service(
        "hello",
        "default",
        List.of(8080),
        List.of(
            new ServiceEndpoint("127.0.0.2", 18081, weightA, Map.of()),
            new ServiceEndpoint("127.0.0.3", 18081, weightB, Map.of())),
        List.of());
  }

  private static List<Integer> weights(DiscoveryResponse eds) throws Exception {
    ClusterLoadAssignment cla = eds.getResources(0).unpack(ClusterLoadAssignment.class);
    return cla.getEndpoints(0).getLbEndpointsList().stream()
        .map(e -> e.getLoadBalancingWeight().getValue())
        .toList();
  }

}
