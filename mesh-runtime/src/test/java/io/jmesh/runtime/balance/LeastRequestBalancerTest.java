package io.jmesh.runtime.balance;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmesh.runtime.Endpoint;
import io.jmesh.runtime.config.ServiceEndpoint;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LeastRequestBalancerTest {
  private static final Endpoint A = ServiceEndpoint.of("10.0.0.1", 80);
  private static final Endpoint B = ServiceEndpoint.of("10.0.0.2", 80);
  private static final Endpoint C = ServiceEndpoint.of("10.0.0.3", 80);

  private final TestHelper helper = new TestHelper(11);
  private final LoadBalancer lb = Balancers.leastRequest().newLoadBalancer(helper);

  @Test
  void prefersAnIdleEndpoint() {
    lb.updateEndpoints(List.of(A, B, C));
    lb.attemptStarted(A);
    lb.attemptStarted(A);

    // A loses every comparison it takes part in; B and C share the traffic.
    Map<Endpoint, Integer> counts = new HashMap<>();
    for (int i = 0; i < 3_000; i++) {
      Endpoint e = lb.picker().pick(null);
      lb.attemptStarted(e);
      lb.attemptFinished(e, true, 1);
      counts.merge(e, 1, Integer::sum);
    }
    assertThat(counts).containsOnlyKeys(B, C);

    // A's requests finish and B and C each get one: A, now the idlest, wins every pair it is
    // drawn into, which is two pairs of three.
    lb.attemptFinished(A, true, 1);
    lb.attemptFinished(A, true, 1);
    lb.attemptStarted(B);
    lb.attemptStarted(C);
    int picksOfA = 0;
    for (int i = 0; i < 3_000; i++) {
      if (A.equals(lb.picker().pick(null))) {
        picksOfA++;
      }
    }
    assertThat(picksOfA).isBetween(1_900, 2_100);
  }

  @Test
  void spreadsConcurrentRequestsEvenly() {
    lb.updateEndpoints(List.of(A, B));
    Map<Endpoint, Integer> counts = new HashMap<>();
    for (int i = 0; i < 40; i++) {
      Endpoint e = lb.picker().pick(null);
      lb.attemptStarted(e); // Never finished: the counts only grow.
      counts.merge(e, 1, Integer::sum);
    }
    assertThat(counts.get(A)).isBetween(19, 21);
  }

  @Test
  void weightsDivideTheCost() {
    Endpoint heavy = new ServiceEndpoint("10.0.0.9", 80, 3, Map.of());
    lb.updateEndpoints(List.of(heavy, B));
    Map<Endpoint, Integer> counts = new HashMap<>();
    for (int i = 0; i < 40; i++) {
      Endpoint e = lb.picker().pick(null);
      lb.attemptStarted(e);
      counts.merge(e, 1, Integer::sum);
    }
    // Balance point: (h + 1) / 3 = b + 1 with h + b = 40, so h ≈ 30.5.
    assertThat(counts.get(heavy)).isBetween(29, 32);
  }

  @Test
  void inFlightOfKeptEndpointsSurvivesAnUpdate() {
    lb.updateEndpoints(List.of(A, B));
    lb.attemptStarted(A);

    lb.updateEndpoints(List.of(A, B, C));

    // A still has one in flight, so the idle B and C win every comparison with it.
    for (int i = 0; i < 300; i++) {
      assertThat(lb.picker().pick(null)).isNotEqualTo(A);
    }
  }
}
