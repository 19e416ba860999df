package io.jmesh.controller.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.rpc.Status;
import io.envoyproxy.controlplane.server.exception.RequestException;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Status.Code;
import io.jmesh.runtime.time.FakeTicker;
import io.jmesh.runtime.xds.XdsNames;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class AgentTrackerTest {
  private static final String CDS = XdsNames.CLUSTER_TYPE;
  private static final Node NODE =
      Node.newBuilder()
          .setId("hello-1")
          .setCluster("hello.default")
          .setUserAgentName("jmesh-agent")
          .setUserAgentVersion("0.1.0")
          .setMetadata(
              Struct.newBuilder()
                  .putFields("pod", Value.newBuilder().setStringValue("hello-1").build()))
          .build();

  private final FakeTicker ticker = new FakeTicker();
  private final TickerClock clock = new TickerClock(ticker);
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final VersionHistory history = new VersionHistory(4);
  private final AgentTracker tracker =
      new AgentTracker(clock, ticker, new XdsMetrics(registry), history);

  @Test
  void subscribeSendAck() throws Exception {
    tracker.onStreamOpen(7, "");
    tracker.onV3StreamRequest(7, request(CDS, "", "", "hello.default").setNode(NODE).build());
    AgentStatus.TypeStatus subscribed = type(7, "cluster");
    assertThat(subscribed.subscribed()).containsExactly("hello.default");
    assertThat(subscribed.sentVersion()).isNull();
    assertThat(subscribed.ackedVersion()).isNull();

    tracker.onV3StreamResponse(7, null, response(CDS, "v1", "0", 1));
    ticker.advance(Duration.ofMillis(20));
    tracker.onV3StreamRequest(7, request(CDS, "v1", "0", "hello.default").build());

    AgentStatus agent = tracker.agents().get(0);
    assertThat(agent.nodeId()).isEqualTo("hello-1");
    assertThat(agent.nodeCluster()).isEqualTo("hello.default");
    assertThat(agent.userAgent()).isEqualTo("jmesh-agent 0.1.0");
    assertThat(agent.metadata().getFieldsOrThrow("pod").getStringValue()).isEqualTo("hello-1");
    assertThat(agent.connectedSince()).isEqualTo(TickerClock.EPOCH);
    AgentStatus.TypeStatus acked = agent.types().get("cluster");
    assertThat(acked.sentVersion()).isEqualTo("v1");
    assertThat(acked.sentNonce()).isEqualTo("0");
    assertThat(acked.sentResources()).isEqualTo(1);
    assertThat(acked.ackedVersion()).isEqualTo("v1");
    assertThat(acked.ackedAt()).isEqualTo(TickerClock.EPOCH.plusMillis(20));
    assertThat(acked.nacked()).isFalse();
    assertThat(acked.lastNack()).isNull();
    assertThat(count(XdsMetrics.ACKS, "cluster")).isEqualTo(1);
    assertThat(count(XdsMetrics.REQUESTS, "cluster")).isEqualTo(2);
    assertThat(count(XdsMetrics.RESPONSES, "cluster")).isEqualTo(1);
  }

  @Test
  void nackKeepsTheAcceptedVersionAndTheReason() throws Exception {
    tracker.onStreamOpen(1, "");
    tracker.onV3StreamRequest(1, request(CDS, "", "").setNode(NODE).build());
    tracker.onV3StreamResponse(1, null, response(CDS, "v1", "0", 1));
    tracker.onV3StreamRequest(1, request(CDS, "v1", "0").build());
    tracker.onV3StreamResponse(1, null, response(CDS, "v2", "1", 1));
    ticker.advance(Duration.ofSeconds(1));

    // The agent rejects v2; per xDS its request repeats the version it kept.
    DiscoveryRequest nack =
        request(CDS, "v1", "1")
            .setErrorDetail(
                Status.newBuilder()
                    .setCode(3)
                    .setMessage("Cluster hello.default: lb_policy: MAGLEV (expected: ROUND_ROBIN)"))
            .build();
    tracker.onV3StreamRequest(1, nack);

    AgentStatus.TypeStatus cluster = type(1, "cluster");
    assertThat(cluster.nacked()).isTrue();
    assertThat(cluster.ackedVersion()).isEqualTo("v1");
    assertThat(cluster.sentVersion()).isEqualTo("v2");
    assertThat(cluster.lastNack())
        .isEqualTo(
            new AgentStatus.Nack(
                "v2",
                3,
                "Cluster hello.default: lb_policy: MAGLEV (expected: ROUND_ROBIN)",
                TickerClock.EPOCH.plusSeconds(1)));
    assertThat(count(XdsMetrics.NACKS, "cluster")).isEqualTo(1);
    assertThat(count(XdsMetrics.ACKS, "cluster")).isEqualTo(1);

    // The watcher gets what the NACK rejected, for this very request object, once.
    AgentTracker.HeldNack held = tracker.takeHeldNack(nack);
    assertThat(held.rejectedVersion()).isEqualTo("v2");
    assertThat(tracker.takeHeldNack(nack)).isNull();

    // v3 goes out: it is not rejected (yet), and the reason for v2 stays visible after it is
    // accepted.
    tracker.onV3StreamResponse(1, null, response(CDS, "v3", "2", 1));
    assertThat(type(1, "cluster").nacked()).isFalse();
    tracker.onV3StreamRequest(1, request(CDS, "v3", "2").build());
    cluster = type(1, "cluster");
    assertThat(cluster.ackedVersion()).isEqualTo("v3");
    assertThat(cluster.nacked()).isFalse();
    assertThat(cluster.lastNack().version()).isEqualTo("v2");
  }

  @Test
  void heldNackIsOnlyForTheSameRequestObject() throws Exception {
    tracker.onStreamOpen(1, "");
    tracker.onV3StreamRequest(1, request(CDS, "", "").build());
    tracker.onV3StreamResponse(1, null, response(CDS, "v1", "0", 1));
    DiscoveryRequest nack =
        request(CDS, "", "0").setErrorDetail(Status.newBuilder().setMessage("no")).build();
    tracker.onV3StreamRequest(1, nack);

    // An equal but distinct request was not seen by the callback: no hold, and the slot clears.
    assertThat(tracker.takeHeldNack(nack.toBuilder().build())).isNull();
    assertThat(tracker.takeHeldNack(nack)).isNull();
  }

  @Test
  void staleNonceChangesNothing() throws Exception {
    tracker.onStreamOpen(1, "");
    tracker.onV3StreamRequest(1, request(CDS, "", "", "a").build());
    tracker.onV3StreamResponse(1, null, response(CDS, "v1", "0", 1));
    tracker.onV3StreamResponse(1, null, response(CDS, "v2", "1", 1));

    // An ACK of the older response, and a NACK of it, arrive after v2 was sent.
    tracker.onV3StreamRequest(1, request(CDS, "v1", "0", "a", "b").build());
    tracker.onV3StreamRequest(
        1,
        request(CDS, "", "0").setErrorDetail(Status.newBuilder().setMessage("late")).build());

    AgentStatus.TypeStatus cluster = type(1, "cluster");
    assertThat(cluster.ackedVersion()).isNull();
    assertThat(cluster.nacked()).isFalse();
    assertThat(cluster.lastNack()).isNull();
    assertThat(cluster.subscribed()).containsExactly("a");
    assertThat(count(XdsMetrics.ACKS, "cluster")).isZero();
    assertThat(count(XdsMetrics.NACKS, "cluster")).isZero();
  }

  @Test
  void propagationIsTimedFromTheSetOrTheConnectWhicheverIsLater() throws Exception {
    history.set("v1", ticker.nanoTime());
    ticker.advance(Duration.ofSeconds(10));

    // This agent connects 10 s after v1 was set and accepts it 30 ms later: 30 ms, not 10 s.
    tracker.onStreamOpen(1, "");
    tracker.onV3StreamRequest(1, request(CDS, "", "").build());
    tracker.onV3StreamResponse(1, null, response(CDS, "v1", "0", 1));
    ticker.advance(Duration.ofMillis(30));
    tracker.onV3StreamRequest(1, request(CDS, "v1", "0").build());

    // v2 is pushed to the connected agent and accepted 45 ms after it was set.
    history.set("v2", ticker.nanoTime());
    tracker.onV3StreamResponse(1, null, response(CDS, "v2", "1", 1));
    ticker.advance(Duration.ofMillis(45));
    tracker.onV3StreamRequest(1, request(CDS, "v2", "1").build());

    // A later request with the same nonce (a subscription change) is no new acceptance of v2.
    ticker.advance(Duration.ofMillis(500));
    tracker.onV3StreamRequest(1, request(CDS, "v2", "1", "more").build());

    var timer = registry.get(XdsMetrics.PROPAGATION).tag("type", "cluster").timer();
    assertThat(timer.count()).isEqualTo(2);
    assertThat(timer.totalTime(TimeUnit.MILLISECONDS)).isEqualTo(75.0);
    assertThat(timer.max(TimeUnit.MILLISECONDS)).isEqualTo(45.0);
    assertThat(count(XdsMetrics.ACKS, "cluster")).isEqualTo(3);
  }

  @Test
  void nodeComesFromTheFirstRequestThatCarriesOne() throws Exception {
    tracker.onStreamOpen(1, "");
    tracker.onV3StreamRequest(1, request(XdsNames.LISTENER_TYPE, "", "").build());
    assertThat(tracker.agents().get(0).nodeId()).isNull();
    tracker.onV3StreamRequest(1, request(CDS, "", "").setNode(NODE).build());
    tracker.onV3StreamRequest(
        1, request(XdsNames.ROUTE_TYPE, "", "").setNode(Node.newBuilder().setId("other")).build());

    AgentStatus agent = tracker.agents().get(0);
    assertThat(agent.nodeId()).isEqualTo("hello-1");
    // Types are listed in the order a client needs them, whatever the order of requests.
    assertThat(agent.types().keySet()).containsExactly("listener", "route", "cluster");
    assertThat(agent.types().get("listener").wildcard()).isTrue();
  }

  @Test
  void aResumedStreamRunsTheVersionItNames() throws Exception {
    // The agent reconnected (for example to present its new certificate) and names the version
    // it applied on its earlier stream; the cache, holding that version, sends nothing.
    tracker.onStreamOpen(1, "");
    tracker.onV3StreamRequest(1, request(CDS, "v1", "", "hello.default").setNode(NODE).build());
    AgentStatus.TypeStatus resumed = type(1, "cluster");
    assertThat(resumed.sentVersion()).isNull();
    assertThat(resumed.ackedVersion()).isEqualTo("v1");
    assertThat(resumed.nacked()).isFalse();

    // A first request without a version is a fresh subscription: nothing is ACKed yet.
    tracker.onStreamOpen(2, "");
    tracker.onV3StreamRequest(2, request(CDS, "", "", "hello.default").setNode(NODE).build());
    assertThat(type(2, "cluster").ackedVersion()).isNull();
  }

  @Test
  void closedStreamsAreDropped() throws Exception {
    tracker.onStreamOpen(1, "");
    tracker.onStreamOpen(2, "");
    tracker.onStreamOpen(3, "");
    assertThat(registry.get(XdsMetrics.STREAMS).gauge().value()).isEqualTo(3);

    tracker.onStreamClose(1, "");
    tracker.onStreamCloseWithError(3, "", io.grpc.Status.CANCELLED.asRuntimeException());
    // A response racing with the close does not bring the stream back.
    tracker.onV3StreamResponse(3, null, response(CDS, "v1", "0", 1));

    assertThat(tracker.agents()).extracting(AgentStatus::streamId).containsExactly(2L);
    assertThat(registry.get(XdsMetrics.STREAMS).gauge().value()).isEqualTo(1);
  }

  @Test
  void unknownTypeUrlIsRefusedByName() {
    tracker.onStreamOpen(1, "");
    assertThatThrownBy(
            () -> tracker.onV3StreamRequest(1, request("type.googleapis.com/x.Y", "", "").build()))
        .isInstanceOf(RequestException.class)
        .satisfies(
            e ->
                assertThat(((RequestException) e).getStatus().getCode())
                    .isEqualTo(Code.INVALID_ARGUMENT))
        .hasMessageContaining("type_url: \"type.googleapis.com/x.Y\" (expected one of: ")
        .hasMessageContaining(XdsNames.CLUSTER_TYPE);
  }

  @Test
  void deltaIsRefused() {
    assertThatThrownBy(
            () -> tracker.onV3StreamDeltaRequest(1, DeltaDiscoveryRequest.getDefaultInstance()))
        .isInstanceOf(RequestException.class)
        .hasMessageContaining("incremental (delta) xDS: not served");
  }

  private AgentStatus.TypeStatus type(long streamId, String type) {
    return tracker.agents().stream()
        .filter(a -> a.streamId() == streamId)
        .findFirst()
        .orElseThrow()
        .types()
        .get(type);
  }

  private double count(String name, String type) {
    return registry.get(name).tag("type", type).counter().count();
  }

  static DiscoveryRequest.Builder request(
      String typeUrl, String version, String nonce, String... names) {
    return DiscoveryRequest.newBuilder()
        .setTypeUrl(typeUrl)
        .setVersionInfo(version)
        .setResponseNonce(nonce)
        .addAllResourceNames(List.of(names));
  }

  static DiscoveryResponse response(String typeUrl, String version, String nonce, int resources) {
    DiscoveryResponse.Builder b =
        DiscoveryResponse.newBuilder().setTypeUrl(typeUrl).setVersionInfo(version).setNonce(nonce);
    for (int i = 0; i < resources; i++) {
      b.addResources(com.google.protobuf.Any.getDefaultInstance());
    }
    return b.build();
  }
}
