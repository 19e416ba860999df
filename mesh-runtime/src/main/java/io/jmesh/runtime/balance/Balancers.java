package io.jmesh.runtime.balance;

/** The balancers this module provides. */
public final class Balancers {
  private Balancers() {}

  /**
   * Weighted random: each endpoint is picked with probability proportional to its weight. The
   * first-cut balancer; stateless, so it ignores attempt results.
   */
  public static LoadBalancer.Factory weightedRandom() {
    return WeightedRandomBalancer::new;
  }
}
