package io.jmesh.runtime.balance;

import io.jmesh.runtime.Endpoint;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * Picks endpoints at random in proportion to their weight. Chosen as the first cut because its
 * picker needs no mutable state at all (round-robin would need a shared counter), so picks never
 * contend.
 */
final class WeightedRandomBalancer implements LoadBalancer {
  private final LoadBalancer.Helper helper;
  private volatile Picker picker;

  WeightedRandomBalancer(LoadBalancer.Helper helper) {
    this.helper = helper;
    this.picker = new WeightedRandomPicker(List.of(), helper.filter(), helper.random());
  }

  @Override
  public void updateEndpoints(List<? extends Endpoint> endpoints) {
    picker = new WeightedRandomPicker(endpoints, helper.filter(), helper.random());
  }

  @Override
  public Picker picker() {
    return picker;
  }

  @Override
  public String toString() {
    return "WeightedRandomBalancer{" + helper.name() + "}";
  }

  /** Immutable: the endpoints and their cumulative weights. */
  static final class WeightedRandomPicker implements Picker {
    /** Weighted draws before the counting scan; see {@link Candidates}. */
    private static final int FAST_TRIES = 4;

    private final Candidates candidates;
    private final long[] cumulative; // cumulative[i] = sum of weights of endpoints[0..i]
    private final long total;
    private final RandomGenerator random;

    WeightedRandomPicker(
        List<? extends Endpoint> endpoints, EndpointFilter filter, RandomGenerator random) {
      this.candidates = new Candidates(endpoints, filter);
      this.cumulative = new long[endpoints.size()];
      long sum = 0;
      for (int i = 0; i < cumulative.length; i++) {
        sum += weight(i);
        cumulative[i] = sum;
      }
      this.total = sum;
      this.random = random;
    }

    @Override
    public Endpoint pick(Endpoint avoid) {
      int n = candidates.size();
      if (n == 0) {
        return null;
      }
      // Common case: draw over all weights and accept an eligible endpoint. Retrying on a miss is
      // exact in distribution (it is the draw conditioned on eligibility) and costs O(log n).
      for (int t = 0; t < FAST_TRIES; t++) {
        int i = find(random.nextLong(total));
        if (candidates.eligible(i, Candidates.PREFERRED, avoid)) {
          return candidates.get(i);
        }
      }
      // Degraded case (the avoided or ejected endpoints carry most of the weight): draw over the
      // weight of the eligible endpoints of the first non-empty tier.
      for (int tier = 0; tier < Candidates.TIERS; tier++) {
        if (!Candidates.worthTrying(tier, avoid)) {
          continue;
        }
        long eligibleWeight = 0;
        for (int i = 0; i < n; i++) {
          if (candidates.eligible(i, tier, avoid)) {
            eligibleWeight += weight(i);
          }
        }
        if (eligibleWeight == 0) {
          continue;
        }
        long r = random.nextLong(eligibleWeight);
        int last = -1;
        for (int i = 0; i < n; i++) {
          if (candidates.eligible(i, tier, avoid)) {
            r -= weight(i);
            last = i;
            if (r < 0) {
              return candidates.get(i);
            }
          }
        }
        if (last >= 0) {
          return candidates.get(last); // The filter changed between the two scans.
        }
      }
      return null;
    }

    private long weight(int i) {
      return Math.max(1, candidates.get(i).weight());
    }

    /** The first index whose cumulative weight exceeds {@code r}. */
    private int find(long r) {
      int lo = 0;
      int hi = cumulative.length - 1;
      while (lo < hi) {
        int mid = (lo + hi) >>> 1;
        if (cumulative[mid] > r) {
          hi = mid;
        } else {
          lo = mid + 1;
        }
      }
      return lo;
    }
  }
}
