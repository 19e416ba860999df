package io.jmesh.runtime.balance;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmesh.runtime.Endpoint;
import io.jmesh.runtime.config.ServiceEndpoint;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RoundRobinBalancerTest {
  private static final Endpoint A = ServiceEndpoint.of("10.0.0.1", 80);
  private static final Endpoint B = ServiceEndpoint.of("10.0.0.2", 80);
  private static final Endpoint C = ServiceEndpoint.of("10.0.0.3", 80);

  private final TestHelper helper = new TestHelper(13);
  private final LoadBalancer lb = Balancers.roundRobin().newLoadBalancer(helper);

  @Test
  void distributesExactlyEvenlyInListOrder() {
    lb.updateEndpoints(List.of(A, B, C));

    List<Endpoint> sequence = new ArrayList<>();
    Map<Endpoint, Integer> counts = new HashMap<>();
    for (int i = 0; i < 3_000; i++) {
      Endpoint e = lb.picker().pick(null);
      sequence.add(e);
      counts.merge(e, 1, Integer::sum);
    }

    assertThat(counts).containsEntry(A, 1_000).containsEntry(B, 1_000).containsEntry(C, 1_000);
    // Whatever the random start, each pick is the successor of the previous one.
    List<Endpoint> order = List.of(A, B, C);
    for (int i = 1; i < sequence.size(); i++) {
      int previous = order.indexOf(sequence.get(i - 1));
      assertThat(sequence.get(i)).isEqualTo(order.get((previous + 1) % 3));
    }
  }

  @Test
  void anEjectedEndpointsTurnGoesToTheNext() {
    lb.updateEndpoints(List.of(A, B, C));
    helper.ejected.add(B);

    Map<Endpoint, Integer> counts = new HashMap<>();
    for (int i = 0; i < 3_000; i++) {
      counts.merge(lb.picker().pick(null), 1, Integer::sum);
    }

    // B's turns go to C.
    assertThat(counts).containsEntry(A, 1_000).containsEntry(C, 2_000).doesNotContainKey(B);
  }
}
