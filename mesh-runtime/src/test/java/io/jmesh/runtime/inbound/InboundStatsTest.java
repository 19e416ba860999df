package io.jmesh.runtime.inbound;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.telemetry.MeshMetrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The inbound counts and the Micrometer meters they feed, one event at a time. */
class InboundStatsTest {
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final InboundStats stats =
      new InboundStats(new MeshMetrics(registry, "hello.default").server("hello.default"));
  private final SpiffeId client = SpiffeId.of("cluster.local", "default", "client");

  @Test
  void everyRequestIsOneSampleByCallerStatusAndErrorType() {
    stats.recordConnection();
    for (int i = 0; i < 3; i++) {
      stats.recordStarted();
      stats.recordForwarded("GET", client, 200, TimeUnit.MILLISECONDS.toNanos(5));
    }
    stats.recordStarted();
    stats.recordForwarded("GET", client, 503, 1);
    stats.recordStarted();
    stats.recordUnreachable("POST", client, 1);
    stats.recordStarted();
    stats.recordDenied("GET", null, 1); // a plaintext caller in permissive mode
    stats.recordDenied(client); // an opaque TCP connection

    // The accessors tests already use keep their meaning.
    assertThat(stats.requests()).isEqualTo(7);
    assertThat(stats.succeeded()).isEqualTo(3);
    assertThat(stats.serverErrors()).isEqualTo(1);
    assertThat(stats.unreachable()).isEqualTo(1);
    assertThat(stats.denied()).isEqualTo(2);
    assertThat(stats.connections()).isEqualTo(1);

    String peer = client.toString();
    assertThat(timerCount(peer, "200", "")).isEqualTo(3);
    assertThat(timerCount(peer, "503", "503")).isEqualTo(1);
    assertThat(timerCount(peer, "502", "application_unreachable")).isEqualTo(1);
    assertThat(timerCount("none", "403", "authorization_denied")).isEqualTo(1);
    assertThat(registry.get("jmesh.server.authorization.denied").tag("jmesh.peer.identity", peer)
            .tag("network.protocol.name", "tcp").counter().count()).isEqualTo(1.0);
    assertThat(registry.get("jmesh.server.authorization.denied").tag("jmesh.peer.identity", "none")
            .tag("network.protocol.name", "http").counter().count()).isEqualTo(1.0);
    assertThat(registry.get("http.server.active_requests").gauge().value()).isZero();
    assertThat(registry.get("jmesh.server.connections").counter().count()).isEqualTo(1.0);
  }

  @Test
  void refusalsAreCountedByReasonAndARefusedRequestIsASampleWithItsStatus() {
    stats.recordRefused(InboundStats.Refusal.HTTP2_FLOOD); // a connection: no request
    stats.recordRefused(InboundStats.Refusal.REQUEST_HEADER_TIMEOUT);
    stats.recordRefused(InboundStats.Refusal.REQUEST_HEADER_TIMEOUT);
    stats.recordStarted();
    stats.recordRefused(InboundStats.Refusal.PENDING_FULL, "GET", client, 503, 1);

    assertThat(stats.refusals(InboundStats.Refusal.REQUEST_HEADER_TIMEOUT)).isEqualTo(2);
    assertThat(stats.refusals(InboundStats.Refusal.HTTP2_FLOOD)).isEqualTo(1);
    assertThat(stats.refusals(InboundStats.Refusal.PENDING_FULL)).isEqualTo(1);
    assertThat(stats.refusals(InboundStats.Refusal.IDLE_TIMEOUT)).isZero();
    assertThat(stats.requests()).isEqualTo(1); // only the refused request is a request
    assertThat(refusalCount("request_header_timeout")).isEqualTo(2.0);
    assertThat(refusalCount("http2_flood")).isEqualTo(1.0);
    assertThat(refusalCount("pending_full")).isEqualTo(1.0);
    assertThat(timerCount(client.toString(), "503", "pending_full")).isEqualTo(1);
    assertThat(registry.get("http.server.active_requests").gauge().value()).isZero();
  }

  private double refusalCount(String reason) {
    return registry.get("jmesh.server.refusals").tag("jmesh.destination.service", "hello.default")
        .tag("reason", reason).counter().count();
  }

  @Test
  void grpcCallsAreSampledWithTheirHttpStatusAndGrpcStatusAsErrorType() {
    stats.recordStarted();
    stats.recordGrpcFinished(client, "/test.Greeter/Hello", 200, 0, 1); // OK
    stats.recordStarted();
    stats.recordGrpcFinished(client, "/test.Greeter/Hello", 200, 5, 1); // NOT_FOUND: the caller's problem
    stats.recordStarted();
    stats.recordGrpcFinished(client, "/test.Greeter/Hello", 200, 13, 1); // INTERNAL: the server's
    stats.recordStarted();
    stats.recordGrpcDenied(client, "/test.Admin/Drop", 1);
    stats.recordStarted();
    stats.recordGrpcUnreachable(client, "/test.Greeter/Hello", 1);

    assertThat(stats.requests()).isEqualTo(5);
    assertThat(stats.succeeded()).isEqualTo(2);
    assertThat(stats.serverErrors()).isEqualTo(1);
    assertThat(stats.denied()).isEqualTo(1);
    assertThat(stats.unreachable()).isEqualTo(1);
    String peer = client.toString();
    assertThat(timerCount(peer, "200", "")).isEqualTo(1);
    assertThat(timerCount(peer, "200", "NOT_FOUND")).isEqualTo(1);
    assertThat(timerCount(peer, "200", "INTERNAL")).isEqualTo(1);
    assertThat(timerCount(peer, "200", "authorization_denied")).isEqualTo(1);
    assertThat(timerCount(peer, "200", "application_unreachable")).isEqualTo(1);
    assertThat(registry.get("jmesh.server.authorization.denied").tag("jmesh.peer.identity", peer)
            .tag("network.protocol.name", "grpc").counter().count()).isEqualTo(1.0);
    assertThat(registry.get("http.server.active_requests").gauge().value()).isZero();
    // The RPC view: per method, with the numeric code the caller got.
    assertThat(rpcCount(peer, "test.Greeter", "Hello", "0")).isEqualTo(1);
    assertThat(rpcCount(peer, "test.Greeter", "Hello", "5")).isEqualTo(1);
    assertThat(rpcCount(peer, "test.Greeter", "Hello", "13")).isEqualTo(1);
    assertThat(rpcCount(peer, "test.Admin", "Drop", "7")).isEqualTo(1); // PERMISSION_DENIED
    assertThat(rpcCount(peer, "test.Greeter", "Hello", "14")).isEqualTo(1); // UNAVAILABLE
    assertThat(registry.find(MeshMetrics.RPC_SERVER_DURATION).timers()).hasSize(5);
  }

  @Test
  void anAnswerWithoutGrpcStatusIsAnRpcOfNoKnownCode() {
    stats.recordStarted();
    stats.recordGrpcFinished(client, "/test.Greeter/Hello", 200, -1, 1);
    assertThat(rpcCount(client.toString(), "test.Greeter", "Hello", "_OTHER")).isEqualTo(1);
  }

  private long rpcCount(String peer, String service, String method, String code) {
    return registry.get(MeshMetrics.RPC_SERVER_DURATION)
        .tag("jmesh.destination.service", "hello.default")
        .tag("jmesh.peer.identity", peer)
        .tag("rpc.system", "grpc")
        .tag("rpc.service", service)
        .tag("rpc.method", method)
        .tag("rpc.grpc.status_code", code)
        .timer()
        .count();
  }

  private long timerCount(String peer, String status, String errorType) {
    return registry.get(MeshMetrics.SERVER_DURATION)
        .tag("jmesh.destination.service", "hello.default")
        .tag("jmesh.peer.identity", peer)
        .tag("http.response.status_code", status)
        .tag("error.type", errorType)
        .timer()
        .count();
  }
}
