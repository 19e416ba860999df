package io.jmesh.runtime.sim;

import java.time.Duration;
import java.util.Objects;

/**
 * The knobs of one simulation run.
 *
 * @param seed the root of every random stream; same seed, same results
 * @param requestsPerSecond the mean rate of the open-loop Poisson arrivals
 * @param duration how long requests arrive; calls still running at the end are completed
 * @param warmUp the first part of {@code duration} whose calls are left out of shares, success
 *     rate and latency (not out of the retry count, which the budget bounds over the whole run)
 * @param latencySigma σ of every lognormal latency: how wide a healthy endpoint's tail is
 */
record Settings(
    long seed, int requestsPerSecond, Duration duration, Duration warmUp, double latencySigma) {
  /**
   * What {@link PolicySimulator#main} prints: 1000 requests/s for 60 s, the first 5 s warm-up,
   * σ 0.5.
   */
  static Settings defaults() {
    return new Settings(1, 1000, Duration.ofSeconds(60), Duration.ofSeconds(5), 0.5);
  }

  Settings {
    Objects.requireNonNull(duration, "duration");
    Objects.requireNonNull(warmUp, "warmUp");
    if (requestsPerSecond < 1) {
      throw new IllegalArgumentException(
          "requestsPerSecond: " + requestsPerSecond + " (expected: >= 1)");
    }
    if (duration.isNegative() || duration.isZero()) {
      throw new IllegalArgumentException("duration: " + duration + " (expected: > 0)");
    }
    if (warmUp.isNegative() || warmUp.compareTo(duration) >= 0) {
      throw new IllegalArgumentException(
          "warmUp: " + warmUp + " (expected: >= 0 and < duration " + duration + ")");
    }
    if (!(latencySigma >= 0 && latencySigma <= 2)) {
      throw new IllegalArgumentException(
          "latencySigma: " + latencySigma + " (expected: >= 0 and <= 2)");
    }
  }

  Settings withSeed(long seed) {
    return new Settings(seed, requestsPerSecond, duration, warmUp, latencySigma);
  }

  Settings withRequestsPerSecond(int requestsPerSecond) {
    return new Settings(seed, requestsPerSecond, duration, warmUp, latencySigma);
  }

  Settings withLatencySigma(double latencySigma) {
    return new Settings(seed, requestsPerSecond, duration, warmUp, latencySigma);
  }
}
