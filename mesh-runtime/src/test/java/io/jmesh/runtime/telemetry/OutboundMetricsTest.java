package io.jmesh.runtime.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmesh.runtime.Endpoint;
import io.jmesh.runtime.MeshRuntime;
import io.jmesh.runtime.OutboundCall;
import io.jmesh.runtime.OutboundRequest;
import io.jmesh.runtime.config.MeshConfigParser;
import io.jmesh.runtime.retry.AttemptOutcome;
import io.jmesh.runtime.retry.RetryPolicy;
import io.jmesh.runtime.time.FakeTicker;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The meters one runtime records for outbound calls, driven through {@link OutboundCall} as an
 * adapter drives it, with a fake ticker for durations and a Prometheus registry to check the
 * exposition too.
 */
class OutboundMetricsTest {
  private final FakeTicker ticker = new FakeTicker();
  private final SplittableRandom seeded = new SplittableRandom(7);
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final MeshMetrics metrics = new MeshMetrics(registry, "client.default");

  private MeshRuntime runtime(String policy) throws Exception {
    String yaml =
        String.join(
            "\n",
            "services:",
            "  - name: hello",
            "    ports: [8080]",
            "    endpoints:",
            "      - {address: 10.0.0.1, port: 80}",
            "      - {address: 10.0.0.2, port: 80}",
            policy.isEmpty() ? "" : "    policy: " + policy,
            "    routes:",
            "      - name: api",
            "        backends: [{subset: {}, weight: 1}]",
            "  - name: empty",
            "    ports: [8080]",
            "");
    return MeshRuntime.builder()
        .snapshot(MeshConfigParser.parse("t.yaml", yaml, "default"))
        .ticker(ticker)
        .random(() -> seeded.nextLong())
        .metrics(metrics)
        .build();
  }

  private static OutboundCall call(MeshRuntime runtime, String method, String host) {
    return runtime.route(OutboundRequest.of("http", host, 8080, method, "/users/12345", h -> null));
  }

  /** Sends attempts with the given outcomes while the policy says retry; returns the last decision. */
  private RetryPolicy.Decision drive(OutboundCall call, AttemptOutcome... outcomes) {
    RetryPolicy.Decision d = null;
    for (AttemptOutcome o : outcomes) {
      Endpoint e = call.nextEndpoint();
      ticker.advance(Duration.ofMillis(20));
      d = call.attemptFinished(e, o, TimeUnit.MILLISECONDS.toNanos(20));
      if (!d.isRetry()) {
        break;
      }
    }
    call.finish();
    return d;
  }

  private Timer clientTimer(String status, String errorType) {
    return registry
        .find(MeshMetrics.CLIENT_DURATION)
        .tag(MeshMetrics.SOURCE, "client.default")
        .tag(MeshMetrics.DESTINATION, "hello.default")
        .tag(MeshMetrics.STATUS, status)
        .tag(MeshMetrics.ERROR_TYPE, errorType)
        .timer();
  }

  @Test
  void oneSamplePerCallWithItsStatusRouteAndDuration() throws Exception {
    MeshRuntime runtime = runtime("");

    for (int i = 0; i < 3; i++) {
      OutboundCall call = call(runtime, "GET", "hello");
      call.admit(true, 0);
      drive(call, AttemptOutcome.status(200));
    }
    // A 503 retried once, then a 200: one call, one sample, one retry.
    OutboundCall retried = call(runtime, "GET", "hello");
    retried.admit(true, 0);
    drive(retried, AttemptOutcome.status(503), AttemptOutcome.status(200));

    Timer ok = clientTimer("200", "");
    assertThat(ok.count()).isEqualTo(4);
    assertThat(ok.getId().getTag(MeshMetrics.ROUTE)).isEqualTo("api");
    assertThat(ok.getId().getTag(MeshMetrics.METHOD)).isEqualTo("GET");
    assertThat(ok.getId().getTag(MeshMetrics.SERVER_ADDRESS)).isEqualTo("hello");
    // 3 calls of 20 ms and one of 40 ms (both attempts), measured on the fake ticker.
    assertThat(ok.totalTime(TimeUnit.MILLISECONDS)).isEqualTo(100.0);
    assertThat(retries("api")).isEqualTo(1.0);
    assertThat(active()).isZero();
  }

  @Test
  void failedCallsCarryTheStatusOrTheFailureKindAsErrorType() throws Exception {
    MeshRuntime runtime = runtime("");

    OutboundCall notFound = call(runtime, "GET", "hello");
    notFound.admit(true, 0);
    drive(notFound, AttemptOutcome.status(404));
    // Three 503s: the default policy's three attempts are spent.
    OutboundCall unavailable = call(runtime, "GET", "hello");
    unavailable.admit(true, 0);
    drive(unavailable, AttemptOutcome.status(503), AttemptOutcome.status(503), AttemptOutcome.status(503));
    OutboundCall reset = call(runtime, "POST", "hello.default.svc.cluster.local");
    reset.admit(true, 10);
    drive(reset, AttemptOutcome.reset()); // a POST that may have arrived: never retried

    assertThat(clientTimer("404", "404").count()).isEqualTo(1);
    assertThat(clientTimer("503", "503").count()).isEqualTo(1);
    assertThat(retries("api")).isEqualTo(2.0);
    Timer resetTimer = clientTimer("", "reset");
    assertThat(resetTimer.count()).isEqualTo(1);
    assertThat(resetTimer.getId().getTag(MeshMetrics.SERVER_ADDRESS))
        .isEqualTo("hello.default.svc.cluster.local");
  }

  @Test
  void methodsOutsideTheStandardSetBecomeOther() throws Exception {
    MeshRuntime runtime = runtime("");

    OutboundCall call = call(runtime, "PURGE", "hello");
    call.admit(true, 0);
    drive(call, AttemptOutcome.status(200));

    assertThat(clientTimer("200", "").getId().getTag(MeshMetrics.METHOD)).isEqualTo("_OTHER");
  }

  @Test
  void anEmptyBudgetIsCountedWhenItStopsARetry() throws Exception {
    MeshRuntime runtime = runtime("{retryBudget: {ratio: 0.0, minPerSecond: 0, ttl: 10s}}");

    OutboundCall call = call(runtime, "GET", "hello");
    call.admit(true, 0);
    RetryPolicy.Decision d = drive(call, AttemptOutcome.status(503));

    assertThat(d.stopReason()).isEqualTo(RetryPolicy.StopReason.BUDGET_EXHAUSTED);
    Counter exhausted =
        registry.find(MeshMetrics.BUDGET_EXHAUSTED).tag(MeshMetrics.ROUTE, "api").counter();
    assertThat(exhausted.count()).isEqualTo(1.0);
    assertThat(clientTimer("503", "503").count()).isEqualTo(1);
  }

  @Test
  void refusalsAreCallsWithTheirReason() throws Exception {
    MeshRuntime runtime = runtime("{rateLimit: {requestsPerSecond: 1, burst: 1}}");

    OutboundCall first = call(runtime, "GET", "hello");
    first.admit(true, 0);
    drive(first, AttemptOutcome.status(200));
    // The burst of one is spent: the second call is refused before any attempt.
    OutboundCall limited = call(runtime, "GET", "hello");
    assertThat(limited.admit(true, 0).isRefused()).isTrue();
    limited.finish();
    // A destination without endpoints.
    OutboundCall nowhere = call(runtime, "GET", "empty");
    nowhere.admit(true, 0);
    assertThat(nowhere.nextEndpoint()).isNull();
    nowhere.finish();
    // The adapter's own refusal (no mesh identity for a mesh-TLS destination).
    OutboundCall noIdentity = call(runtime, "GET", "hello");
    noIdentity.refused("no_mesh_identity");
    noIdentity.finish();

    assertThat(clientTimer("429", "rate_limited").count()).isEqualTo(1);
    Timer noEndpoint =
        registry.find(MeshMetrics.CLIENT_DURATION)
            .tag(MeshMetrics.DESTINATION, "empty.default")
            .tag(MeshMetrics.ERROR_TYPE, "no_endpoint")
            .timer();
    assertThat(noEndpoint.count()).isEqualTo(1);
    assertThat(noEndpoint.getId().getTag(MeshMetrics.ROUTE)).isEqualTo("default");
    assertThat(clientTimer("", "no_mesh_identity").count()).isEqualTo(1);
  }

  @Test
  void inFlightCountsRoutedCallsUntilTheyFinishOnce() throws Exception {
    MeshRuntime runtime = runtime("");

    OutboundCall a = call(runtime, "GET", "hello");
    OutboundCall b = call(runtime, "GET", "hello");
    assertThat(active()).isEqualTo(2.0);
    a.finish();
    a.finish(); // idempotent: neither the gauge nor the timer counts twice
    assertThat(active()).isEqualTo(1.0);
    b.finish();
    assertThat(active()).isZero();
    assertThat(clientTimer("", "_OTHER").count()).isEqualTo(2);
  }

  @Test
  void ejectionsAreCountedAndTheEjectedGaugeFollowsTheBreaker() throws Exception {
    MeshRuntime runtime =
        runtime("{failureAccrual: {consecutiveFailures: 1, minPenalty: 10s, maxPenalty: 1m, jitter: 0}, maxEjectionPercent: 100}");

    OutboundCall call = call(runtime, "POST", "hello"); // not retried: one attempt, one ejection
    call.admit(true, 10);
    drive(call, AttemptOutcome.status(503));

    assertThat(registry.find(MeshMetrics.EJECTIONS).tag(MeshMetrics.DESTINATION, "hello.default").counter().count()).isEqualTo(1.0);
    Gauge ejected = registry.find(MeshMetrics.EJECTED).tag(MeshMetrics.DESTINATION, "hello.default").gauge();
    assertThat(ejected.value()).isEqualTo(1.0);
  }

  @Test
  void theConfigVersionInForceIsOneSeries() throws Exception {
    MeshRuntime runtime = runtime("");
    String first = runtime.snapshot().version();

    runtime.update(new io.jmesh.runtime.config.MeshSnapshot("v2", runtime.snapshot().services()));

    assertThat(registry.find(MeshMetrics.CONFIG_INFO).gauges()).hasSize(1);
    assertThat(registry.find(MeshMetrics.CONFIG_INFO).tag("version", "v2").gauge().value()).isEqualTo(1.0);
    assertThat(registry.find(MeshMetrics.CONFIG_INFO).tag("version", first).gauge()).isNull();
    assertThat(registry.find(MeshMetrics.CONFIG_UPDATES).counter().count()).isEqualTo(2.0);
  }

  @Test
  void thePrometheusExpositionHasTheOpenTelemetryNamesAndExplicitBuckets() throws Exception {
    MeshRuntime runtime = runtime("");
    OutboundCall call = call(runtime, "GET", "hello");
    call.admit(true, 0);
    drive(call, AttemptOutcome.status(503), AttemptOutcome.status(200));

    String text = registry.scrape();

    assertThat(text)
        .contains("# TYPE http_client_request_duration_seconds histogram")
        .contains(
            "http_client_request_duration_seconds_bucket{error_type=\"\",http_request_method=\"GET\","
                + "http_response_status_code=\"200\",jmesh_destination_service=\"hello.default\","
                + "jmesh_route=\"api\",jmesh_source_service=\"client.default\",server_address=\"hello\",le=\"0.05\"} 1")
        .contains("server_address=\"hello\",le=\"0.025\"} 0")
        .contains("le=\"10.0\"")
        .contains("jmesh_client_retries_total{jmesh_destination_service=\"hello.default\",jmesh_route=\"api\","
            + "jmesh_source_service=\"client.default\"} 1.0")
        .contains("http_client_active_requests{")
        // No path or id reaches a label.
        .doesNotContain("12345");
  }

  @Test
  void theEjectedGaugeFollowsTheDestinationWhenItLeavesAndComesBack() throws Exception {
    String policy = "{failureAccrual: {consecutiveFailures: 1, minPenalty: 10s, maxPenalty: 1m, jitter: 0}, maxEjectionPercent: 100}";
    MeshRuntime runtime = runtime(policy);
    io.jmesh.runtime.config.MeshSnapshot withHello = runtime.snapshot();
    OutboundCall call = call(runtime, "POST", "hello");
    call.admit(true, 10);
    drive(call, AttemptOutcome.status(503));
    Gauge ejected = registry.find(MeshMetrics.EJECTED).tag(MeshMetrics.DESTINATION, "hello.default").gauge();
    assertThat(ejected.value()).isEqualTo(1.0);

    // hello leaves the config: its breaker state is gone, and the gauge says so.
    runtime.update(MeshConfigParser.parse("t.yaml", "services:\n  - name: empty\n    ports: [8080]\n", "default"));
    assertThat(ejected.value()).isZero();

    // It comes back with a fresh breaker: one gauge, reading the new state (not the first one).
    runtime.update(withHello);
    assertThat(registry.find(MeshMetrics.EJECTED).tag(MeshMetrics.DESTINATION, "hello.default").gauges()).hasSize(1);
    assertThat(ejected.value()).isZero();
    OutboundCall again = call(runtime, "POST", "hello");
    again.admit(true, 10);
    drive(again, AttemptOutcome.status(503));
    assertThat(ejected.value()).isEqualTo(1.0);
  }

  @Test
  void aRuntimeThatReplacesAnotherOnTheSameMetricsRebindsTheIdentityMeters() throws Exception {
    // As AgentTestHooks.installIdentity does: a second identity, a second runtime, one registry.
    io.jmesh.runtime.identity.TestIdentities mesh = io.jmesh.runtime.identity.TestIdentities.mesh("metrics");
    io.jmesh.runtime.identity.TlsRefusals first = new io.jmesh.runtime.identity.TlsRefusals();
    io.jmesh.runtime.identity.TlsRefusals second = new io.jmesh.runtime.identity.TlsRefusals();
    io.jmesh.runtime.identity.SpiffeId id = io.jmesh.runtime.identity.SpiffeId.of("cluster.local", "default", "client");
    metrics.bindIdentity(mesh.tls(id, first));
    first.record(io.jmesh.runtime.identity.TlsRefusals.Reason.WRONG_IDENTITY);
    io.micrometer.core.instrument.FunctionCounter wrong =
        registry.find(MeshMetrics.TLS_REFUSALS).tag("reason", "wrong_identity").functionCounter();
    assertThat(wrong.count()).isEqualTo(1.0);

    metrics.bindIdentity(mesh.tls(id, second));
    second.record(io.jmesh.runtime.identity.TlsRefusals.Reason.WRONG_IDENTITY);
    second.record(io.jmesh.runtime.identity.TlsRefusals.Reason.WRONG_IDENTITY);

    // One series per reason, reading the identity in force.
    assertThat(registry.find(MeshMetrics.TLS_REFUSALS).tag("reason", "wrong_identity").functionCounters()).hasSize(1);
    assertThat(wrong.count()).isEqualTo(2.0);
    Gauge expiry = registry.find(MeshMetrics.CERT_EXPIRATION).tag(MeshMetrics.PEER, id.toString()).gauge();
    assertThat(expiry.value()).isPositive();
  }

  /** A gRPC call as the gRPC adapter drives it: attempts with their code, the RPC's code at the end. */
  private void rpc(MeshRuntime runtime, String path, int finalCode, AttemptOutcome... outcomes) {
    OutboundCall call = runtime.route(OutboundRequest.of("http", "hello", 8080, "POST", path, h -> null));
    call.admit(true, 0);
    for (AttemptOutcome o : outcomes) {
      Endpoint e = call.nextEndpoint();
      ticker.advance(Duration.ofMillis(20));
      if (!call.attemptFinished(e, o, TimeUnit.MILLISECONDS.toNanos(20)).isRetry()) {
        break;
      }
    }
    call.grpcStatus(finalCode);
    call.finish();
  }

  private Timer rpcTimer(String service, String method, String code) {
    return registry
        .find(MeshMetrics.RPC_CLIENT_DURATION)
        .tag(MeshMetrics.SOURCE, "client.default")
        .tag(MeshMetrics.DESTINATION, "hello.default")
        .tag(MeshMetrics.RPC_SYSTEM, "grpc")
        .tag(MeshMetrics.RPC_SERVICE, service)
        .tag(MeshMetrics.RPC_METHOD, method)
        .tag(MeshMetrics.RPC_GRPC_STATUS, code)
        .timer();
  }

  @Test
  void grpcCallsAreRecordedPerMethodWithTheirNumericStatusCode() throws Exception {
    MeshRuntime runtime = runtime("");

    rpc(runtime, "/test.Greeter/Hello", 0, AttemptOutcome.status(200).withGrpcStatus(0));
    rpc(runtime, "/test.Greeter/Hello", 0, AttemptOutcome.status(200).withGrpcStatus(0));
    rpc(runtime, "/test.Greeter/Hello", 5, AttemptOutcome.status(404).withGrpcStatus(5));
    rpc(runtime, "/test.Greeter/Count", 14, AttemptOutcome.status(503).withGrpcStatus(14));
    // Refused before any attempt: the code the application got comes with finish.
    rpc(runtime, "/test.Greeter/Count", 8);
    // An HTTP call on the same destination is no RPC.
    OutboundCall http = call(runtime, "GET", "hello");
    http.admit(true, 0);
    drive(http, AttemptOutcome.status(200));

    Timer ok = rpcTimer("test.Greeter", "Hello", "0");
    assertThat(ok.count()).isEqualTo(2);
    assertThat(ok.totalTime(TimeUnit.MILLISECONDS)).isEqualTo(40.0);
    assertThat(ok.getId().getTag(MeshMetrics.ROUTE)).isEqualTo("api");
    assertThat(ok.getId().getTag(MeshMetrics.SERVER_ADDRESS)).isEqualTo("hello");
    assertThat(rpcTimer("test.Greeter", "Hello", "5").count()).isEqualTo(1);
    assertThat(rpcTimer("test.Greeter", "Count", "14").count()).isEqualTo(1);
    assertThat(rpcTimer("test.Greeter", "Count", "8").count()).isEqualTo(1);
    assertThat(registry.find(MeshMetrics.RPC_CLIENT_DURATION).timers()).hasSize(4);
    // The HTTP view of every call stays: 4 RPCs as POSTs plus the GET.
    assertThat(registry.find(MeshMetrics.CLIENT_DURATION).timers().stream().mapToLong(Timer::count).sum()).isEqualTo(6);

    assertThat(registry.scrape())
        .contains("# TYPE rpc_client_duration_seconds histogram")
        .contains(
            "rpc_client_duration_seconds_count{jmesh_destination_service=\"hello.default\",jmesh_route=\"api\","
                + "jmesh_source_service=\"client.default\",rpc_grpc_status_code=\"0\",rpc_method=\"Hello\","
                + "rpc_service=\"test.Greeter\",rpc_system=\"grpc\",server_address=\"hello\"} 2");
  }

  @Test
  void rpcSeriesAreCappedPerDestinationLikeTheHttpOnes() throws Exception {
    MeshRuntime runtime = runtime("");
    for (int i = 0; i < MeshMetrics.MAX_SERIES + 5; i++) {
      rpc(runtime, "/test.Greeter/M" + i, 0, AttemptOutcome.status(200).withGrpcStatus(0));
    }
    // Beyond the cap, service, method, route and address collapse; the code stays.
    assertThat(registry.find(MeshMetrics.RPC_CLIENT_DURATION).timers()).hasSize(MeshMetrics.MAX_SERIES + 1);
    assertThat(rpcTimer("_OTHER", "_OTHER", "0").count()).isEqualTo(5);
    // A path that is no gRPC method has no service or method to name.
    assertThat(MeshMetrics.rpcNames("/")).containsExactly("_OTHER", "_OTHER");
    assertThat(MeshMetrics.rpcNames("/a.B/")).containsExactly("_OTHER", "_OTHER");
  }

  private double retries(String route) {
    Counter c = registry.find(MeshMetrics.RETRIES).tag(MeshMetrics.ROUTE, route).counter();
    return c == null ? 0 : c.count();
  }

  private double active() {
    return registry.find(MeshMetrics.CLIENT_ACTIVE).tag(MeshMetrics.DESTINATION, "hello.default").gauge().value();
  }
}
