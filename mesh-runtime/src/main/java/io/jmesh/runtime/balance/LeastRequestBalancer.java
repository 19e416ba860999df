package io.jmesh.runtime.balance;

import io.jmesh.runtime.Endpoint;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Least request, Envoy's default: power of two choices over the cost {@code (inFlight + 1) /
 * weight}. Blind to latency; kept as the baseline that peak-EWMA must beat in the simulator.
 *
 * <p>In-flight counts live in a {@link ConcurrentHashMap} keyed by endpoint, kept for endpoints an
 * update keeps; each picker holds its counters directly. Lock-free on the request path.
 */
final class LeastRequestBalancer implements LoadBalancer {
  private final Helper helper;
  private final ConcurrentHashMap<Endpoint, AtomicInteger> inFlight = new ConcurrentHashMap<>();
  private volatile Picker picker;

  LeastRequestBalancer(Helper helper) {
    this.helper = helper;
    this.picker = newPicker(List.of(), new AtomicInteger[0]);
  }

  @Override
  public void updateEndpoints(List<? extends Endpoint> endpoints) {
    inFlight.keySet().retainAll(new HashSet<>(endpoints));
    AtomicInteger[] counters = new AtomicInteger[endpoints.size()];
    for (int i = 0; i < counters.length; i++) {
      counters[i] = inFlight.computeIfAbsent(endpoints.get(i), e -> new AtomicInteger());
    }
    picker = newPicker(endpoints, counters);
  }

  private Picker newPicker(List<? extends Endpoint> endpoints, AtomicInteger[] counters) {
    return new LeastRequestPicker(
        new Candidates(endpoints, helper.filter()), counters, helper);
  }

  @Override
  public Picker picker() {
    return picker;
  }

  @Override
  public EndpointLoad load(Endpoint endpoint) {
    AtomicInteger counter = inFlight.get(endpoint);
    return counter == null ? null : new EndpointLoad(counter.get(), Double.NaN);
  }

  @Override
  public void attemptStarted(Endpoint endpoint) {
    AtomicInteger counter = inFlight.get(endpoint);
    if (counter != null) {
      counter.incrementAndGet();
    }
  }

  @Override
  public void attemptFinished(Endpoint endpoint, boolean success, long durationNanos) {
    AtomicInteger counter = inFlight.get(endpoint);
    if (counter != null) {
      // Never below zero: a finish whose start was not counted is ignored.
      counter.getAndUpdate(n -> n > 0 ? n - 1 : 0);
    }
  }

  @Override
  public void shutdown() {
    inFlight.clear();
  }

  @Override
  public String toString() {
    return "LeastRequestBalancer{" + helper.name() + "}";
  }

  /** Immutable: the candidates, their counters and weights, index for index. */
  static final class LeastRequestPicker extends PowerOfTwoChoicesPicker {
    private final AtomicInteger[] inFlight;
    private final int[] weights;

    LeastRequestPicker(Candidates candidates, AtomicInteger[] inFlight, Helper helper) {
      super(candidates, helper.random());
      this.inFlight = inFlight;
      this.weights = new int[inFlight.length];
      for (int i = 0; i < weights.length; i++) {
        weights[i] = Math.max(1, candidates.get(i).weight());
      }
    }

    @Override
    double cost(int index, long nowNanos) {
      return (inFlight[index].get() + 1) / (double) weights[index];
    }
  }
}
