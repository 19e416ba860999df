package io.jmesh.runtime.retry;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.random.RandomGenerator;

/**
 * The wait before a retry: exponential, capped, with jitter so that the many clients that saw
 * the same failure do not retry in lockstep.
 *
 * <p>Retry {@code n} (1 for the first retry) waits {@code d = min(max, base * 2^(n-1))} shortened
 * by a random share of up to {@code jitter}: a delay in {@code ((1 - jitter) * d, d]}. Jitter only
 * shortens, so {@code max} is a hard bound. With jitter 0 the delays are exact, which is what
 * tests use.
 *
 * <p>Immutable; thread-safe when its random source is (the default is).
 */
public final class Backoff {
  /** Default first delay: 25 ms, the order of one in-cluster round trip plus a little. */
  public static final Duration DEFAULT_BASE = Duration.ofMillis(25);
  /** Default cap: 250 ms, so a retry never waits longer than a typical in-cluster request takes. */
  public static final Duration DEFAULT_MAX = Duration.ofMillis(250);
  /** Default jitter: delays fall in {@code (d/2, d]}. */
  public static final double DEFAULT_JITTER = 0.5;

  // ThreadLocalRandom.current() must be looked up on the using thread, so delegate each call.
  private static final RandomGenerator THREAD_LOCAL = () -> ThreadLocalRandom.current().nextLong();
  private static final Backoff DEFAULT =
      new Backoff(DEFAULT_BASE.toNanos(), DEFAULT_MAX.toNanos(), DEFAULT_JITTER, THREAD_LOCAL);

  private final long baseNanos;
  private final long maxNanos;
  private final double jitter;
  private final RandomGenerator random;

  private Backoff(long baseNanos, long maxNanos, double jitter, RandomGenerator random) {
    this.baseNanos = baseNanos;
    this.maxNanos = maxNanos;
    this.jitter = jitter;
    this.random = random;
  }

  /** 25 ms doubling to at most 250 ms, jitter 0.5, thread-local randomness. */
  public static Backoff defaults() {
    return DEFAULT;
  }

  /**
   * An exponential backoff.
   *
   * @param jitter the largest share of a delay that may be cut off at random, in [0, 1]
   * @param random the source of jitter; must be thread-safe if the backoff is shared
   * @throws IllegalArgumentException with a precise message for a bad value
   */
  public static Backoff exponential(
      Duration base, Duration max, double jitter, RandomGenerator random) {
    Objects.requireNonNull(base, "base");
    Objects.requireNonNull(max, "max");
    Objects.requireNonNull(random, "random");
    if (base.isNegative()) {
      throw new IllegalArgumentException("base: " + base + " (expected: >= 0)");
    }
    if (max.compareTo(base) < 0) {
      throw new IllegalArgumentException("max: " + max + " (expected: >= base " + base + ")");
    }
    if (!(jitter >= 0 && jitter <= 1)) {
      throw new IllegalArgumentException("jitter: " + jitter + " (expected: 0..1)");
    }
    return new Backoff(base.toNanos(), max.toNanos(), jitter, random);
  }

  /** No wait at all (for tests, or routes that want immediate retries). */
  public static Backoff none() {
    return new Backoff(0, 0, 0, THREAD_LOCAL);
  }

  /**
   * The delay before retry number {@code retry} (1 for the first retry).
   *
   * @throws IllegalArgumentException when {@code retry < 1}
   */
  public long delayNanos(int retry) {
    if (retry < 1) {
      throw new IllegalArgumentException("retry: " + retry + " (expected: >= 1)");
    }
    long d = maxNanos;
    // Past 62 doublings the shift overflows; the cap has long been reached anyway.
    if (retry - 1 < 62 && baseNanos <= (maxNanos >> (retry - 1))) {
      d = baseNanos << (retry - 1);
    }
    if (jitter == 0 || d == 0) {
      return d;
    }
    return d - (long) (d * jitter * random.nextDouble());
  }

  /** {@link #delayNanos} as a {@link Duration}. */
  public Duration delay(int retry) {
    return Duration.ofNanos(delayNanos(retry));
  }

  @Override
  public String toString() {
    return "Backoff{base=" + Duration.ofNanos(baseNanos) + ", max=" + Duration.ofNanos(maxNanos)
        + ", jitter=" + jitter + "}";
  }
}
