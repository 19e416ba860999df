package io.jmesh.runtime.deadline;

import io.jmesh.runtime.time.Ticker;
import java.time.Duration;
import java.util.Objects;

/**
 * The point in time by which a call must be finished, read from a {@link Ticker} so that tests
 * move time instead of sleeping. A deadline is fixed when the call starts ({@link #after}) or when
 * it arrives from the caller ({@link DeadlineHeader#parse}); every attempt and every backoff of
 * the call then spends from the same remaining time.
 *
 * <p>Immutable and thread-safe. Very long budgets saturate (about 146 years) instead of
 * overflowing.
 */
public final class Deadline {
  // Half of Long.MAX_VALUE so that differences of two readings can never overflow.
  private static final long MAX_NANOS = Long.MAX_VALUE / 2;

  private final Ticker ticker;
  private final long startNanos;
  private final long budgetNanos;

  private Deadline(Ticker ticker, long startNanos, long budgetNanos) {
    this.ticker = ticker;
    this.startNanos = startNanos;
    this.budgetNanos = budgetNanos;
  }

  /**
   * A deadline {@code budget} from now.
   *
   * @throws IllegalArgumentException when {@code budget} is negative
   */
  public static Deadline after(Duration budget, Ticker ticker) {
    Objects.requireNonNull(budget, "budget");
    Objects.requireNonNull(ticker, "ticker");
    if (budget.isNegative()) {
      throw new IllegalArgumentException("budget: " + budget + " (expected: >= 0)");
    }
    return new Deadline(ticker, ticker.nanoTime(), saturatedNanos(budget));
  }

  /** The ticker this deadline reads time from. */
  public Ticker ticker() {
    return ticker;
  }

  /** The time the call was given when this deadline was made. */
  public Duration budget() {
    return Duration.ofNanos(budgetNanos);
  }

  /** The time spent since this deadline was made. */
  public Duration elapsed() {
    return Duration.ofNanos(ticker.nanoTime() - startNanos);
  }

  /** The ticker time at which this deadline expires (for adapters that schedule a timer). */
  public long deadlineNanos() {
    return startNanos + budgetNanos;
  }

  /** The time left, never negative: {@link Duration#ZERO} once expired. */
  public Duration remaining() {
    return Duration.ofNanos(Math.max(0, remainingNanos(ticker.nanoTime())));
  }

  /** The nanoseconds left at ticker time {@code nowNanos}; negative once expired. */
  public long remainingNanos(long nowNanos) {
    return budgetNanos - (nowNanos - startNanos);
  }

  /** Whether no time is left. */
  public boolean isExpired() {
    return isExpired(ticker.nanoTime());
  }

  /** Whether no time is left at ticker time {@code nowNanos}. */
  public boolean isExpired(long nowNanos) {
    return remainingNanos(nowNanos) <= 0;
  }

  /**
   * The earlier of this deadline and {@code other} (which may be {@code null}): for a call that
   * arrives with its caller's deadline and also has a route timeout of its own.
   */
  public Deadline earliest(Deadline other) {
    if (other == null) {
      return this;
    }
    long now = ticker.nanoTime();
    return other.remainingNanos(now) < remainingNanos(now) ? other : this;
  }

  /**
   * The timeout for the next attempt: the smaller of {@code perTryTimeout} and the time left of
   * {@code deadline}, so that one slow attempt cannot eat the whole budget and no attempt runs
   * past the deadline. Either argument may be {@code null} (no such limit); returns {@code null}
   * when neither limits the attempt, and {@link Duration#ZERO} when the deadline has expired.
   */
  public static Duration attemptTimeout(Duration perTryTimeout, Deadline deadline) {
    if (deadline == null) {
      return perTryTimeout;
    }
    Duration remaining = deadline.remaining();
    if (perTryTimeout == null || perTryTimeout.compareTo(remaining) > 0) {
      return remaining;
    }
    return perTryTimeout;
  }

  @Override
  public String toString() {
    long now = ticker.nanoTime();
    return "Deadline{remaining=" + Duration.ofNanos(remainingNanos(now))
        + ", budget=" + budget() + "}";
  }

  static long saturatedNanos(Duration d) {
    // Duration.toNanos() throws beyond ~292 years; a deadline that far away means "none".
    if (d.getSeconds() >= MAX_NANOS / 1_000_000_000L) {
      return MAX_NANOS;
    }
    return d.toNanos();
  }
}
