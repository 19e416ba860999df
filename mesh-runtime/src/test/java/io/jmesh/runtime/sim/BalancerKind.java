package io.jmesh.runtime.sim;

import io.jmesh.runtime.balance.Balancers;
import io.jmesh.runtime.balance.LoadBalancer;
import java.util.function.Supplier;

/** The balancers the simulator compares, each with its runtime defaults. */
enum BalancerKind {
  ROUND_ROBIN("round-robin", Balancers::roundRobin),
  RANDOM("random", Balancers::weightedRandom),
  LEAST_REQUEST("least-request", Balancers::leastRequest),
  PEAK_EWMA("peak-ewma", Balancers::peakEwma);

  private final String label;
  private final Supplier<LoadBalancer.Factory> factory;

  BalancerKind(String label, Supplier<LoadBalancer.Factory> factory) {
    this.label = label;
    this.factory = factory;
  }

  String label() {
    return label;
  }

  LoadBalancer.Factory factory() {
    return factory.get();
  }
}
