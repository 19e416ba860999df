package io.jmesh.runtime.balance;

import java.time.Duration;
import java.util.Objects;

/**
 * The knobs of {@link Balancers#peakEwma(PeakEwmaOptions)}. Immutable; validated on construction.
 *
 * @param rttPrior the latency assumed for an endpoint that has not answered yet; in (0, 1 min].
 *     Low values make new endpoints attractive at once, high ones make the balancer wait for a
 *     measurement before trusting them. Default 30 ms, as in Linkerd.
 * @param decay the time constant τ of the moving average: a sample that is τ old weighs
 *     1/e as much as a fresh one, and an idle endpoint's estimate falls to 1/e in τ. In (0, 1 h].
 *     Default 10 s, as in Linkerd.
 */
record PeakEwmaOptions(Duration rttPrior, Duration decay) {
  /** Linkerd's default RTT estimate for an unmeasured endpoint. */
  public static final Duration DEFAULT_RTT_PRIOR = Duration.ofMillis(30);

  /** Linkerd's default EWMA decay. */
  public static final Duration DEFAULT_DECAY = Duration.ofSeconds(10);

  private static final Duration MAX_RTT_PRIOR = Duration.ofMinutes(1);
  private static final Duration MAX_DECAY = Duration.ofHours(1);

  public PeakEwmaOptions {
    checkRange("rttPrior", rttPrior, MAX_RTT_PRIOR);
    checkRange("decay", decay, MAX_DECAY);
  }

  /** {@link #DEFAULT_RTT_PRIOR} and {@link #DEFAULT_DECAY}. */
  public static PeakEwmaOptions defaults() {
    return new PeakEwmaOptions(DEFAULT_RTT_PRIOR, DEFAULT_DECAY);
  }

  /** A copy with {@code rttPrior} replaced. */
  public PeakEwmaOptions withRttPrior(Duration rttPrior) {
    return new PeakEwmaOptions(rttPrior, decay);
  }

  /** A copy with {@code decay} replaced. */
  public PeakEwmaOptions withDecay(Duration decay) {
    return new PeakEwmaOptions(rttPrior, decay);
  }

  private static void checkRange(String name, Duration value, Duration max) {
    Objects.requireNonNull(value, name);
    if (value.isNegative() || value.isZero()) {
      throw new IllegalArgumentException(name + ": " + value + " (expected: > 0)");
    }
    if (value.compareTo(max) > 0) {
      throw new IllegalArgumentException(name + ": " + value + " (expected: <= " + max + ")");
    }
  }
}
