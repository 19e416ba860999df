package io.jmesh.runtime.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmesh.runtime.Endpoint;
import io.jmesh.runtime.MeshRuntime;
import io.jmesh.runtime.OutboundCall;
import io.jmesh.runtime.OutboundRequest;
import io.jmesh.runtime.config.MeshConfigParser;
import io.jmesh.runtime.retry.AttemptOutcome;
import io.jmesh.runtime.time.FakeTicker;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** What {@link MeshTap} listeners see of outbound calls and inbound requests, and when. */
class MeshTapTest {
  private final FakeTicker ticker = new FakeTicker();
  private final SplittableRandom seeded = new SplittableRandom(7);
  private final MeshMetrics metrics =
      new MeshMetrics(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), "client.default", ticker);

  private MeshRuntime runtime() throws Exception {
    String yaml =
        String.join(
            "\n",
            "services:",
            "  - name: hello",
            "    ports: [8080]",
            "    endpoints:",
            "      - {address: 10.0.0.1, port: 80}",
            "    routes:",
            "      - name: api",
            "        backends: [{subset: {}, weight: 1}]",
            "");
    return MeshRuntime.builder()
        .snapshot(MeshConfigParser.parse("t.yaml", yaml, "default"))
        .ticker(ticker)
        .random(() -> seeded.nextLong())
        .metrics(metrics)
        .build();
  }

  private void get(MeshRuntime runtime, String path, int status) {
    OutboundCall call =
        runtime.route(OutboundRequest.of("http", "hello", 8080, "GET", path, h -> null));
    call.admit(true, 0);
    Endpoint e = call.nextEndpoint();
    ticker.advance(Duration.ofMillis(12));
    call.attemptFinished(e, AttemptOutcome.status(status), TimeUnit.MILLISECONDS.toNanos(12));
    call.finish();
  }

  @Test
  void anOutboundCallIsPublishedWithItsPathEndpointAndRouteWhileSomeoneListens() throws Exception {
    MeshRuntime runtime = runtime();
    List<MeshTap.Event> seen = new ArrayList<>();

    // Nobody listens: nothing is built.
    get(runtime, "/before", 200);
    assertThat(metrics.tap().active()).isFalse();

    MeshTap.Subscription subscription = metrics.tap().subscribe(seen::add);
    get(runtime, "/users/7", 200);
    subscription.close();
    subscription.close(); // idempotent
    get(runtime, "/after", 200);

    assertThat(metrics.tap().active()).isFalse();
    assertThat(seen).hasSize(1);
    MeshTap.Event event = seen.get(0);
    assertThat(event.direction()).isEqualTo(MeshTap.Direction.OUTBOUND);
    assertThat(event.source()).isEqualTo("client.default");
    assertThat(event.destination()).isEqualTo("hello.default");
    assertThat(event.method()).isEqualTo("GET");
    assertThat(event.authority()).isEqualTo("hello:8080");
    assertThat(event.path()).isEqualTo("/users/7");
    assertThat(event.status()).isEqualTo(200);
    assertThat(event.errorType()).isNull();
    assertThat(event.latencyNanos()).isEqualTo(TimeUnit.MILLISECONDS.toNanos(12));
    assertThat(event.endpoint()).isEqualTo("10.0.0.1:80");
    assertThat(event.route()).isEqualTo("api");
    assertThat(event.attempts()).isEqualTo(1);
  }

  @Test
  void anInboundRequestIsPublishedWithItsCaller() {
    List<MeshTap.Event> seen = new ArrayList<>();
    try (MeshTap.Subscription s = metrics.tap().subscribe(seen::add)) {
      ServerMeters server = metrics.server("hello.default");
      server.requestStarted();
      server.requestFinished("GET", "spiffe://cluster.local/ns/default/sa/client", 503, "503", 42);
    }

    assertThat(seen).singleElement().satisfies(e -> {
      assertThat(e.direction()).isEqualTo(MeshTap.Direction.INBOUND);
      assertThat(e.destination()).isEqualTo("hello.default");
      assertThat(e.peer()).isEqualTo("spiffe://cluster.local/ns/default/sa/client");
      assertThat(e.status()).isEqualTo(503);
      assertThat(e.errorType()).isEqualTo("503");
      assertThat(e.latencyNanos()).isEqualTo(42);
    });
  }

  @Test
  void eventsAreStampedOnTheTickerFromTheWallClockAtStart() {
    List<MeshTap.Event> seen = new ArrayList<>();
    ServerMeters server = metrics.server("hello.default");
    long before = metrics.tap().nowMillis();
    try (MeshTap.Subscription s = metrics.tap().subscribe(seen::add)) {
      server.requestStarted();
      server.requestFinished("GET", null, 200, null, 1);
      // Only the ticker moves the stamps: 250 ms later, exactly.
      ticker.advance(Duration.ofMillis(250));
      server.requestStarted();
      server.requestFinished("GET", null, 200, null, 1);
    }

    assertThat(seen).extracting(MeshTap.Event::epochMillis).containsExactly(before, before + 250);
    // Read once at start, the wall clock is what the stamps count from (not the ticker's origin).
    assertThat(before).isGreaterThan(TimeUnit.DAYS.toMillis(365 * 50L));
  }

  @Test
  void aThrowingListenerNeitherFailsTheCallNorStarvesTheOthers() throws Exception {
    MeshRuntime runtime = runtime();
    List<MeshTap.Event> seen = new ArrayList<>();
    metrics.tap().subscribe(e -> {
      throw new IllegalStateException("broken tap");
    });
    metrics.tap().subscribe(seen::add);

    get(runtime, "/", 200);

    assertThat(seen).hasSize(1);
    assertThat(metrics.tap().listenerCount()).isEqualTo(2);
  }
}
