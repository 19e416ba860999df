package io.jmesh.runtime.retry;

import io.jmesh.runtime.deadline.Deadline;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * One route's rules for retrying a failed attempt. {@link #decide} is a pure function of the
 * attempt's outcome, the request, the time and the call's {@link Deadline}, except that a RETRY
 * answer takes one retry from the destination's {@link RetryBudget}.
 *
 * <p>What is retried by default (see {@link #defaults()}):
 *
 * <ul>
 *   <li>outcomes: connect failure, reset, per-try timeout, and status 502, 503, 504 (plus the
 *       route's {@link Builder#retryOnStatus extra codes}); a gRPC attempt also when its own
 *       status code is one of the route's {@link Builder#retryOnGrpcStatus gRPC codes} (none by
 *       default), whatever HTTP status it maps to;
 *   <li>methods: the idempotent ones of RFC 9110 §9.2.2 (GET, HEAD, OPTIONS, TRACE, PUT, DELETE),
 *       all methods when the route is {@link Builder#retryNonIdempotent marked retryable}, and
 *       any method after a connect failure, because the request never reached the server;
 *   <li>bodies: only a replayable body of at most {@link #DEFAULT_MAX_REPLAY_BODY_BYTES}, except
 *       after a connect failure, before which no byte of the body was read;
 *   <li>at most {@link #DEFAULT_MAX_ATTEMPTS} attempts in total, never after the deadline, and
 *       never when the budget is exhausted.
 * </ul>
 *
 * <p>Immutable and thread-safe; share one per route.
 */
public final class RetryPolicy {
  /** Default attempts in total, the first included: 3 (one call, two retries; Istio's default). */
  public static final int DEFAULT_MAX_ATTEMPTS = 3;
  /** Default largest body that is kept for a replay: 64 KiB (Linkerd's limit). */
  public static final long DEFAULT_MAX_REPLAY_BODY_BYTES = 64 * 1024;
  /** Statuses retried by default: the gateway errors, which mean "not processed here". */
  public static final Set<Integer> DEFAULT_RETRYABLE_STATUSES = Set.of(502, 503, 504);

  private static final Set<String> IDEMPOTENT_METHODS =
      Set.of("GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE");

  private static final RetryPolicy DEFAULTS = builder().build();

  /** Failures without a status that a policy may retry. */
  public enum RetryOn {
    CONNECT_FAILURE,
    RESET,
    /** The per-try timeout fired; the overall deadline is checked separately and always wins. */
    TIMEOUT
  }

  /** Why a policy stopped; {@link #label()} is the telemetry attribute value. */
  public enum StopReason {
    /** The attempt succeeded (or got a 1xx..3xx status): nothing to retry. */
    SUCCEEDED,
    /** The outcome is not one the route retries (for example 500, 404 or OTHER_ERROR). */
    NOT_RETRYABLE_OUTCOME,
    /** The method is not idempotent and the route is not marked retryable. */
    NOT_IDEMPOTENT,
    /** The adapter cannot send the body again. */
    BODY_NOT_REPLAYABLE,
    /** The body is larger than the replay limit, or of unknown size. */
    BODY_TOO_LARGE,
    /** The call has used all its attempts. */
    MAX_ATTEMPTS,
    /** The deadline has expired, or would expire during the backoff. */
    DEADLINE,
    /** The destination's retry budget has no retry left. */
    BUDGET_EXHAUSTED;

    private final String label = name().toLowerCase(Locale.ROOT);

    /** The lower-case name, for example {@code budget_exhausted}. */
    public String label() {
      return label;
    }
  }

  /** The answer of {@link #decide}: RETRY after a delay, or STOP for a reason. Immutable. */
  public static final class Decision {
    private static final Decision[] STOPS = new Decision[StopReason.values().length];

    static {
      for (StopReason r : StopReason.values()) {
        STOPS[r.ordinal()] = new Decision(-1, r);
      }
    }

    private final long delayNanos;
    private final StopReason stopReason;

    private Decision(long delayNanos, StopReason stopReason) {
      this.delayNanos = delayNanos;
      this.stopReason = stopReason;
    }

    static Decision retryAfter(long delayNanos) {
      return new Decision(delayNanos, null);
    }

    /** The shared STOP decision for {@code reason}. */
    public static Decision stop(StopReason reason) {
      return STOPS[reason.ordinal()];
    }

    /** Whether to send another attempt (after {@link #delay()}). */
    public boolean isRetry() {
      return stopReason == null;
    }

    /** The wait before the retry; {@link Duration#ZERO} for STOP. */
    public Duration delay() {
      return Duration.ofNanos(delayNanos());
    }

    /** The wait before the retry in nanoseconds; 0 for STOP. */
    public long delayNanos() {
      return isRetry() ? delayNanos : 0;
    }

    /** Why the call stops; {@code null} for RETRY. */
    public StopReason stopReason() {
      return stopReason;
    }

    @Override
    public String toString() {
      return isRetry() ? "RETRY after " + delay() : "STOP (" + stopReason.label() + ")";
    }
  }

  private final int maxAttempts;
  private final Set<RetryOn> retryOn;
  private final Set<Integer> retryableStatuses;
  private final Set<Integer> retryableGrpcStatuses;
  private final boolean retryNonIdempotent;
  private final long maxReplayBodyBytes;
  private final Backoff backoff;
  private final Duration perTryTimeout;

  private RetryPolicy(Builder b) {
    this.maxAttempts = b.maxAttempts;
    this.retryOn = Collections.unmodifiableSet(EnumSet.copyOf(b.retryOn));
    this.retryableStatuses = Collections.unmodifiableSet(new TreeSet<>(b.statuses));
    this.retryableGrpcStatuses = Collections.unmodifiableSet(new TreeSet<>(b.grpcStatuses));
    this.retryNonIdempotent = b.retryNonIdempotent;
    this.maxReplayBodyBytes = b.maxReplayBodyBytes;
    this.backoff = b.backoff;
    this.perTryTimeout = b.perTryTimeout;
  }

  /** The policy of a route that says nothing about retries. */
  public static RetryPolicy defaults() {
    return DEFAULTS;
  }

  /** A builder that starts from the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Whether the method may be sent twice: the idempotent methods of RFC 9110, or any method when
   * the route is marked retryable.
   */
  public boolean isRetryableMethod(String method) {
    return retryNonIdempotent || IDEMPOTENT_METHODS.contains(method.toUpperCase(Locale.ROOT));
  }

  /** Whether the policy retries {@code outcome}, before method, body, attempt and time rules. */
  public boolean isRetryableOutcome(AttemptOutcome outcome) {
    // A gRPC code the route names is retried whatever its mapped kind (DEADLINE_EXCEEDED is a
    // TIMEOUT); otherwise a gRPC attempt is judged by its mapped status like any other.
    if (outcome.grpcStatus() >= 0 && retryableGrpcStatuses.contains(outcome.grpcStatus())) {
      return true;
    }
    return switch (outcome.kind()) {
      case CONNECT_FAILURE -> retryOn.contains(RetryOn.CONNECT_FAILURE);
      case RESET -> retryOn.contains(RetryOn.RESET);
      case TIMEOUT -> retryOn.contains(RetryOn.TIMEOUT);
      case HTTP_STATUS -> retryableStatuses.contains(outcome.statusCode());
      case SUCCESS, OTHER_ERROR -> false;
    };
  }

  /**
   * Decides what follows an attempt. Checks run from the cheapest and most certain to the one with
   * a side effect, so that a retry is withdrawn from the budget only when it will be sent.
   *
   * @param outcome how the attempt ended
   * @param attemptsSoFar attempts already made, the one that just ended included ({@code >= 1})
   * @param facts the request's method and body
   * @param nowNanos the current time of the deadline's ticker
   * @param deadline the call's deadline, or {@code null} for none
   * @param budget the destination's retry budget; one retry is withdrawn when the answer is RETRY
   */
  public Decision decide(
      AttemptOutcome outcome,
      int attemptsSoFar,
      RequestFacts facts,
      long nowNanos,
      Deadline deadline,
      RetryBudget budget) {
    Objects.requireNonNull(outcome, "outcome");
    Objects.requireNonNull(facts, "facts");
    Objects.requireNonNull(budget, "budget");
    if (attemptsSoFar < 1) {
      throw new IllegalArgumentException("attemptsSoFar: " + attemptsSoFar + " (expected: >= 1)");
    }
    if (outcome.isSuccess()) {
      return Decision.stop(StopReason.SUCCEEDED);
    }
    // An expired deadline ends the call whatever the outcome: the caller has stopped waiting.
    if (deadline != null && deadline.isExpired(nowNanos)) {
      return Decision.stop(StopReason.DEADLINE);
    }
    if (!isRetryableOutcome(outcome)) {
      return Decision.stop(StopReason.NOT_RETRYABLE_OUTCOME);
    }
    // A failed connect sent nothing, so a POST is as safe to resend as a GET; and no byte of the
    // body was read either (clients write it only on an established connection), so the body
    // rules do not apply to it.
    if (outcome.kind() != AttemptOutcome.Kind.CONNECT_FAILURE) {
      if (!isRetryableMethod(facts.method())) {
        return Decision.stop(StopReason.NOT_IDEMPOTENT);
      }
      if (!facts.bodyReplayable()) {
        return Decision.stop(StopReason.BODY_NOT_REPLAYABLE);
      }
      if (facts.bodyLength() < 0 || facts.bodyLength() > maxReplayBodyBytes) {
        return Decision.stop(StopReason.BODY_TOO_LARGE);
      }
    }
    if (attemptsSoFar >= maxAttempts) {
      return Decision.stop(StopReason.MAX_ATTEMPTS);
    }
    long delay = backoff.delayNanos(attemptsSoFar);
    // Waiting past the deadline would only produce a late failure.
    if (deadline != null && delay >= deadline.remainingNanos(nowNanos)) {
      return Decision.stop(StopReason.DEADLINE);
    }
    if (!budget.tryWithdraw()) {
      return Decision.stop(StopReason.BUDGET_EXHAUSTED);
    }
    return Decision.retryAfter(delay);
  }

  /**
   * The timeout of the next attempt: the smaller of {@link #perTryTimeout()} and the time left of
   * {@code deadline} (which may be {@code null}); {@code null} when neither limits the attempt.
   */
  public Duration attemptTimeout(Deadline deadline) {
    return Deadline.attemptTimeout(perTryTimeout, deadline);
  }

  public int maxAttempts() {
    return maxAttempts;
  }

  public Set<RetryOn> retryOn() {
    return retryOn;
  }

  /** The statuses retried, sorted. */
  public Set<Integer> retryableStatuses() {
    return retryableStatuses;
  }

  /** The gRPC status codes retried, sorted; empty by default. */
  public Set<Integer> retryableGrpcStatuses() {
    return retryableGrpcStatuses;
  }

  public boolean retryNonIdempotent() {
    return retryNonIdempotent;
  }

  public long maxReplayBodyBytes() {
    return maxReplayBodyBytes;
  }

  public Backoff backoff() {
    return backoff;
  }

  /** The timeout of one attempt, or {@code null} for none (only the deadline applies). */
  public Duration perTryTimeout() {
    return perTryTimeout;
  }

  @Override
  public String toString() {
    return "RetryPolicy{maxAttempts=" + maxAttempts + ", retryOn=" + retryOn
        + ", statuses=" + retryableStatuses + ", grpcStatuses=" + retryableGrpcStatuses
        + ", retryNonIdempotent=" + retryNonIdempotent
        + ", maxReplayBodyBytes=" + maxReplayBodyBytes + ", " + backoff
        + ", perTryTimeout=" + perTryTimeout + "}";
  }

  /** Builds a {@link RetryPolicy}; every setter validates at once with a precise message. */
  public static final class Builder {
    private int maxAttempts = DEFAULT_MAX_ATTEMPTS;
    private Set<RetryOn> retryOn = EnumSet.allOf(RetryOn.class);
    private final Set<Integer> statuses = new TreeSet<>(DEFAULT_RETRYABLE_STATUSES);
    private final Set<Integer> grpcStatuses = new TreeSet<>();
    private boolean retryNonIdempotent;
    private long maxReplayBodyBytes = DEFAULT_MAX_REPLAY_BODY_BYTES;
    private Backoff backoff = Backoff.defaults();
    private Duration perTryTimeout;

    private Builder() {}

    /** Attempts in total, the first included; 1 turns retries off. */
    public Builder maxAttempts(int maxAttempts) {
      if (maxAttempts < 1) {
        throw new IllegalArgumentException("maxAttempts: " + maxAttempts + " (expected: >= 1)");
      }
      this.maxAttempts = maxAttempts;
      return this;
    }

    /** The failures without status that are retried; replaces the default (all three). */
    public Builder retryOn(Set<RetryOn> retryOn) {
      this.retryOn = retryOn.isEmpty() ? EnumSet.noneOf(RetryOn.class) : EnumSet.copyOf(retryOn);
      return this;
    }

    /** Adds statuses to retry (for example 429 or 500) to 502, 503, 504. */
    public Builder retryOnStatus(int... codes) {
      List<Integer> checked = new ArrayList<>(codes.length);
      for (int code : codes) {
        if (code < 100 || code > 599) {
          throw new IllegalArgumentException("retryOnStatus: " + code + " (expected: 100..599)");
        }
        checked.add(code);
      }
      statuses.addAll(checked);
      return this;
    }

    /**
     * Replaces the statuses retried (the default is 502, 503, 504) with {@code codes}; an empty
     * set retries no status.
     */
    public Builder retryOnStatusOnly(Set<Integer> codes) {
      statuses.clear();
      retryOnStatus(codes.stream().mapToInt(Integer::intValue).toArray());
      return this;
    }

    /**
     * Replaces the gRPC status codes retried (none by default) with {@code codes}: a gRPC
     * attempt that ended with one of them is retried, whatever HTTP status the adapter mapped it
     * to. The method, body, attempt, deadline and budget rules apply as to any outcome.
     */
    public Builder retryOnGrpcStatus(Set<Integer> codes) {
      for (int code : codes) {
        if (code < 1 || code > 16) {
          throw new IllegalArgumentException("retryOnGrpcStatus: " + code + " (expected: a non-OK gRPC status code in 1..16)");
        }
      }
      grpcStatuses.clear();
      grpcStatuses.addAll(codes);
      return this;
    }

    /** Marks the route retryable: non-idempotent methods such as POST are retried too. */
    public Builder retryNonIdempotent(boolean retryNonIdempotent) {
      this.retryNonIdempotent = retryNonIdempotent;
      return this;
    }

    /** The largest body kept for a replay; 0 retries only requests without body. */
    public Builder maxReplayBodyBytes(long maxReplayBodyBytes) {
      if (maxReplayBodyBytes < 0) {
        throw new IllegalArgumentException(
            "maxReplayBodyBytes: " + maxReplayBodyBytes + " (expected: >= 0)");
      }
      this.maxReplayBodyBytes = maxReplayBodyBytes;
      return this;
    }

    public Builder backoff(Backoff backoff) {
      this.backoff = Objects.requireNonNull(backoff, "backoff");
      return this;
    }

    /** The timeout of one attempt; {@code null} (the default) for none. */
    public Builder perTryTimeout(Duration perTryTimeout) {
      if (perTryTimeout != null && (perTryTimeout.isNegative() || perTryTimeout.isZero())) {
        throw new IllegalArgumentException(
            "perTryTimeout: " + perTryTimeout + " (expected: > 0, or null for none)");
      }
      this.perTryTimeout = perTryTimeout;
      return this;
    }

    public RetryPolicy build() {
      return new RetryPolicy(this);
    }
  }
}
