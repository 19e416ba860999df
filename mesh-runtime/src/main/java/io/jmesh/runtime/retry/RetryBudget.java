package io.jmesh.runtime.retry;

import io.jmesh.runtime.time.Ticker;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * How many retries one destination may receive, in the style of Finagle's and Linkerd's retry
 * budgets: retries may add at most {@code ratio} of the requests of the last {@code ttl} (20% by
 * default), plus a floor of {@code minRetriesPerSecond} so that a service with little traffic can
 * still retry a failure. A budget, unlike a retry count, keeps retries from multiplying the load
 * on a destination that is failing for everyone.
 *
 * <p>Use: {@link #deposit()} once for every original request (not for retries), and {@link
 * #tryWithdraw()} before every retry; a retry is sent only if it returns {@code true}.
 *
 * <p>Accounting is in one-second buckets counted from the budget's creation; the window is the
 * current second and the {@code ttl - 1} before it. A retry is granted when
 *
 * <ul>
 *   <li>it comes from the floor (fewer than {@code minRetriesPerSecond} floor retries in the
 *       current second; unused floor does not carry over, so a destination without traffic gets at
 *       most this many retries per second, where Finagle lends the whole window's floor at once)
 *       or from the ratio (the window's ratio retries stay within {@code floor(ratio × requests
 *       in the window)}), and
 *   <li>the window's retries, this one included, stay within {@code floor(ratio × requests in the
 *       window) + minRetriesPerSecond × ttl}.
 * </ul>
 *
 * The second rule is the guarantee: whenever a retry is granted, the retries in the window are at
 * most {@code ratio × requests in the window + minRetriesPerSecond × ttl}. It matters when ratio
 * retries earned by requests that have since left the window were spent late in it: they still
 * count, and hold back floor retries until they leave the window too. After {@code ttl} without
 * traffic only the floor is left; after {@code ttl} of healthy traffic the budget is whole again.
 *
 * <p>Thread-safety: safe for concurrent use. {@link #deposit()} is on every request's path and
 * takes no lock (one CAS on the current second's counter); {@link #tryWithdraw()} runs only for
 * retries and takes this budget's lock, which keeps the bound exact under contention. A deposit
 * racing a change of second may be lost, which errs on the side of fewer retries.
 */
public final class RetryBudget {
  /** Default share of requests that may be retried: 0.2 (Linkerd's {@code retryRatio}). */
  public static final double DEFAULT_RATIO = 0.2;
  /** Default floor: 10 retries per second (Linkerd's {@code minRetriesPerSecond}). */
  public static final int DEFAULT_MIN_RETRIES_PER_SECOND = 10;
  /** Default window: 10 s (Linkerd's {@code ttl}). */
  public static final Duration DEFAULT_TTL = Duration.ofSeconds(10);

  private static final long SECOND = 1_000_000_000L;
  private static final long MAX_TTL_SECONDS = 3600;
  private static final long COUNT_MASK = 0xFFFF_FFFFL;

  private final double ratio;
  private final int minRetriesPerSecond;
  private final int buckets;
  private final Ticker ticker;
  private final long originNanos;

  // Per bucket: (second << 32) | requests; lock-free.
  private final AtomicLongArray deposits;
  // Per bucket, guarded by this: the second it holds, retries granted from the floor and from the
  // ratio.
  private final long[] withdrawalSecond;
  private final int[] floorRetries;
  private final long[] ratioRetries;

  private RetryBudget(double ratio, int minRetriesPerSecond, int buckets, Ticker ticker) {
    this.ratio = ratio;
    this.minRetriesPerSecond = minRetriesPerSecond;
    this.buckets = buckets;
    this.ticker = ticker;
    this.originNanos = ticker.nanoTime();
    this.deposits = new AtomicLongArray(buckets);
    this.withdrawalSecond = new long[buckets];
    this.floorRetries = new int[buckets];
    this.ratioRetries = new long[buckets];
  }

  /** A budget with the defaults: ratio 0.2, 10 retries per second, ttl 10 s. */
  public static RetryBudget create(Ticker ticker) {
    return create(DEFAULT_RATIO, DEFAULT_MIN_RETRIES_PER_SECOND, DEFAULT_TTL, ticker);
  }

  /**
   * A budget.
   *
   * @param ratio retries allowed per original request in the window, 0..1000 (0.2 = 20%)
   * @param minRetriesPerSecond retries allowed in any second regardless of traffic, {@code >= 0}
   * @param ttl how long a request counts, a whole number of seconds in 1..3600
   * @throws IllegalArgumentException with a precise message for a bad value
   */
  public static RetryBudget create(
      double ratio, int minRetriesPerSecond, Duration ttl, Ticker ticker) {
    Objects.requireNonNull(ttl, "ttl");
    Objects.requireNonNull(ticker, "ticker");
    if (!(ratio >= 0 && ratio <= 1000)) {
      throw new IllegalArgumentException("ratio: " + ratio + " (expected: 0..1000)");
    }
    if (minRetriesPerSecond < 0) {
      throw new IllegalArgumentException(
          "minRetriesPerSecond: " + minRetriesPerSecond + " (expected: >= 0)");
    }
    if (ttl.getNano() != 0 || ttl.getSeconds() < 1 || ttl.getSeconds() > MAX_TTL_SECONDS) {
      throw new IllegalArgumentException(
          "ttl: " + ttl + " (expected: a whole number of seconds in 1s..3600s)");
    }
    return new RetryBudget(ratio, minRetriesPerSecond, (int) ttl.getSeconds(), ticker);
  }

  /** Counts one original request. Lock-free; call it once per call, never for a retry. */
  public void deposit() {
    long second = currentSecond();
    int i = (int) (second % buckets);
    while (true) {
      long v = deposits.get(i);
      long held = v >>> 32;
      long next;
      if (held == second) {
        if ((v & COUNT_MASK) == COUNT_MASK) {
          return; // 4 billion requests in one second: saturate rather than wrap.
        }
        next = v + 1;
      } else if (held < second) {
        next = (second << 32) | 1; // The bucket's second has left the window: start it afresh.
      } else {
        return; // Another thread already moved to a later second; this deposit would be stale.
      }
      if (deposits.compareAndSet(i, v, next)) {
        return;
      }
    }
  }

  /**
   * Takes one retry from the budget: {@code true} if the retry may be sent, {@code false} when the
   * budget is exhausted (the call then fails with the last attempt's result).
   */
  public synchronized boolean tryWithdraw() {
    long second = currentSecond();
    int current = (int) (second % buckets);
    if (withdrawalSecond[current] != second) {
      withdrawalSecond[current] = second;
      floorRetries[current] = 0;
      ratioRetries[current] = 0;
    }
    long earned = earnedInWindow(second);
    long ratioSpent = ratioRetriesInWindow(second);
    long cap = earned + (long) minRetriesPerSecond * buckets;
    if (ratioSpent + floorRetriesInWindow(second) >= cap) {
      return false;
    }
    if (floorRetries[current] < minRetriesPerSecond) {
      floorRetries[current]++;
      return true;
    }
    if (ratioSpent < earned) {
      ratioRetries[current]++;
      return true;
    }
    return false;
  }

  /**
   * The retries {@link #tryWithdraw()} would grant now if nobody deposited meanwhile; for
   * metrics and tests.
   */
  public synchronized long available() {
    long second = currentSecond();
    int current = (int) (second % buckets);
    long floorUsed = withdrawalSecond[current] == second ? floorRetries[current] : 0;
    long earned = earnedInWindow(second);
    long ratioSpent = ratioRetriesInWindow(second);
    long fromFloor = Math.max(0, minRetriesPerSecond - floorUsed);
    long fromRatio = Math.max(0, earned - ratioSpent);
    long cap = earned + (long) minRetriesPerSecond * buckets
        - ratioSpent - floorRetriesInWindow(second);
    return Math.max(0, Math.min(fromFloor + fromRatio, cap));
  }

  /** The requests counted in the window that ends now; for metrics and tests. */
  public long requestsInWindow() {
    return requestsInWindow(currentSecond());
  }

  private long earnedInWindow(long second) {
    // The epsilon keeps 0.2 × 100 at 20 despite binary floating point.
    return (long) (ratio * requestsInWindow(second) + 1e-9);
  }

  private long requestsInWindow(long second) {
    long sum = 0;
    for (int i = 0; i < buckets; i++) {
      long v = deposits.get(i);
      long held = v >>> 32;
      if (held <= second && held > second - buckets) {
        sum += v & COUNT_MASK;
      }
    }
    return sum;
  }

  private long ratioRetriesInWindow(long second) {
    long sum = 0;
    for (int i = 0; i < buckets; i++) {
      long held = withdrawalSecond[i];
      if (held <= second && held > second - buckets) {
        sum += ratioRetries[i];
      }
    }
    return sum;
  }

  private long floorRetriesInWindow(long second) {
    long sum = 0;
    for (int i = 0; i < buckets; i++) {
      long held = withdrawalSecond[i];
      if (held <= second && held > second - buckets) {
        sum += floorRetries[i];
      }
    }
    return sum;
  }

  private long currentSecond() {
    // Seconds since creation: non-negative whatever the ticker's origin, and it fits 32 bits
    // for 136 years.
    return Math.max(0, ticker.nanoTime() - originNanos) / SECOND;
  }

  @Override
  public String toString() {
    return "RetryBudget{ratio=" + ratio + ", minRetriesPerSecond=" + minRetriesPerSecond
        + ", ttl=" + buckets + "s}";
  }
}
