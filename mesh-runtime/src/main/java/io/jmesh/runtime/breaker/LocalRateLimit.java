package io.jmesh.runtime.breaker;

import io.jmesh.runtime.time.Ticker;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A local rate limit for one destination in this JVM: at most {@code requestsPerSecond} on
 * average, with bursts of up to {@code burst} requests at once (Istio's local rate limit, a token
 * bucket refilled continuously). A call over the limit fails fast, as Envoy answers 429.
 *
 * <p>Implemented as the generic cell rate algorithm: one "theoretical arrival time" moved forward
 * by {@code 1 / rate} per admitted request, which is a token bucket without a refill timer.
 *
 * <p>Thread-safety: {@link #tryAcquire()} is lock-free (one CAS) and may be called from any thread.
 */
public final class LocalRateLimit {
  private static final long SECOND = 1_000_000_000L;

  private final String name;
  private final int requestsPerSecond;
  private final int burst;
  private final long intervalNanos;
  private final long toleranceNanos;
  private final Ticker ticker;
  // The time at which the bucket would be full again if nothing else arrived.
  private final AtomicLong theoreticalArrival;

  /**
   * @param name the destination, for messages
   * @param requestsPerSecond the sustained rate, {@code >= 1}
   * @param burst requests admitted at once after a quiet period, {@code >= 1}
   */
  public LocalRateLimit(String name, int requestsPerSecond, int burst, Ticker ticker) {
    this.name = Objects.requireNonNull(name, "name");
    if (requestsPerSecond < 1) {
      throw new IllegalArgumentException(
          name + ": requestsPerSecond: " + requestsPerSecond + " (expected: >= 1)");
    }
    if (burst < 1) {
      throw new IllegalArgumentException(name + ": burst: " + burst + " (expected: >= 1)");
    }
    this.requestsPerSecond = requestsPerSecond;
    this.burst = burst;
    this.intervalNanos = Math.max(1, SECOND / requestsPerSecond);
    this.toleranceNanos = (burst - 1) * intervalNanos;
    this.ticker = Objects.requireNonNull(ticker, "ticker");
    this.theoreticalArrival = new AtomicLong(ticker.nanoTime());
  }

  /** Admits one request if the limit allows it now; false means fail the call fast. */
  public boolean tryAcquire() {
    long now = ticker.nanoTime();
    while (true) {
      long tat = theoreticalArrival.get();
      long start = tat - now < 0 ? now : tat; // compare as differences: tickers may wrap
      if (start - now > toleranceNanos) {
        return false;
      }
      if (theoreticalArrival.compareAndSet(tat, start + intervalNanos)) {
        return true;
      }
    }
  }

  public int requestsPerSecond() {
    return requestsPerSecond;
  }

  public int burst() {
    return burst;
  }

  @Override
  public String toString() {
    return "LocalRateLimit{" + name + ", " + requestsPerSecond + "/s, burst " + burst + "}";
  }
}
