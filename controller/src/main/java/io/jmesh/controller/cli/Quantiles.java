package io.jmesh.controller.cli;

import java.util.Map;
import java.util.NavigableMap;

/**
 * Quantiles of a Prometheus histogram, computed as PromQL's {@code histogram_quantile} does:
 * find the bucket in which the rank {@code q * count} falls and interpolate linearly between its
 * lower and upper bound, assuming the observations in a bucket are spread evenly. The lowest
 * bucket's lower bound is 0 (durations are not negative); a rank in the {@code +Inf} bucket
 * answers the highest finite bound, since nothing better is known.
 *
 * <p>Thread-safety: stateless.
 */
final class Quantiles {
  private Quantiles() {}

  /**
   * @param q the quantile, 0..1
   * @param cumulative bucket upper bounds ({@code le}, {@code +Inf} included) to the number of
   *     observations at or below each, as the {@code _bucket} series carry them
   * @return the estimate, or NaN when there are no observations or no {@code +Inf} bucket
   */
  static double quantile(double q, NavigableMap<Double, Double> cumulative) {
    if (cumulative.isEmpty() || cumulative.lastKey() != Double.POSITIVE_INFINITY) {
      return Double.NaN;
    }
    double total = cumulative.lastEntry().getValue();
    if (!(total > 0) || q < 0 || q > 1) {
      return Double.NaN;
    }
    double rank = q * total;
    double lowerBound = 0;
    double lowerCount = 0;
    for (Map.Entry<Double, Double> bucket : cumulative.entrySet()) {
      double upper = bucket.getKey();
      double count = bucket.getValue();
      if (count >= rank && count > lowerCount) {
        if (upper == Double.POSITIVE_INFINITY) {
          return lowerBound;
        }
        return lowerBound + (upper - lowerBound) * (rank - lowerCount) / (count - lowerCount);
      }
      lowerBound = upper;
      lowerCount = count;
    }
    return lowerBound;
  }
}
