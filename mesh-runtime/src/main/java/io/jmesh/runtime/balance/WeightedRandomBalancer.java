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
    this.picker = new WeightedRandomPicker(List.of(), helper.random());
  }

  @Override
  public void updateEndpoints(List<? extends Endpoint> endpoints) {
    picker = new WeightedRandomPicker(endpoints, helper.random());
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
    private final Endpoint[] endpoints;
    private final long[] cumulative; // cumulative[i] = sum of weights of endpoints[0..i]
    private final long total;
    private final RandomGenerator random;

    WeightedRandomPicker(List<? extends Endpoint> endpoints, RandomGenerator random) {
      this.endpoints = endpoints.toArray(new Endpoint[0]);
      this.cumulative = new long[this.endpoints.length];
      long sum = 0;
      for (int i = 0; i < this.endpoints.length; i++) {
        sum += Math.max(1, this.endpoints[i].weight());
        cumulative[i] = sum;
      }
      this.total = sum;
      this.random = random;
    }

    @Override
    public Endpoint pick(Endpoint avoid) {
      int n = endpoints.length;
      if (n == 0) {
        return null;
      }
      if (n == 1) {
        return endpoints[0];
      }
      int skip = avoid == null ? -1 : indexOf(avoid);
      if (skip < 0) {
        return endpoints[find(random.nextLong(total))];
      }
      // Draw over the weight of all endpoints but the avoided one, then step over its slot.
      long skipWeight = cumulative[skip] - (skip == 0 ? 0 : cumulative[skip - 1]);
      long r = random.nextLong(total - skipWeight);
      long skipStart = cumulative[skip] - skipWeight;
      if (r >= skipStart) {
        r += skipWeight;
      }
      return endpoints[find(r)];
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

    private int indexOf(Endpoint endpoint) {
      for (int i = 0; i < endpoints.length; i++) {
        if (endpoints[i].equals(endpoint)) {
          return i;
        }
      }
      return -1;
    }
  }
}
