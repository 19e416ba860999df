package io.jmesh.runtime.balance;

import java.util.Objects;

/**
 * The balancers this module provides. Every one skips endpoints that {@link
 * LoadBalancer.Helper#filter()} rejects and falls back to all endpoints when it rejects them all
 * (panic mode); see {@link LoadBalancer}.
 */
public final class Balancers {
  private Balancers() {}

  /**
   * Weighted random: each endpoint is picked with probability proportional to its weight. The
   * first-cut balancer; stateless, so it ignores attempt results.
   */
  public static LoadBalancer.Factory weightedRandom() {
    return WeightedRandomBalancer::new;
  }

  /**
   * Latency-aware, Linkerd's model: power of two choices over {@code peakEwmaLatency × (inFlight +
   * 1) / weight}, with failures penalised. Needs {@link LoadBalancer#attemptStarted} and {@link
   * LoadBalancer#attemptFinished} for every attempt. See {@code PeakEwmaBalancer} for the model.
   */
  static LoadBalancer.Factory peakEwma(PeakEwmaOptions options) {
    Objects.requireNonNull(options, "options");
    return helper -> new PeakEwmaBalancer(helper, options);
  }

  /** {@link #peakEwma(PeakEwmaOptions)} with {@link PeakEwmaOptions#defaults()}. */
  public static LoadBalancer.Factory peakEwma() {
    return peakEwma(PeakEwmaOptions.defaults());
  }

  /** Round robin in endpoint order from a random start; ignores weights. A baseline. */
  public static LoadBalancer.Factory roundRobin() {
    return RoundRobinBalancer::new;
  }

  /**
   * Least request, Envoy's default: power of two choices over {@code (inFlight + 1) / weight}.
   * Needs {@link LoadBalancer#attemptStarted} and {@link LoadBalancer#attemptFinished}. A
   * baseline.
   */
  public static LoadBalancer.Factory leastRequest() {
    return LeastRequestBalancer::new;
  }

  /**
   * Failover across endpoint priorities around {@code child}: one child balancer per priority
   * level, the level chosen per pick by Envoy's overprovisioning model; see {@link
   * PriorityLoadBalancer}.
   */
  public static LoadBalancer.Factory withPriorities(LoadBalancer.Factory child) {
    return helper -> new PriorityLoadBalancer(helper, child);
  }
}
