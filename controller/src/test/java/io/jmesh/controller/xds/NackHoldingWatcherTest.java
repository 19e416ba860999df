package io.jmesh.controller.xds;

import static io.jmesh.controller.xds.AgentTrackerTest.request;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.rpc.Status;
import io.envoyproxy.controlplane.cache.Response;
import io.envoyproxy.controlplane.cache.XdsRequest;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.jmesh.runtime.time.FakeTicker;
import io.jmesh.runtime.xds.XdsNames;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The cache's own behaviour after a NACK, and what {@link NackHoldingWatcher} changes, driven as
 * java-control-plane drives them: the request callback, then createWatch, on one thread.
 */
class NackHoldingWatcherTest {
  private static final String CDS = XdsNames.CLUSTER_TYPE;

  private final SimpleCache<String> cache = new SimpleCache<>(node -> XdsServer.NODE_GROUP);
  private final FakeTicker ticker = new FakeTicker();
  private final AgentTracker tracker =
      new AgentTracker(
          new TickerClock(ticker),
          ticker,
          new XdsMetrics(new SimpleMeterRegistry()),
          new VersionHistory(4));
  private final NackHoldingWatcher watcher = new NackHoldingWatcher(cache, tracker);
  private final List<Response> responses = new ArrayList<>();
  private Set<String> acked = Set.of();

  @Test
  void theCacheAloneSendsTheRejectedVersionStraightBack() throws Exception {
    cache.setSnapshot(XdsServer.NODE_GROUP, snapshot("v2"));
    // First response of the type rejected: nothing was ACKed, so the name looks new to the cache.
    DiscoveryRequest nack = nack("", "hello.default");
    cache.createWatch(true, XdsRequest.create(nack), Set.of(), responses::add, false, false);
    assertThat(responses).extracting(Response::version).containsExactly("v2");
  }

  @Test
  void aNackWaitsForTheNextVersion() throws Exception {
    cache.setSnapshot(XdsServer.NODE_GROUP, snapshot("v2"));
    tracker.onStreamOpen(1, "");
    watch(1, request(CDS, "", "", "hello.default").build());
    assertThat(responses).extracting(Response::version).containsExactly("v2");
    sent(1, "v2", "0");

    // The agent rejects v2, the first version it saw.
    watch(1, nack("0", "hello.default"));
    assertThat(responses).hasSize(1);

    // v3 is what it gets next.
    cache.setSnapshot(XdsServer.NODE_GROUP, snapshot("v3"));
    assertThat(responses).extracting(Response::version).containsExactly("v2", "v3");
  }

  @Test
  void aNackAfterAnAckWaitsToo() throws Exception {
    cache.setSnapshot(XdsServer.NODE_GROUP, snapshot("v1"));
    tracker.onStreamOpen(1, "");
    watch(1, request(CDS, "", "", "hello.default").build());
    sent(1, "v1", "0");
    watch(1, request(CDS, "v1", "0", "hello.default").build());
    cache.setSnapshot(XdsServer.NODE_GROUP, snapshot("v2"));
    sent(1, "v2", "1");

    // Rejecting v2, the agent says it keeps v1: the cache alone would answer v2 again at once.
    DiscoveryRequest nack =
        request(CDS, "v1", "1", "hello.default")
            .setErrorDetail(Status.newBuilder().setMessage("bad"))
            .build();
    watch(1, nack);
    assertThat(responses).extracting(Response::version).containsExactly("v1", "v2");

    cache.setSnapshot(XdsServer.NODE_GROUP, snapshot("v3"));
    assertThat(responses).extracting(Response::version).containsExactly("v1", "v2", "v3");
  }

  @Test
  void aNameAddedWithTheNackIsAnsweredAtOnce() throws Exception {
    cache.setSnapshot(XdsServer.NODE_GROUP, snapshot("v2"));
    tracker.onStreamOpen(1, "");
    watch(1, request(CDS, "", "", "hello.default").build());
    sent(1, "v2", "0");

    watch(1, nack("0", "hello.default", "world.default"));
    assertThat(responses).extracting(Response::version).containsExactly("v2", "v2");
  }

  /**
   * What java-control-plane does with one request: callbacks, then a watch that knows the names
   * of the last ACKed response (here always the names of the last response).
   */
  private void watch(long streamId, DiscoveryRequest request) throws Exception {
    tracker.onV3StreamRequest(streamId, request);
    if (!request.getResponseNonce().isEmpty() && !request.hasErrorDetail()) {
      acked = Set.copyOf(request.getResourceNamesList());
    }
    watcher.createWatch(true, XdsRequest.create(request), acked, responses::add, false, false);
  }

  private void sent(long streamId, String version, String nonce) {
    tracker.onV3StreamResponse(
        streamId,
        null,
        DiscoveryResponse.newBuilder()
            .setTypeUrl(CDS)
            .setVersionInfo(version)
            .setNonce(nonce)
            .build());
  }

  private static DiscoveryRequest nack(String nonce, String... names) {
    return request(CDS, "", nonce, names)
        .setErrorDetail(Status.newBuilder().setMessage("Cluster hello.default: bad"))
        .build();
  }

  private static Snapshot snapshot(String version) {
    return Snapshot.create(
        List.of(
            Cluster.newBuilder().setName("hello.default").build(),
            Cluster.newBuilder().setName("world.default").build()),
        List.of(),
        List.of(),
        List.of(),
        List.of(),
        version);
  }
}
