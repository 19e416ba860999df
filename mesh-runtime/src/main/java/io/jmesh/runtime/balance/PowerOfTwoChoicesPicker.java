package io.jmesh.runtime.balance;

import io.jmesh.runtime.Endpoint;
import java.util.random.RandomGenerator;

/**
 * Power of two choices: draws two distinct random candidates among the eligible endpoints and
 * returns the cheaper. Comparing two random candidates instead of scanning for the cheapest keeps
 * picks O(1), and avoids the herd effect of every client sending to the one endpoint that looks
 * best at the same moment (Mitzenmacher, "The Power of Two Choices in Randomized Load Balancing").
 *
 * <p>Immutable; subclasses read live per-endpoint state in {@link #cost} and must not lock.
 */
abstract class PowerOfTwoChoicesPicker implements LoadBalancer.Picker {
  final Candidates candidates;
  private final RandomGenerator random;

  PowerOfTwoChoicesPicker(Candidates candidates, RandomGenerator random) {
    this.candidates = candidates;
    this.random = random;
  }

  /** The cost of sending one more request to the endpoint at {@code index}; lower is better. */
  abstract double cost(int index, long nowNanos);

  /** The time passed to {@link #cost}; read once per pick. */
  long nowNanos() {
    return 0;
  }

  @Override
  public Endpoint pick(Endpoint avoid) {
    for (int tier = 0; tier < Candidates.TIERS; tier++) {
      if (!Candidates.worthTrying(tier, avoid)) {
        continue;
      }
      int a = candidates.uniform(random, tier, avoid, -1);
      if (a < 0) {
        continue;
      }
      int b = candidates.uniform(random, tier, avoid, a);
      if (b < 0) {
        return candidates.get(a);
      }
      long now = nowNanos();
      // Ties go to the first draw, which is itself random.
      return candidates.get(cost(b, now) < cost(a, now) ? b : a);
    }
    return null;
  }
}
