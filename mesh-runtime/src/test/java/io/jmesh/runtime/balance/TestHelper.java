package io.jmesh.runtime.balance;

import io.jmesh.runtime.Endpoint;
import io.jmesh.runtime.time.FakeTicker;
import io.jmesh.runtime.time.Ticker;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.random.RandomGenerator;

/**
 * A balancer helper for tests: seeded randomness, fake time, and a breaker double whose ejected
 * set the test edits.
 */
final class TestHelper implements LoadBalancer.Helper {
  final FakeTicker ticker = new FakeTicker();
  final Set<Endpoint> ejected = ConcurrentHashMap.newKeySet();
  private final RandomGenerator random;

  TestHelper(long seed) {
    this.random = new SplittableRandom(seed);
  }

  @Override
  public String name() {
    return "hello.default";
  }

  @Override
  public RandomGenerator random() {
    return random;
  }

  @Override
  public Ticker ticker() {
    return ticker;
  }

  @Override
  public EndpointFilter filter() {
    return e -> !ejected.contains(e);
  }
}
