package io.jmesh.runtime.breaker;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Envoy-style success-rate outlier detection, as options of {@link EndpointHealth}: every {@code
 * interval}, among the endpoints that served at least {@code minimumRequests} requests in the
 * interval, those whose success rate is below {@code mean - stdevFactor * stdev} are ejected. The
 * detection is skipped for an interval in which fewer than {@code minimumHosts} endpoints reached
 * {@code minimumRequests}, because a mean over two or three samples says little.
 *
 * <p>Defaults are Envoy's: 10 s, 100 requests, 5 endpoints, factor 1.9.
 *
 * @param interval how often {@link EndpointHealth#detectOutliers()} should be called
 * @param minimumRequests requests an endpoint needs in the interval to be judged, {@code >= 1}
 * @param minimumHosts endpoints that must reach {@code minimumRequests} for any ejection, {@code
 *     >= 1}
 * @param stdevFactor how many (population) standard deviations below the mean is an outlier,
 *     {@code >= 0}
 */
public record SuccessRateOutlier(
    Duration interval, int minimumRequests, int minimumHosts, double stdevFactor) {

  public SuccessRateOutlier {
    Objects.requireNonNull(interval, "interval");
    if (interval.isNegative() || interval.isZero()) {
      throw new IllegalArgumentException("interval: " + interval + " (expected: > 0)");
    }
    if (minimumRequests < 1) {
      throw new IllegalArgumentException(
          "minimumRequests: " + minimumRequests + " (expected: >= 1)");
    }
    if (minimumHosts < 1) {
      throw new IllegalArgumentException("minimumHosts: " + minimumHosts + " (expected: >= 1)");
    }
    if (!(stdevFactor >= 0) || Double.isInfinite(stdevFactor)) {
      throw new IllegalArgumentException("stdevFactor: " + stdevFactor + " (expected: >= 0)");
    }
  }

  /** Envoy's defaults: every 10 s, 100 requests, 5 endpoints, 1.9 standard deviations. */
  public static SuccessRateOutlier defaults() {
    return new SuccessRateOutlier(Duration.ofSeconds(10), 100, 5, 1.9);
  }

  /** One endpoint's counts over the last interval. */
  record Sample<K>(K key, long requests, long successes) {}

  /**
   * The keys of the outliers among {@code samples}: a pure function of one interval's counts.
   * Samples below {@code minimumRequests} neither count towards the mean nor get ejected.
   */
  <K> List<K> outliers(List<Sample<K>> samples) {
    List<Sample<K>> judged = new ArrayList<>();
    for (Sample<K> s : samples) {
      if (s.requests() >= minimumRequests) {
        judged.add(s);
      }
    }
    if (judged.isEmpty() || judged.size() < minimumHosts) {
      return List.of();
    }
    double sum = 0;
    for (Sample<K> s : judged) {
      sum += rate(s);
    }
    double mean = sum / judged.size();
    double squares = 0;
    for (Sample<K> s : judged) {
      double d = rate(s) - mean;
      squares += d * d;
    }
    double threshold = mean - stdevFactor * Math.sqrt(squares / judged.size());
    List<K> outliers = new ArrayList<>();
    for (Sample<K> s : judged) {
      if (rate(s) < threshold) {
        outliers.add(s.key());
      }
    }
    return outliers;
  }

  private static double rate(Sample<?> s) {
    return (double) s.successes() / s.requests();
  }
}
