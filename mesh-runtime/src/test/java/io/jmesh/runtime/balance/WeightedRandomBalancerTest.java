package io.jmesh.runtime.balance;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmesh.runtime.Endpoint;
import io.jmesh.runtime.config.ServiceEndpoint;
import io.jmesh.runtime.time.FakeTicker;
import io.jmesh.runtime.time.Ticker;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

class WeightedRandomBalancerTest {
  private static final ServiceEndpoint A = new ServiceEndpoint("10.0.0.1", 80, 1, Map.of());
  private static final ServiceEndpoint B = new ServiceEndpoint("10.0.0.2", 80, 2, Map.of());
  private static final ServiceEndpoint C = new ServiceEndpoint("10.0.0.3", 80, 7, Map.of());

  private static LoadBalancer balancer(long seed) {
    RandomGenerator random = new SplittableRandom(seed);
    Ticker ticker = new FakeTicker();
    return Balancers.weightedRandom().newLoadBalancer(new LoadBalancer.Helper() {
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
    });
  }

  @Test
  void noEndpointGivesNull() {
    LoadBalancer lb = balancer(1);
    assertThat(lb.picker().pick(null)).isNull();
    lb.updateEndpoints(List.of());
    assertThat(lb.picker().pick(A)).isNull();
  }

  @Test
  void picksInProportionToWeight() {
    LoadBalancer lb = balancer(3);
    lb.updateEndpoints(List.of(A, B, C));

    Map<Endpoint, Integer> counts = new HashMap<>();
    for (int i = 0; i < 100_000; i++) {
      counts.merge(lb.picker().pick(null), 1, Integer::sum);
    }

    assertThat(counts.get(A) / 1000.0).isBetween(9.0, 11.0);
    assertThat(counts.get(B) / 1000.0).isBetween(19.0, 21.0);
    assertThat(counts.get(C) / 1000.0).isBetween(69.0, 71.0);
  }

  @Test
  void avoidingAnEndpointSpreadsOverTheOthersByWeight() {
    LoadBalancer lb = balancer(4);
    lb.updateEndpoints(List.of(A, B, C));

    Map<Endpoint, Integer> counts = new HashMap<>();
    for (int i = 0; i < 90_000; i++) {
      counts.merge(lb.picker().pick(B), 1, Integer::sum);
    }

    // Without B: A takes 1/8, C 7/8.
    assertThat(counts).doesNotContainKey(B);
    assertThat(counts.get(A) / 900.0).isBetween(11.5, 13.5);
  }

  @Test
  void aSingleEndpointIsPickedEvenWhenAvoided() {
    LoadBalancer lb = balancer(5);
    lb.updateEndpoints(List.of(A));
    assertThat(lb.picker().pick(A)).isEqualTo(A);
  }

  @Test
  void anUpdatePublishesANewPickerAndLeavesTheOldOneWorking() {
    LoadBalancer lb = balancer(6);
    lb.updateEndpoints(List.of(A));
    LoadBalancer.Picker old = lb.picker();

    lb.updateEndpoints(List.of(B));

    assertThat(old.pick(null)).isEqualTo(A);
    assertThat(lb.picker().pick(null)).isEqualTo(B);
  }
}
