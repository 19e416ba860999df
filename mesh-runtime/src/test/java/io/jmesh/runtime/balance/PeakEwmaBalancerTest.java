package io.jmesh.runtime.balance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.jmesh.runtime.Endpoint;
import io.jmesh.runtime.config.ServiceEndpoint;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class PeakEwmaBalancerTest {
  private static final Endpoint A = ServiceEndpoint.of("10.0.0.1", 80);
  private static final Endpoint B = ServiceEndpoint.of("10.0.0.2", 80);
  private static final Endpoint C = ServiceEndpoint.of("10.0.0.3", 80);
  private static final Duration TAU = Duration.ofSeconds(10);
  private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

  private final TestHelper helper = new TestHelper(7);
  private final PeakEwmaBalancer lb =
      (PeakEwmaBalancer) Balancers.peakEwma().newLoadBalancer(helper);

  /** The stored estimate of {@code e}, in milliseconds. */
  private double estimateMs(Endpoint e) {
    return lb.state(e).estimate.get().nanos() / MS;
  }

  /** The estimate as a pick reads it now, in milliseconds. */
  private double latencyMs(Endpoint e) {
    return lb.state(e).latencyNanos(helper.ticker.nanoTime(), TAU.toNanos()) / MS;
  }

  private void attempt(Endpoint e, boolean success, long latencyMs) {
    lb.attemptStarted(e);
    lb.attemptFinished(e, success, latencyMs * MS);
  }

  @Test
  void aNewEndpointStartsAtThePrior() {
    lb.updateEndpoints(List.of(A));
    assertThat(estimateMs(A)).isEqualTo(30.0);
  }

  @Test
  void aSlowerSampleReplacesTheEstimateAtOnce() {
    lb.updateEndpoints(List.of(A));

    attempt(A, true, 100);

    assertThat(estimateMs(A)).isEqualTo(100.0);
  }

  @Test
  void aFasterSampleMovesTheEstimateByTheTimeSinceTheLastOne() {
    lb.updateEndpoints(List.of(A));
    attempt(A, true, 100);

    // A sample at the same instant carries no weight: w = exp(0) = 1.
    attempt(A, true, 10);
    assertThat(estimateMs(A)).isCloseTo(100.0, within(1e-9));

    // One τ later, the old estimate weighs 1/e: 100/e + 10 (1 - 1/e).
    helper.ticker.advance(TAU);
    attempt(A, true, 10);
    double w = Math.exp(-1);
    assertThat(estimateMs(A)).isCloseTo(100 * w + 10 * (1 - w), within(1e-6)); // ≈ 43.1 ms

    // Many τ later, the past is forgotten.
    helper.ticker.advance(TAU.multipliedBy(30));
    attempt(A, true, 10);
    assertThat(estimateMs(A)).isCloseTo(10.0, within(1e-6));
  }

  @Test
  void anIdleEndpointDecaysTowardsZeroButNotWhileARequestIsInFlight() {
    lb.updateEndpoints(List.of(A));
    attempt(A, true, 100);

    helper.ticker.advance(TAU);
    assertThat(latencyMs(A)).isCloseTo(100 * Math.exp(-1), within(1e-6));
    assertThat(estimateMs(A)).isEqualTo(100.0); // Reading stores nothing.

    // A request in flight: the estimate holds, so a hung endpoint does not grow attractive.
    lb.attemptStarted(A);
    helper.ticker.advance(TAU);
    assertThat(latencyMs(A)).isEqualTo(100.0);
  }

  @Test
  void costMultipliesLatencyByRequestsInFlight() {
    lb.updateEndpoints(List.of(A, B));
    attempt(A, true, 10);
    attempt(B, true, 30);
    long now = helper.ticker.nanoTime();
    double tau = TAU.toNanos();

    // At the instant of the prior a faster sample carries no weight: A is still at 30 ms.
    assertThat(lb.state(A).load(now, tau) / MS).isEqualTo(30.0);
    // Many τ later, a sample of 10 ms replaces the prior.
    helper.ticker.advance(TAU.multipliedBy(30));
    attempt(A, true, 10);
    attempt(B, true, 30);
    now = helper.ticker.nanoTime();
    assertThat(lb.state(A).load(now, tau) / MS).isCloseTo(10.0, within(1e-6));

    // Three requests in flight on A: cost 10 × 4 = 40 > B's 30, so B wins every comparison.
    lb.attemptStarted(A);
    lb.attemptStarted(A);
    lb.attemptStarted(A);
    assertThat(lb.state(A).load(now, tau) / MS).isCloseTo(40.0, within(1e-6));
    for (int i = 0; i < 100; i++) {
      assertThat(lb.picker().pick(null)).isEqualTo(B);
    }

    // Two finish: 10 × 2 = 20 < 30, A wins again.
    lb.attemptFinished(A, true, 10 * MS);
    lb.attemptFinished(A, true, 10 * MS);
    for (int i = 0; i < 100; i++) {
      assertThat(lb.picker().pick(null)).isEqualTo(A);
    }
  }

  @Test
  void aFinishWithoutAStartDoesNotDriveInFlightNegative() {
    lb.updateEndpoints(List.of(A));
    lb.attemptFinished(A, true, MS);
    lb.attemptFinished(A, true, MS);
    assertThat(lb.state(A).inFlight.get()).isZero();
  }

  @Test
  void powerOfTwoChoicesStarvesTheSlowEndpoint() {
    lb.updateEndpoints(List.of(A, B, C));
    Map<Endpoint, Long> latencyMs = Map.of(A, 1L, B, 1L, C, 50L);

    // Sequential traffic: each attempt is sent, time moves by its latency, it finishes.
    Map<Endpoint, Integer> counts = new HashMap<>();
    int n = 10_000;
    for (int i = 0; i < n; i++) {
      Endpoint e = lb.picker().pick(null);
      counts.merge(e, 1, Integer::sum);
      lb.attemptStarted(e);
      helper.ticker.advance(latencyMs.get(e), TimeUnit.MILLISECONDS);
      lb.attemptFinished(e, true, latencyMs.get(e) * MS);
    }

    // C is sampled while A and B are still at the prior, then loses every comparison (a
    // latency-blind balancer would give it a third).
    assertThat(counts.getOrDefault(C, 0)).isLessThan(n / 10);
    assertThat(counts.get(A)).isBetween(n * 4 / 10, n * 6 / 10);
    assertThat(counts.get(B)).isBetween(n * 4 / 10, n * 6 / 10);
  }

  /** One sequential call: pick, send, time moves by its latency, it finishes. Returns the pick. */
  private Endpoint call(Map<Endpoint, Long> latencyMs) {
    Endpoint e = lb.picker().pick(null);
    lb.attemptStarted(e);
    helper.ticker.advance(latencyMs.get(e), TimeUnit.MILLISECONDS);
    lb.attemptFinished(e, true, latencyMs.get(e) * MS);
    return e;
  }

  @Test
  void oneStalledAnswerOfTheFastEndpointHandsTheSlowOneEveryCallUntilTheStallDecays() {
    // The conformance suite's old balancesTowardTheFastEndpoint, on a fake clock: sequential calls,
    // A answers in 1 ms, C in 40 ms.
    lb.updateEndpoints(List.of(A, C));
    Map<Endpoint, Long> latencyMs = new HashMap<>(Map.of(A, 1L, C, 40L));
    Map<Endpoint, Integer> counts = new HashMap<>();
    for (int i = 0; i < 20; i++) {
      counts.merge(call(latencyMs), 1, Integer::sum);
    }
    // C is measured once, then A wins. A's samples weigh about Δt/τ each, so after 20 calls its
    // estimate still sits at the 30 ms prior, not at its 1 ms.
    assertThat(counts.get(C)).isEqualTo(1);
    assertThat(estimateMs(A)).isBetween(29.0, 30.0);

    // One answer of A stalls (a GC pause, a busy CPU): peak sensitivity believes it at once.
    latencyMs.put(A, 120L);
    assertThat(call(latencyMs)).isEqualTo(A);
    latencyMs.put(A, 1L);
    assertThat(estimateMs(A)).isEqualTo(120.0);

    // C, fast or not, now takes every call until A's idle 120 ms decays below C's 40 ms:
    // τ·ln(120 / 40) ≈ 11 s, about 275 of C's 40 ms calls. A count-based bound on 100 calls
    // cannot hold against such a stall, whatever the client does.
    int streak = 0;
    while (streak < 1000 && call(latencyMs).equals(C)) {
      streak++;
    }
    assertThat(streak).isBetween(270, 280);
  }

  @Test
  void aSlowEndpointLeftIdleIsProbedAgain() {
    lb.updateEndpoints(List.of(A, C));
    // Forget the prior: a sample long after the previous one carries (almost) all the weight.
    helper.ticker.advance(TAU.multipliedBy(30));
    attempt(A, true, 1);
    attempt(C, true, 50);
    assertThat(lb.picker().pick(null)).isEqualTo(A);

    // Only A has been used since. C's 50 ms falls below A's 1 ms after τ·ln 50 ≈ 39 s.
    helper.ticker.advance(Duration.ofSeconds(35));
    attempt(A, true, 1);
    assertThat(lb.picker().pick(null)).isEqualTo(A);
    helper.ticker.advance(Duration.ofSeconds(5));
    attempt(A, true, 1);
    assertThat(lb.picker().pick(null)).isEqualTo(C);
  }

  @Test
  void failuresArePenalisedSoAFastFailingEndpointIsNotPreferred() {
    lb.updateEndpoints(List.of(A, B));
    helper.ticker.advance(TAU.multipliedBy(30));
    attempt(A, true, 10);
    attempt(B, true, 10);
    helper.ticker.advance(TAU.multipliedBy(30));
    attempt(A, true, 10);
    attempt(B, true, 10);
    assertThat(estimateMs(B)).isCloseTo(10.0, within(1e-6));

    // B fails in 0 ms (connection refused): counted as twice its estimate, not as 0 ms.
    attempt(B, false, 0);
    assertThat(estimateMs(B)).isCloseTo(20.0, within(1e-6));
    attempt(B, false, 0);
    assertThat(estimateMs(B)).isCloseTo(40.0, within(1e-6));
    for (int i = 0; i < 100; i++) {
      assertThat(lb.picker().pick(null)).isEqualTo(A);
    }

    // A slow failure counts at least its latency.
    attempt(B, false, 500);
    assertThat(estimateMs(B)).isEqualTo(500.0);

    // A long failure streak stops at the ceiling, so that B can recover.
    for (int i = 0; i < 100; i++) {
      attempt(B, false, 0);
    }
    assertThat(lb.state(B).estimate.get().nanos())
        .isEqualTo(PeakEwmaBalancer.MAX_FAILURE_PENALTY_NANOS);
  }

  @Test
  void weightsDivideTheCost() {
    Endpoint heavy = new ServiceEndpoint("10.0.0.9", 80, 3, Map.of());
    lb.updateEndpoints(List.of(heavy, B));

    // Equal latencies (the prior) and requests that do not finish: P2C balances
    // (inFlight + 1) / weight, so the weight-3 endpoint holds about three times as many.
    Map<Endpoint, Integer> counts = new HashMap<>();
    for (int i = 0; i < 40; i++) {
      Endpoint e = lb.picker().pick(null);
      lb.attemptStarted(e);
      counts.merge(e, 1, Integer::sum);
    }

    // Balance point: (h + 1) / 3 = b + 1 with h + b = 40, so h ≈ 30.5.
    assertThat(counts.get(heavy)).isBetween(29, 32);
  }

  @Test
  void stateOfKeptEndpointsSurvivesAnUpdateAndStateOfRemovedOnesIsDropped() {
    lb.updateEndpoints(List.of(A, B));
    attempt(A, true, 100);
    lb.attemptStarted(A);

    // A is kept, C added, B removed.
    lb.updateEndpoints(List.of(A, C));
    assertThat(estimateMs(A)).isEqualTo(100.0);
    assertThat(lb.state(A).inFlight.get()).isOne();
    assertThat(estimateMs(C)).isEqualTo(30.0);
    assertThat(lb.state(B)).isNull();

    // A leaves and comes back: it starts afresh at the prior.
    lb.updateEndpoints(List.of(C));
    assertThat(lb.state(A)).isNull();
    lb.updateEndpoints(List.of(A, C));
    assertThat(estimateMs(A)).isEqualTo(30.0);
    // The finish of the attempt started before A left does not go below zero.
    lb.attemptFinished(A, true, 100 * MS);
    assertThat(lb.state(A).inFlight.get()).isZero();
  }

  @Test
  void optionsAreHonoured() {
    TestHelper h = new TestHelper(1);
    PeakEwmaBalancer custom =
        (PeakEwmaBalancer)
            Balancers.peakEwma(
                    PeakEwmaOptions.defaults()
                        .withRttPrior(Duration.ofMillis(5))
                        .withDecay(Duration.ofSeconds(1)))
                .newLoadBalancer(h);
    custom.updateEndpoints(List.of(A));
    assertThat(custom.state(A).estimate.get().nanos()).isEqualTo(5.0 * MS);

    custom.attemptStarted(A);
    custom.attemptFinished(A, true, 100 * MS);
    h.ticker.advance(Duration.ofSeconds(1));
    custom.attemptStarted(A);
    custom.attemptFinished(A, true, 0);
    assertThat(custom.state(A).estimate.get().nanos() / MS)
        .isCloseTo(100 * Math.exp(-1), within(1e-6));
  }
}
