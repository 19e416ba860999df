package io.jmesh.runtime.config;

import java.time.Duration;
import java.util.Locale;
import java.util.Objects;

/**
 * How one destination is balanced and protected, for every route to it. Defaults follow Linkerd
 * (balancer, failure accrual, retry budget) and Envoy (ejection cap).
 *
 * @param balancer how an endpoint is picked (default {@link Balancer#PEAK_EWMA})
 * @param retryBudget retries allowed on top of the requests (default 20 %, at least 10/s, over 10 s)
 * @param failureAccrual when an endpoint is ejected and for how long
 * @param maxEjectionPercent never eject more than this share of the endpoints (default 50)
 * @param maxInFlight requests in flight at once, 0 for no limit (default)
 * @param maxPending requests waiting for a slot when {@code maxInFlight} is reached (default 0)
 * @param rateLimit local rate limit, {@link RateLimit#NONE} by default
 */
public record DestinationPolicy(
    Balancer balancer,
    RetryBudget retryBudget,
    FailureAccrual failureAccrual,
    int maxEjectionPercent,
    int maxInFlight,
    int maxPending,
    RateLimit rateLimit) {
  public static final DestinationPolicy DEFAULT =
      new DestinationPolicy(Balancer.PEAK_EWMA, RetryBudget.DEFAULT, FailureAccrual.DEFAULT, 50, 0, 0, RateLimit.NONE);

  public DestinationPolicy {
    Objects.requireNonNull(balancer, "balancer");
    Objects.requireNonNull(retryBudget, "retryBudget");
    Objects.requireNonNull(failureAccrual, "failureAccrual");
    Objects.requireNonNull(rateLimit, "rateLimit");
    if (maxEjectionPercent < 0 || maxEjectionPercent > 100) {
      throw new IllegalArgumentException("maxEjectionPercent: " + maxEjectionPercent + " (expected: 0..100)");
    }
    if (maxInFlight < 0 || maxPending < 0) {
      throw new IllegalArgumentException(
          "maxInFlight/maxPending: " + maxInFlight + "/" + maxPending + " (expected: >= 0)");
    }
  }

  /** The balancers the runtime offers. */
  public enum Balancer {
    PEAK_EWMA,
    LEAST_REQUEST,
    ROUND_ROBIN,
    RANDOM;

    /** The YAML spelling: {@code peak-ewma}, {@code least-request}, … */
    public String yamlName() {
      return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
  }

  /**
   * Retries allowed per destination: {@code ratio} of the requests of the last {@code ttl}, and
   * at least {@code minPerSecond} every second.
   */
  public record RetryBudget(double ratio, int minPerSecond, Duration ttl) {
    public static final RetryBudget DEFAULT = new RetryBudget(0.2, 10, Duration.ofSeconds(10));
  }

  /**
   * Ejects an endpoint after {@code consecutiveFailures}; the penalty starts at {@code
   * minPenalty}, doubles per ejection up to {@code maxPenalty}, with {@code jitter} (0..1).
   */
  public record FailureAccrual(int consecutiveFailures, Duration minPenalty, Duration maxPenalty, double jitter) {
    public static final FailureAccrual DEFAULT =
        new FailureAccrual(7, Duration.ofSeconds(1), Duration.ofSeconds(60), 0.5);
  }

  /** At most {@code requestsPerSecond}, with bursts of {@code burst}; 0 for no limit. */
  public record RateLimit(int requestsPerSecond, int burst) {
    public static final RateLimit NONE = new RateLimit(0, 0);

    public boolean isNone() {
      return requestsPerSecond == 0;
    }
  }
}
