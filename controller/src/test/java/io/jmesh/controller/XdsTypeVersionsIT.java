package io.jmesh.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.jmesh.controller.xds.AgentStatus;
import io.jmesh.controller.xds.XdsResources;
import io.jmesh.controller.xds.XdsServer;
import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.config.Service;
import io.jmesh.runtime.config.ServiceEndpoint;
import io.jmesh.runtime.xds.XdsNames;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A version per resource type, seen by an ADS client on loopback: a change of one type sends that
 * type only. That nothing else was sent is shown by the order of responses, never by waiting: the
 * cache answers a push in the order CDS, EDS, LDS, RDS, so a Listener sent for an endpoint change
 * would come before the routes of the next change.
 */
class XdsTypeVersionsIT {
  private static final String LDS = XdsNames.LISTENER_TYPE;
  private static final String RDS = XdsNames.ROUTE_TYPE;
  private static final String CDS = XdsNames.CLUSTER_TYPE;
  private static final String EDS = XdsNames.ENDPOINT_TYPE;
  private static final String HELLO = "hello.default";

  private XdsServer server;

  @BeforeEach
  void start() throws Exception {
    server = XdsServer.start("127.0.0.1", 0, new SimpleMeterRegistry());
  }

  @AfterEach
  void stop() {
    server.close();
  }

  @Test
  void anEndpointChangeSendsEndpointsOnlyAndARouteChangeRoutesOnly() throws Exception {
    server.update(resources("v1", 1, "/"));
    try (AdsClient agent = new AdsClient(server.port())) {
      subscribeAll(agent);

      // Endpoints only: the next response is the endpoints of v2.
      assertThat(server.update(resources("v2", 7, "/"))).isTrue();
      DiscoveryResponse eds = agent.next(EDS);
      assertThat(eds.getVersionInfo()).isEqualTo("v2");
      assertThat(eds.getResources(0).unpack(ClusterLoadAssignment.class).getEndpoints(0)
              .getLbEndpoints(0).getLoadBalancingWeight().getValue())
          .isEqualTo(7);
      agent.ack(eds, List.of(HELLO));

      // Routes only: the next response is the routes of v3, so nothing of v2 but its endpoints
      // was sent (its Listeners would have come before these routes).
      server.update(resources("v3", 7, "/v3"));
      DiscoveryResponse rds = agent.next(RDS);
      assertThat(rds.getVersionInfo()).isEqualTo("v3");
      assertThat(rds.getResources(0).unpack(RouteConfiguration.class).getVirtualHosts(0)
              .getRoutes(0).getMatch().getPrefix())
          .isEqualTo("/v3");
      agent.ack(rds, List.of(HELLO));

      // In sync: each type has ACKed the version it is served with now.
      await()
          .atMost(AdsClient.TIMEOUT)
          .untilAsserted(
              () -> {
                Map<String, AgentStatus.TypeStatus> types = server.agents().get(0).types();
                assertThat(types.get("listener").ackedVersion()).isEqualTo("v1");
                assertThat(types.get("cluster").ackedVersion()).isEqualTo("v1");
                assertThat(types.get("endpoint").ackedVersion()).isEqualTo("v2");
                assertThat(types.get("route").ackedVersion()).isEqualTo("v3");
                for (AgentStatus.TypeStatus type : types.values()) {
                  assertThat(type.servedVersion()).as(type.typeUrl()).isEqualTo(type.ackedVersion());
                }
              });
    }
  }

  @Test
  void aResourceEditedBackIsSentAgainWithANewVersion() throws Exception {
    server.update(resources("v1", 1, "/"));
    try (AdsClient agent = new AdsClient(server.port())) {
      subscribeAll(agent);
      server.update(resources("v2", 2, "/"));
      DiscoveryResponse v2 = agent.next(EDS);
      agent.ack(v2, List.of(HELLO));
      // Back to v1's endpoints in a new source version: they differ from those served (v2's),
      // so they are sent, under the new version.
      server.update(resources("v3", 1, "/"));
      DiscoveryResponse v3 = agent.next(EDS);
      assertThat(v3.getVersionInfo()).isEqualTo("v3");
    }
  }

  private static void subscribeAll(AdsClient agent) throws InterruptedException {
    agent.subscribe(AdsClient.node("hello-1"), LDS, List.of());
    agent.ack(agent.next(LDS), List.of());
    agent.subscribe(null, RDS, List.of(HELLO));
    agent.ack(agent.next(RDS), List.of(HELLO));
    agent.subscribe(null, CDS, List.of(HELLO));
    agent.ack(agent.next(CDS), List.of(HELLO));
    agent.subscribe(null, EDS, List.of(HELLO));
    DiscoveryResponse eds = agent.next(EDS);
    assertThat(eds.getVersionInfo()).isEqualTo("v1");
    agent.ack(eds, List.of(HELLO));
  }

  /** {@code hello} with one endpoint of {@code weight} and a route matching {@code prefix}. */
  private static XdsResources resources(String version, int weight, String prefix) {
    XdsResources made =
        HandMadeXds.of(
            new MeshSnapshot(
                version,
                List.of(
                    new Service(
                        "hello",
                        "default",
                        List.of(8080),
                        List.of(new ServiceEndpoint("127.0.0.2", 18081, weight, Map.of())),
                        List.of()))));
    RouteConfiguration route = made.routes().get(0);
    RouteConfiguration.Builder changed = route.toBuilder();
    changed
        .getVirtualHostsBuilder(0)
        .getRoutesBuilder(0)
        .setMatch(RouteMatch.newBuilder().setPrefix(prefix));
    return new XdsResources(
        version, made.listeners(), List.of(changed.build()), made.clusters(), made.endpoints());
  }
}
