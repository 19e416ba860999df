package io.jmesh.runtime.balance;

import io.jmesh.runtime.Endpoint;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Round robin: each pick takes the next eligible endpoint in list order. Ignores weights, latency
 * and load; kept as the simplest baseline for the simulator.
 *
 * <p>Each picker starts at a random position, so that many clients that receive the same update at
 * once do not all send their first request to the first endpoint (gRPC's round robin does the
 * same). An unavailable endpoint is skipped, which hands its turn to the next one.
 */
final class RoundRobinBalancer implements LoadBalancer {
  private final Helper helper;
  private volatile Picker picker;

  RoundRobinBalancer(Helper helper) {
    this.helper = helper;
    this.picker = newPicker(List.of());
  }

  @Override
  public void updateEndpoints(List<? extends Endpoint> endpoints) {
    picker = newPicker(endpoints);
  }

  private Picker newPicker(List<? extends Endpoint> endpoints) {
    int start = endpoints.isEmpty() ? 0 : helper.random().nextInt(endpoints.size());
    return new RoundRobinPicker(new Candidates(endpoints, helper.filter()), start);
  }

  @Override
  public Picker picker() {
    return picker;
  }

  @Override
  public String toString() {
    return "RoundRobinBalancer{" + helper.name() + "}";
  }

  /** Immutable apart from its position, a shared counter. */
  static final class RoundRobinPicker implements Picker {
    private final Candidates candidates;
    private final AtomicInteger next;

    RoundRobinPicker(Candidates candidates, int start) {
      this.candidates = candidates;
      this.next = new AtomicInteger(start);
    }

    @Override
    public Endpoint pick(Endpoint avoid) {
      int n = candidates.size();
      if (n == 0) {
        return null;
      }
      // floorMod: the counter wraps to negative after 2^31 picks.
      int start = Math.floorMod(next.getAndIncrement(), n);
      for (int tier = 0; tier < Candidates.TIERS; tier++) {
        if (Candidates.worthTrying(tier, avoid)) {
          int i = candidates.firstFrom(start, tier, avoid);
          if (i >= 0) {
            return candidates.get(i);
          }
        }
      }
      return null; // Unreachable: tier ANY accepts every endpoint.
    }
  }
}
