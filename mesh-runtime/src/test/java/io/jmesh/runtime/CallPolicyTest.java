package io.jmesh.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmesh.runtime.config.MeshConfigParser;
import io.jmesh.runtime.deadline.DeadlineHeader;
import io.jmesh.runtime.retry.AttemptOutcome;
import io.jmesh.runtime.retry.RetryPolicy;
import io.jmesh.runtime.time.FakeTicker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The route's and destination's policy as an adapter meets it through {@link OutboundCall}: the
 * real router, balancer, breaker, budget and limits, with a fake ticker and a seeded random.
 */
class CallPolicyTest {
  private final FakeTicker ticker = new FakeTicker();
  private final SplittableRandom seeded = new SplittableRandom(7);

  private MeshRuntime runtime(String policy, String route) throws Exception {
    String yaml =
        String.join(
            "\n",
            "services:",
            "  - name: hello",
            "    ports: [8080]",
            "    endpoints:",
            "      - {address: 10.0.0.1, port: 80}",
            "      - {address: 10.0.0.2, port: 80}",
            "      - {address: 10.0.0.3, port: 80}",
            policy.isEmpty() ? "" : "    policy: " + policy,
            "    routes:",
            "      - name: api",
            "        backends: [{subset: {}, weight: 1}]",
            route.isEmpty() ? "" : "        " + route,
            "");
    return runtimeOf(yaml);
  }

  private MeshRuntime runtimeOf(String yaml) throws Exception {
    return MeshRuntime.builder()
        .snapshot(MeshConfigParser.parse("t.yaml", yaml, "default"))
        .ticker(ticker)
        .random(() -> seeded.nextLong())
        .build();
  }

  private static OutboundCall get(MeshRuntime runtime) {
    return runtime.route(Requests.get("hello", 8080, "/"));
  }

  @Test
  void retriesA503OnAnotherEndpointUntilTheAttemptsAreSpent() throws Exception {
    MeshRuntime runtime = runtime("", "");
    OutboundCall call = get(runtime);
    assertThat(call.admit(true, 0).isRefused()).isFalse();

    List<Endpoint> tried = new ArrayList<>();
    RetryPolicy.Decision decision;
    do {
      Endpoint e = call.nextEndpoint();
      tried.add(e);
      decision = call.attemptFinished(e, AttemptOutcome.status(503), 1_000_000);
    } while (decision.isRetry());

    // Three attempts (Istio's and our default), each on an endpoint other than the one before.
    assertThat(tried).hasSize(3);
    assertThat(tried.get(1)).isNotEqualTo(tried.get(0));
    assertThat(tried.get(2)).isNotEqualTo(tried.get(1));
    assertThat(decision.stopReason()).isEqualTo(RetryPolicy.StopReason.MAX_ATTEMPTS);
    call.finish();
  }

  @Test
  void neverRetriesAPostThatReachedTheServer() throws Exception {
    MeshRuntime runtime = runtime("", "");
    OutboundCall call = runtime.route(Requests.request("POST", "hello", 8080, "/", Map.of()));
    call.admit(true, 10);

    RetryPolicy.Decision d = call.attemptFinished(call.nextEndpoint(), AttemptOutcome.status(503), 1);

    assertThat(d.stopReason()).isEqualTo(RetryPolicy.StopReason.NOT_IDEMPOTENT);
    // A connect failure sent nothing, so even a POST goes elsewhere.
    OutboundCall again = runtime.route(Requests.request("POST", "hello", 8080, "/", Map.of()));
    again.admit(true, 10);
    assertThat(again.attemptFinished(again.nextEndpoint(), AttemptOutcome.connectFailure(), 1).isRetry()).isTrue();
  }

  @Test
  void aRoutesGrpcCodesRetryAnRpcOnItsCodeWithTheFakeClocksBackoff() throws Exception {
    MeshRuntime runtime =
        runtime("", "retry: {attempts: 3, nonIdempotent: true, on: [unavailable], backoff: {base: 10ms, max: 10ms}}");
    OutboundCall call = runtime.route(Requests.request("POST", "hello", 8080, "/test.Greeter/Hello", Map.of()));
    call.admit(true, 0);

    // UNAVAILABLE, reported as gRPC reports it (503 plus the code): retried after the backoff.
    RetryPolicy.Decision d =
        call.attemptFinished(call.nextEndpoint(), AttemptOutcome.status(503).withGrpcStatus(14), 1_000_000);
    assertThat(d.isRetry()).isTrue();
    assertThat(d.delayNanos()).isBetween(0L, Duration.ofMillis(10).toNanos());
    ticker.advance(d.delay());
    // INTERNAL is not on the route's list: the RPC ends with it.
    d = call.attemptFinished(call.nextEndpoint(), AttemptOutcome.status(500).withGrpcStatus(13), 1_000_000);
    assertThat(d.stopReason()).isEqualTo(RetryPolicy.StopReason.NOT_RETRYABLE_OUTCOME);
    call.finish();

    // The route lists no HTTP status, so an HTTP client's 503 (no gRPC code) is not retried.
    OutboundCall http = runtime.route(Requests.request("POST", "hello", 8080, "/", Map.of()));
    http.admit(true, 0);
    assertThat(http.attemptFinished(http.nextEndpoint(), AttemptOutcome.status(503), 1).stopReason())
        .isEqualTo(RetryPolicy.StopReason.NOT_RETRYABLE_OUTCOME);
  }

  @Test
  void anEmptyBudgetStopsRetries() throws Exception {
    MeshRuntime runtime = runtime("{retryBudget: {ratio: 0.0, minPerSecond: 0, ttl: 10s}}", "");
    OutboundCall call = get(runtime);
    call.admit(true, 0);

    RetryPolicy.Decision d = call.attemptFinished(call.nextEndpoint(), AttemptOutcome.status(503), 1);

    assertThat(d.stopReason()).isEqualTo(RetryPolicy.StopReason.BUDGET_EXHAUSTED);
  }

  @Test
  void theRouteTimeoutBoundsEveryAttemptAndEndsTheCall() throws Exception {
    MeshRuntime runtime = runtime("", "timeout: 100ms\n        retry: {perTryTimeout: 30ms}");
    OutboundCall call = get(runtime);
    call.admit(true, 0);

    assertThat(call.attemptTimeoutNanos()).isEqualTo(Duration.ofMillis(30).toNanos());
    assertThat(call.deadlineHeaderValue()).isEqualTo("100");
    ticker.advance(Duration.ofMillis(80));
    // 20 ms left: the deadline, not the per-try timeout, bounds the next attempt.
    assertThat(call.attemptTimeoutNanos()).isEqualTo(Duration.ofMillis(20).toNanos());
    assertThat(call.deadlineHeaderValue()).isEqualTo("20");
    Endpoint e = call.nextEndpoint();
    ticker.advance(Duration.ofMillis(25));

    RetryPolicy.Decision d = call.attemptFinished(e, AttemptOutcome.timeout(), 25_000_000);

    assertThat(d.stopReason()).isEqualTo(RetryPolicy.StopReason.DEADLINE);
    assertThat(call.deadlineExpired()).isTrue();
    assertThat(call.attemptTimeoutNanos()).isZero();
    assertThat(call.deadlineMessage())
        .isEqualTo("jmesh: hello.default: deadline exceeded after 105 ms (budget: 100 ms) (route api)");
  }

  @Test
  void aDeadlineTheRequestCarriesIsHonoured() throws Exception {
    MeshRuntime runtime = runtime("", "timeout: 5s");
    OutboundCall call =
        runtime.route(Requests.request("GET", "hello", 8080, "/", Map.of(DeadlineHeader.NAME, "250")));
    call.admit(true, 0);

    // The earlier of the route's 5 s and the caller's 250 ms.
    assertThat(call.deadlineHeaderValue()).isEqualTo("250");
  }

  @Test
  void ejectsAFailingEndpointAndProbesItAfterThePenalty() throws Exception {
    MeshRuntime runtime =
        runtime("{failureAccrual: {consecutiveFailures: 3, minPenalty: 1s, maxPenalty: 1m, jitter: 0}}", "");
    Endpoint bad = get(runtime).nextEndpoint();
    for (int i = 0; i < 3; i++) {
      OutboundCall call = get(runtime);
      call.attemptFinished(bad, AttemptOutcome.connectFailure(), 1);
    }

    Set<Endpoint> picked = new HashSet<>();
    for (int i = 0; i < 200; i++) {
      OutboundCall call = get(runtime);
      Endpoint e = call.nextEndpoint();
      picked.add(e);
      call.attemptFinished(e, AttemptOutcome.success(), 1);
    }
    assertThat(picked).hasSize(2).doesNotContain(bad);

    // After the penalty, exactly one request probes it; its success puts it back in rotation.
    ticker.advance(Duration.ofSeconds(1));
    int probes = 0;
    for (int i = 0; i < 200 && probes == 0; i++) {
      OutboundCall call = get(runtime);
      Endpoint e = call.nextEndpoint();
      if (e.equals(bad)) {
        probes++;
        call.attemptFinished(e, AttemptOutcome.success(), 1);
      } else {
        call.attemptFinished(e, AttemptOutcome.success(), 1);
      }
    }
    assertThat(probes).isEqualTo(1);
    picked.clear();
    for (int i = 0; i < 300; i++) {
      OutboundCall call = get(runtime);
      Endpoint e = call.nextEndpoint();
      picked.add(e);
      call.attemptFinished(e, AttemptOutcome.success(), 1);
    }
    assertThat(picked).contains(bad);
  }

  @Test
  void theRateLimitRefusesWith429AndRefills() throws Exception {
    MeshRuntime runtime = runtime("{rateLimit: {requestsPerSecond: 10, burst: 2}}", "");

    assertThat(get(runtime).admit(true, 0).isRefused()).isFalse();
    assertThat(get(runtime).admit(true, 0).isRefused()).isFalse();
    Admission third = get(runtime).admit(true, 0);
    assertThat(third.refusal()).isEqualTo(Admission.Refusal.RATE_LIMITED);
    assertThat(third.status()).isEqualTo(429);
    assertThat(third.reason()).isEqualTo(
        "jmesh: hello.default: local rate limit of 10 requests/s (burst 2) exceeded");

    ticker.advance(Duration.ofMillis(100)); // one request's worth at 10/s
    assertThat(get(runtime).admit(true, 0).isRefused()).isFalse();
    assertThat(get(runtime).admit(true, 0).isRefused()).isTrue();
  }

  @Test
  void theInFlightCapFailsFastAndFreesItsSlotOnFinish() throws Exception {
    MeshRuntime runtime = runtime("{maxInFlight: 1}", "");
    OutboundCall first = get(runtime);
    assertThat(first.admit(true, 0).isRefused()).isFalse();

    Admission second = get(runtime).admit(true, 0);
    assertThat(second.refusal()).isEqualTo(Admission.Refusal.OVERLOADED);
    assertThat(second.status()).isEqualTo(503);

    first.finish();
    first.finish(); // idempotent: gives the slot back once
    OutboundCall third = get(runtime);
    assertThat(third.admit(true, 0).isRefused()).isFalse();
    assertThat(get(runtime).admit(true, 0).isRefused()).isTrue();
  }

  @Test
  void aPendingCallWaitsForASlot() throws Exception {
    MeshRuntime runtime = runtime("{maxInFlight: 1, maxPending: 1}", "");
    OutboundCall first = get(runtime);
    first.admit(true, 0);

    OutboundCall waiting = get(runtime);
    Admission a = waiting.admit(true, 0);
    assertThat(a.isRefused()).isFalse();
    assertThat(a.slot()).isNotDone();
    assertThat(get(runtime).admit(true, 0).refusal()).isEqualTo(Admission.Refusal.OVERLOADED);

    first.finish();
    assertThat(a.slot()).isCompleted();
    waiting.finish();
  }

  @Test
  void faultInjectionAbortsOrDelaysTheShareAsked() throws Exception {
    MeshRuntime runtime =
        runtime("", "fault: {abort: {percent: 30, status: 418}, delay: {percent: 50, duration: 200ms}}");
    int aborted = 0;
    int delayed = 0;
    for (int i = 0; i < 2000; i++) {
      Admission a = get(runtime).admit(true, 0);
      if (a.isRefused()) {
        assertThat(a.status()).isEqualTo(418);
        assertThat(a.refusal()).isEqualTo(Admission.Refusal.FAULT_ABORT);
        aborted++;
      } else if (a.delayNanos() > 0) {
        assertThat(a.delayNanos()).isEqualTo(Duration.ofMillis(200).toNanos());
        delayed++;
      }
    }
    // binomial(2000, 0.3): mean 600, sd 20; of the 1400 left, half delayed: mean 700, sd 19.
    assertThat(aborted).isBetween(500, 700);
    assertThat(delayed).isBetween(600, 800);
  }

  @Test
  void theDefaultBalancerIsPeakEwmaAndPrefersTheFastEndpoint() throws Exception {
    MeshRuntime runtime = runtime("", "");
    Map<Endpoint, Integer> counts = new java.util.HashMap<>();
    for (int i = 0; i < 1000; i++) {
      OutboundCall call = get(runtime);
      Endpoint e = call.nextEndpoint();
      counts.merge(e, 1, Integer::sum);
      // 10.0.0.3 answers in 50 ms, the others in 5 ms.
      long latency = e.host().equals("10.0.0.3") ? 50_000_000 : 5_000_000;
      ticker.advance(Duration.ofMillis(1));
      call.attemptFinished(e, AttemptOutcome.success(), latency);
    }
    int slow = counts.entrySet().stream().filter(x -> x.getKey().host().equals("10.0.0.3")).mapToInt(Map.Entry::getValue).sum();
    assertThat(slow).as("%s", counts).isLessThan(50);
  }

  @Test
  void failsOverToTheNextPriorityInProportionAndComesBack() throws Exception {
    String yaml =
        String.join(
            "\n",
            "services:",
            "  - name: hello",
            "    ports: [8080]",
            "    endpoints:",
            "      - {address: 10.0.0.1, port: 80}",
            "      - {address: 10.0.0.2, port: 80}",
            "      - {address: 10.1.0.1, port: 80, priority: 1}",
            "    policy: {balancer: round-robin, failureAccrual: {consecutiveFailures: 1, minPenalty: 10s, maxPenalty: 1m, jitter: 0}, maxEjectionPercent: 100}",
            "");
    MeshRuntime runtime = runtimeOf(yaml);

    // All of priority 0 is healthy: the remote endpoint gets nothing.
    assertThat(hostsOf(runtime, 400)).doesNotContainKey("10.1.0.1");

    // One of two local endpoints fails and is ejected: health 1.4 x 1/2 = 70 %, so 70 % stays
    // local and 30 % spills to priority 1.
    OutboundCall failing = get(runtime);
    Endpoint e;
    do {
      e = failing.nextEndpoint();
    } while (!e.host().equals("10.0.0.1"));
    failing.attemptFinished(e, AttemptOutcome.connectFailure(), 1);
    Map<String, Integer> spilled = hostsOf(runtime, 1000);
    assertThat(spilled).doesNotContainKey("10.0.0.1");
    // binomial(1000, 0.3): mean 300, sd 14.5.
    assertThat(spilled.get("10.1.0.1")).as("%s", spilled).isBetween(230, 370);

    // Once the penalty is over and the probe succeeds, traffic comes home.
    ticker.advance(Duration.ofSeconds(10));
    OutboundCall probe = get(runtime);
    Endpoint p = probe.nextEndpoint();
    assertThat(p.host()).isEqualTo("10.0.0.1");
    probe.attemptFinished(p, AttemptOutcome.success(), 1);
    assertThat(hostsOf(runtime, 400)).doesNotContainKey("10.1.0.1");
  }

  private static Map<String, Integer> hostsOf(MeshRuntime runtime, int calls) {
    Map<String, Integer> counts = new java.util.TreeMap<>();
    for (int i = 0; i < calls; i++) {
      OutboundCall call = get(runtime);
      Endpoint e = call.nextEndpoint();
      counts.merge(e.host(), 1, Integer::sum);
      call.attemptFinished(e, AttemptOutcome.success(), 1);
    }
    return counts;
  }
}
