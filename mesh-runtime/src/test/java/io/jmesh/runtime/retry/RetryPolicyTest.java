package io.jmesh.runtime.retry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmesh.runtime.deadline.Deadline;
import io.jmesh.runtime.retry.RetryPolicy.Decision;
import io.jmesh.runtime.retry.RetryPolicy.RetryOn;
import io.jmesh.runtime.retry.RetryPolicy.StopReason;
import io.jmesh.runtime.time.FakeTicker;
import java.time.Duration;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RetryPolicyTest {
  private static final Backoff NO_JITTER = Backoff.exponential(
      Duration.ofMillis(25), Duration.ofMillis(250), 0, new SplittableRandom(1));
  private static final RequestFacts GET = RequestFacts.noBody("GET");

  private final FakeTicker ticker = new FakeTicker();
  private final RetryBudget budget = RetryBudget.create(ticker);
  private final RetryPolicy policy = RetryPolicy.builder().backoff(NO_JITTER).build();

  private Decision decide(RetryPolicy p, AttemptOutcome outcome, int attempts, RequestFacts facts) {
    return p.decide(outcome, attempts, facts, ticker.nanoTime(), null, budget);
  }

  @ParameterizedTest(name = "{0} retryable: {1}")
  @CsvSource({
    "GET, true", "HEAD, true", "OPTIONS, true", "TRACE, true", "PUT, true", "DELETE, true",
    "get, true",
    "POST, false", "PATCH, false", "CONNECT, false", "PROPFIND, false"
  })
  void idempotentMethodsOfRfc9110AreRetryable(String method, boolean retryable) {
    assertThat(policy.isRetryableMethod(method)).isEqualTo(retryable);
    Decision d = decide(policy, AttemptOutcome.status(503), 1, RequestFacts.noBody(method));
    assertThat(d.isRetry()).isEqualTo(retryable);
    if (!retryable) {
      assertThat(d.stopReason()).isEqualTo(StopReason.NOT_IDEMPOTENT);
    }
  }

  @Test
  void postIsRetriedOnlyWhenTheRouteSaysSo() {
    RequestFacts post = new RequestFacts("POST", true, 120);
    assertThat(decide(policy, AttemptOutcome.reset(), 1, post).stopReason())
        .isEqualTo(StopReason.NOT_IDEMPOTENT);
    assertThat(decide(policy, AttemptOutcome.timeout(), 1, post).stopReason())
        .isEqualTo(StopReason.NOT_IDEMPOTENT);

    RetryPolicy retryable =
        RetryPolicy.builder().backoff(NO_JITTER).retryNonIdempotent(true).build();
    assertThat(retryable.isRetryableMethod("POST")).isTrue();
    assertThat(decide(retryable, AttemptOutcome.reset(), 1, post).isRetry()).isTrue();
  }

  @Test
  void connectFailureIsRetriedForAnyMethodBecauseNothingWasSent() {
    RequestFacts post = new RequestFacts("POST", true, 120);
    assertThat(decide(policy, AttemptOutcome.connectFailure(), 1, post).isRetry()).isTrue();

    // Nor was any of the body read: clients write it only on an established connection, so
    // even a one-shot stream of unknown size goes to the next endpoint intact.
    RequestFacts stream = new RequestFacts("POST", false, -1);
    assertThat(decide(policy, AttemptOutcome.connectFailure(), 1, stream).isRetry()).isTrue();
  }

  @Test
  void bodyMustBeReplayableAndSmallEnough() {
    assertThat(decide(policy, AttemptOutcome.status(503), 1, new RequestFacts("PUT", false, 10))
            .stopReason())
        .isEqualTo(StopReason.BODY_NOT_REPLAYABLE);
    assertThat(decide(policy, AttemptOutcome.status(503), 1, new RequestFacts("PUT", true, 65_536))
            .isRetry())
        .isTrue();
    assertThat(decide(policy, AttemptOutcome.status(503), 1, new RequestFacts("PUT", true, 65_537))
            .stopReason())
        .isEqualTo(StopReason.BODY_TOO_LARGE);
    // A body of unknown length cannot be promised to fit the replay buffer.
    assertThat(decide(policy, AttemptOutcome.status(503), 1, new RequestFacts("PUT", true, -1))
            .stopReason())
        .isEqualTo(StopReason.BODY_TOO_LARGE);

    RetryPolicy small = RetryPolicy.builder().backoff(NO_JITTER).maxReplayBodyBytes(1024).build();
    assertThat(decide(small, AttemptOutcome.status(503), 1, new RequestFacts("PUT", true, 1025))
            .stopReason())
        .isEqualTo(StopReason.BODY_TOO_LARGE);
    assertThat(decide(small, AttemptOutcome.status(503), 1, GET).isRetry()).isTrue();
  }

  @ParameterizedTest(name = "{0} retried by default: {1}")
  @CsvSource({
    "502, true", "503, true", "504, true",
    "500, false", "501, false", "429, false", "404, false", "409, false"
  })
  void defaultStatusesAreTheGatewayErrors(int status, boolean retried) {
    Decision d = decide(policy, AttemptOutcome.status(status), 1, GET);
    assertThat(d.isRetry()).isEqualTo(retried);
    if (!retried) {
      assertThat(d.stopReason()).isEqualTo(StopReason.NOT_RETRYABLE_OUTCOME);
    }
  }

  @Test
  void routeListedStatusesAreAddedToTheDefaults() {
    RetryPolicy p = RetryPolicy.builder().backoff(NO_JITTER).retryOnStatus(429, 500).build();
    assertThat(p.retryableStatuses()).containsExactly(429, 500, 502, 503, 504);
    assertThat(decide(p, AttemptOutcome.status(429), 1, GET).isRetry()).isTrue();
    assertThat(decide(p, AttemptOutcome.status(500), 1, GET).isRetry()).isTrue();
    assertThat(decide(p, AttemptOutcome.status(501), 1, GET).isRetry()).isFalse();
    assertThatThrownBy(() -> RetryPolicy.builder().retryOnStatus(503, 600))
        .hasMessage("retryOnStatus: 600 (expected: 100..599)");
  }

  @Test
  void successAndOtherErrorsStop() {
    assertThat(decide(policy, AttemptOutcome.success(), 1, GET).stopReason())
        .isEqualTo(StopReason.SUCCEEDED);
    assertThat(decide(policy, AttemptOutcome.status(204), 1, GET).stopReason())
        .isEqualTo(StopReason.SUCCEEDED);
    assertThat(decide(policy, AttemptOutcome.status(302), 1, GET).stopReason())
        .isEqualTo(StopReason.SUCCEEDED);
    assertThat(decide(policy, AttemptOutcome.otherError(), 1, GET).stopReason())
        .isEqualTo(StopReason.NOT_RETRYABLE_OUTCOME);
  }

  @Test
  void failuresWithoutStatusCanBeTurnedOff() {
    RetryPolicy onlyConnect =
        RetryPolicy.builder().backoff(NO_JITTER).retryOn(Set.of(RetryOn.CONNECT_FAILURE)).build();
    assertThat(decide(onlyConnect, AttemptOutcome.connectFailure(), 1, GET).isRetry()).isTrue();
    assertThat(decide(onlyConnect, AttemptOutcome.reset(), 1, GET).stopReason())
        .isEqualTo(StopReason.NOT_RETRYABLE_OUTCOME);
    assertThat(decide(onlyConnect, AttemptOutcome.timeout(), 1, GET).stopReason())
        .isEqualTo(StopReason.NOT_RETRYABLE_OUTCOME);
    assertThat(RetryPolicy.builder().retryOn(Set.of()).build()
            .isRetryableOutcome(AttemptOutcome.connectFailure()))
        .isFalse();
  }

  @Test
  void stopsAfterMaxAttemptsWithBackoffBetween() {
    // Three attempts in total by default: two retries, 25 ms then 50 ms apart.
    Decision first = decide(policy, AttemptOutcome.status(503), 1, GET);
    Decision second = decide(policy, AttemptOutcome.reset(), 2, GET);
    Decision third = decide(policy, AttemptOutcome.status(503), 3, GET);

    assertThat(first.isRetry()).isTrue();
    assertThat(first.delay()).isEqualTo(Duration.ofMillis(25));
    assertThat(second.delay()).isEqualTo(Duration.ofMillis(50));
    assertThat(third.stopReason()).isEqualTo(StopReason.MAX_ATTEMPTS);
    assertThat(third.delay()).isEqualTo(Duration.ZERO);
    assertThat(third.toString()).isEqualTo("STOP (max_attempts)");
    assertThat(first.toString()).isEqualTo("RETRY after PT0.025S");

    RetryPolicy five = RetryPolicy.builder().backoff(NO_JITTER).maxAttempts(5).build();
    assertThat(decide(five, AttemptOutcome.status(503), 4, GET).delay())
        .isEqualTo(Duration.ofMillis(200));
    assertThat(decide(five, AttemptOutcome.status(503), 5, GET).stopReason())
        .isEqualTo(StopReason.MAX_ATTEMPTS);

    RetryPolicy once = RetryPolicy.builder().maxAttempts(1).build();
    assertThat(decide(once, AttemptOutcome.connectFailure(), 1, GET).stopReason())
        .isEqualTo(StopReason.MAX_ATTEMPTS);
  }

  @Test
  void expiredDeadlineStopsWhateverTheOutcome() {
    Deadline deadline = Deadline.after(Duration.ofMillis(100), ticker);
    ticker.advance(Duration.ofMillis(100));

    for (AttemptOutcome outcome : new AttemptOutcome[] {
      AttemptOutcome.timeout(), AttemptOutcome.connectFailure(), AttemptOutcome.status(503),
      AttemptOutcome.status(500)}) {
      Decision d = policy.decide(outcome, 1, GET, ticker.nanoTime(), deadline, budget);
      assertThat(d.stopReason()).as("%s", outcome).isEqualTo(StopReason.DEADLINE);
    }
    // A response that made it in time is still the answer.
    assertThat(policy.decide(AttemptOutcome.success(), 1, GET, ticker.nanoTime(), deadline, budget)
            .stopReason())
        .isEqualTo(StopReason.SUCCEEDED);
  }

  @Test
  void doesNotRetryWhenTheBackoffWouldOutlastTheDeadline() {
    Deadline deadline = Deadline.after(Duration.ofMillis(100), ticker);
    ticker.advance(Duration.ofMillis(70));
    // 30 ms left: the 25 ms backoff fits.
    assertThat(policy.decide(AttemptOutcome.status(503), 1, GET, ticker.nanoTime(), deadline,
            budget).isRetry())
        .isTrue();
    // The second retry would wait 50 ms: past the deadline.
    assertThat(policy.decide(AttemptOutcome.status(503), 2, GET, ticker.nanoTime(), deadline,
            budget).stopReason())
        .isEqualTo(StopReason.DEADLINE);
    // Decisions that stop take nothing from the budget: 10 - 1 left.
    assertThat(budget.available()).isEqualTo(9);
  }

  @Test
  void exhaustedBudgetStopsAndOnlyRetriesWithdraw() {
    for (int i = 0; i < 10; i++) {
      assertThat(decide(policy, AttemptOutcome.status(503), 1, GET).isRetry()).isTrue();
    }
    assertThat(decide(policy, AttemptOutcome.status(503), 1, GET).stopReason())
        .isEqualTo(StopReason.BUDGET_EXHAUSTED);
    assertThat(StopReason.BUDGET_EXHAUSTED.label()).isEqualTo("budget_exhausted");

    // A new second brings the floor back.
    ticker.advance(Duration.ofSeconds(1));
    assertThat(decide(policy, AttemptOutcome.status(503), 1, GET).isRetry()).isTrue();
  }

  @Test
  void attemptTimeoutCombinesPerTryTimeoutAndDeadline() {
    RetryPolicy p = RetryPolicy.builder().perTryTimeout(Duration.ofMillis(200)).build();
    Deadline deadline = Deadline.after(Duration.ofMillis(500), ticker);
    assertThat(p.attemptTimeout(deadline)).isEqualTo(Duration.ofMillis(200));
    ticker.advance(Duration.ofMillis(400));
    assertThat(p.attemptTimeout(deadline)).isEqualTo(Duration.ofMillis(100));
    assertThat(p.attemptTimeout(null)).isEqualTo(Duration.ofMillis(200));
    assertThat(RetryPolicy.defaults().attemptTimeout(null)).isNull();
  }

  @Test
  void defaultsAreTheDocumentedOnes() {
    RetryPolicy d = RetryPolicy.defaults();
    assertThat(d.maxAttempts()).isEqualTo(3);
    assertThat(d.retryOn()).containsExactlyInAnyOrder(RetryOn.values());
    assertThat(d.retryableStatuses()).containsExactly(502, 503, 504);
    assertThat(d.retryNonIdempotent()).isFalse();
    assertThat(d.maxReplayBodyBytes()).isEqualTo(64 * 1024);
    assertThat(d.perTryTimeout()).isNull();
    assertThat(d.backoff()).isSameAs(Backoff.defaults());
  }

  @Test
  void rejectsBadValues() {
    assertThatThrownBy(() -> RetryPolicy.builder().maxAttempts(0))
        .hasMessage("maxAttempts: 0 (expected: >= 1)");
    assertThatThrownBy(() -> RetryPolicy.builder().maxReplayBodyBytes(-1))
        .hasMessage("maxReplayBodyBytes: -1 (expected: >= 0)");
    assertThatThrownBy(() -> RetryPolicy.builder().perTryTimeout(Duration.ZERO))
        .hasMessage("perTryTimeout: PT0S (expected: > 0, or null for none)");
    assertThatThrownBy(() -> decide(policy, AttemptOutcome.reset(), 0, GET))
        .hasMessage("attemptsSoFar: 0 (expected: >= 1)");
    assertThatThrownBy(() -> AttemptOutcome.status(99))
        .hasMessage("status: 99 (expected: 100..599)");
    assertThatThrownBy(() -> new RequestFacts("PUT", true, -2))
        .hasMessage("bodyLength: -2 (expected: >= -1)");
  }

  @Test
  void outcomesAreValues() {
    assertThat(AttemptOutcome.status(503)).isEqualTo(AttemptOutcome.status(503))
        .hasSameHashCodeAs(AttemptOutcome.status(503))
        .isNotEqualTo(AttemptOutcome.status(502));
    assertThat(AttemptOutcome.status(503)).hasToString("HTTP_STATUS(503)");
    assertThat(AttemptOutcome.reset()).hasToString("RESET");
  }

  // gRPC attempts: the adapter maps the code to HTTP for the breaker (UNAVAILABLE 503, INTERNAL
  // 500, DEADLINE_EXCEEDED a timeout) and attaches the code itself for the route's gRPC conditions.
  private static final AttemptOutcome UNAVAILABLE = AttemptOutcome.status(503).withGrpcStatus(14);
  private static final AttemptOutcome INTERNAL = AttemptOutcome.status(500).withGrpcStatus(13);
  private static final AttemptOutcome DEADLINE_EXCEEDED = AttemptOutcome.timeout().withGrpcStatus(4);
  private static final AttemptOutcome OK = AttemptOutcome.status(200).withGrpcStatus(0);
  private static final RequestFacts RPC = new RequestFacts("POST", true, 0);

  @Test
  void grpcCodesMatchTheAttemptsOwnCodeNotTheStatusItMapsTo() {
    // retry.on: [internal, deadline-exceeded], nonIdempotent: true (gRPC methods are POSTs).
    RetryPolicy p =
        RetryPolicy.builder()
            .backoff(NO_JITTER)
            .retryOn(Set.of())
            .retryOnStatusOnly(Set.of())
            .retryOnGrpcStatus(Set.of(13, 4))
            .retryNonIdempotent(true)
            .build();
    assertThat(p.retryableGrpcStatuses()).containsExactly(4, 13);

    assertThat(decide(p, INTERNAL, 1, RPC).isRetry()).isTrue();
    // DEADLINE_EXCEEDED is a timeout, which this route does not retry as such: the code does.
    assertThat(decide(p, DEADLINE_EXCEEDED, 1, RPC).isRetry()).isTrue();
    assertThat(decide(p, UNAVAILABLE, 1, RPC).stopReason()).isEqualTo(StopReason.NOT_RETRYABLE_OUTCOME);
    assertThat(decide(p, OK, 1, RPC).stopReason()).isEqualTo(StopReason.SUCCEEDED);
    // An HTTP 500 carries no gRPC code: the gRPC condition does not apply to it.
    assertThat(decide(p, AttemptOutcome.status(500), 1, RPC).stopReason()).isEqualTo(StopReason.NOT_RETRYABLE_OUTCOME);
  }

  @Test
  void aGrpcCodeIsStillSubjectToMethodAttemptsAndBudget() {
    RetryPolicy notMarked =
        RetryPolicy.builder().backoff(NO_JITTER).retryOnStatusOnly(Set.of()).retryOnGrpcStatus(Set.of(14)).build();
    assertThat(decide(notMarked, UNAVAILABLE, 1, RPC).stopReason()).isEqualTo(StopReason.NOT_IDEMPOTENT);

    RetryPolicy marked =
        RetryPolicy.builder()
            .backoff(NO_JITTER)
            .maxAttempts(2)
            .retryOnStatusOnly(Set.of())
            .retryOnGrpcStatus(Set.of(14))
            .retryNonIdempotent(true)
            .build();
    Decision first = decide(marked, UNAVAILABLE, 1, RPC);
    assertThat(first.isRetry()).isTrue();
    assertThat(first.delayNanos()).isEqualTo(Duration.ofMillis(25).toNanos());
    assertThat(decide(marked, UNAVAILABLE, 2, RPC).stopReason()).isEqualTo(StopReason.MAX_ATTEMPTS);
  }

  @Test
  void anHttpStatusStillMatchesAGrpcAttemptsMappedStatus() {
    // Routes written before gRPC names (on: [503]) keep retrying UNAVAILABLE.
    RetryPolicy p = RetryPolicy.builder().backoff(NO_JITTER).retryNonIdempotent(true).build();
    assertThat(p.retryableGrpcStatuses()).isEmpty();
    assertThat(decide(p, UNAVAILABLE, 1, RPC).isRetry()).isTrue();
    assertThat(decide(p, INTERNAL, 1, RPC).stopReason()).isEqualTo(StopReason.NOT_RETRYABLE_OUTCOME);
  }

  @Test
  void grpcOutcomesAreValuesAndCodesAreChecked() {
    assertThat(UNAVAILABLE).isEqualTo(AttemptOutcome.status(503).withGrpcStatus(14))
        .hasSameHashCodeAs(AttemptOutcome.status(503).withGrpcStatus(14))
        .isNotEqualTo(AttemptOutcome.status(503));
    assertThat(UNAVAILABLE).hasToString("HTTP_STATUS(503) grpc-status 14");
    assertThat(AttemptOutcome.status(503).grpcStatus()).isEqualTo(-1);
    assertThatThrownBy(() -> AttemptOutcome.status(503).withGrpcStatus(17))
        .hasMessage("grpcStatus: 17 (expected: a gRPC status code in 0..16)");
    assertThatThrownBy(() -> RetryPolicy.builder().retryOnGrpcStatus(Set.of(0)))
        .hasMessage("retryOnGrpcStatus: 0 (expected: a non-OK gRPC status code in 1..16)");
  }
}
