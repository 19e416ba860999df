package io.jmesh.runtime.sim;

import io.jmesh.runtime.retry.RetryBudget;
import java.util.Arrays;

/**
 * What one run measured. Shares, success and latency cover the calls that arrived after the
 * warm-up; requests and retries cover the whole run, because the retry budget bounds them over
 * the whole run.
 *
 * @param attemptsPerEndpoint attempts sent to each endpoint, in scenario order (after warm-up)
 * @param calls calls that arrived after the warm-up
 * @param successes of those, the ones whose last attempt succeeded
 * @param p50Nanos median client latency: arrival to the end of the last attempt, retries and
 *     backoff included
 * @param p99Nanos 99th percentile of the same
 * @param requests original requests of the whole run (budget deposits)
 * @param retries retries of the whole run (budget withdrawals)
 * @param budgetSeconds the budget seconds in which retries could be granted: the arrival period,
 *     plus the second of the last retry when calls still retried after it
 */
record SimulationResult(
    String scenario,
    String balancer,
    long[] attemptsPerEndpoint,
    long calls,
    long successes,
    long p50Nanos,
    long p99Nanos,
    long requests,
    long retries,
    long budgetSeconds) {

  long measuredAttempts() {
    return Arrays.stream(attemptsPerEndpoint).sum();
  }

  /** The share of attempts that went to endpoint {@code index}, in 0..1. */
  double share(int index) {
    long total = measuredAttempts();
    return total == 0 ? 0 : (double) attemptsPerEndpoint[index] / total;
  }

  /** Client-observed success rate, in 0..1. */
  double successRate() {
    return calls == 0 ? 0 : (double) successes / calls;
  }

  /**
   * The most retries the default budget may grant over the run: 20 % of the requests plus 10
   * retries for every second. The budget itself enforces this per 10 s window; summed over
   * consecutive windows it bounds the whole run too.
   */
  long retryBound() {
    return (long) (RetryBudget.DEFAULT_RATIO * requests + 1e-9)
        + (long) RetryBudget.DEFAULT_MIN_RETRIES_PER_SECOND * budgetSeconds;
  }

  boolean retriesWithinBudget() {
    return retries <= retryBound();
  }

  double p50Millis() {
    return p50Nanos / 1e6;
  }

  double p99Millis() {
    return p99Nanos / 1e6;
  }
}
