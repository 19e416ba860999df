package io.jmesh.controller.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The estimates PromQL's histogram_quantile would give for the same buckets. */
class QuantilesTest {

  private static TreeMap<Double, Double> buckets(double... boundsAndCounts) {
    TreeMap<Double, Double> m = new TreeMap<>();
    for (int i = 0; i < boundsAndCounts.length; i += 2) {
      m.put(boundsAndCounts[i], boundsAndCounts[i + 1]);
    }
    return m;
  }

  @Test
  void interpolatesLinearlyInsideTheBucketOfTheRank() {
    // 100 calls: 50 up to 5 ms, 40 in (5, 10] ms, 10 in (10, 25] ms.
    TreeMap<Double, Double> b = buckets(0.005, 50, 0.010, 90, 0.025, 100, Double.POSITIVE_INFINITY, 100);

    // p50: rank 50, the end of the first bucket.
    assertThat(Quantiles.quantile(0.5, b)).isCloseTo(0.005, within(1e-12));
    // p95: rank 95, half-way into (10, 25] ms.
    assertThat(Quantiles.quantile(0.95, b)).isCloseTo(0.0175, within(1e-12));
    // p25: rank 25, half-way into [0, 5] ms: the lowest bucket starts at 0.
    assertThat(Quantiles.quantile(0.25, b)).isCloseTo(0.0025, within(1e-12));
  }

  @Test
  void aRankInTheInfBucketAnswersTheHighestFiniteBound() {
    TreeMap<Double, Double> b = buckets(0.005, 1, 10.0, 2, Double.POSITIVE_INFINITY, 10);
    assertThat(Quantiles.quantile(0.99, b)).isEqualTo(10.0);
  }

  @Test
  void emptyBucketsBeforeTheRankAreSkipped() {
    // Nothing below 25 ms: every quantile lies in (25, 50] ms.
    TreeMap<Double, Double> b = buckets(0.005, 0, 0.025, 0, 0.05, 4, Double.POSITIVE_INFINITY, 4);
    assertThat(Quantiles.quantile(0.5, b)).isCloseTo(0.0375, within(1e-12));
  }

  @Test
  void noObservationsOrNoInfBucketIsNaN() {
    assertThat(Quantiles.quantile(0.5, buckets(0.005, 0, Double.POSITIVE_INFINITY, 0))).isNaN();
    assertThat(Quantiles.quantile(0.5, buckets(0.005, 3))).isNaN();
    assertThat(Quantiles.quantile(0.5, new TreeMap<>())).isNaN();
  }
}
