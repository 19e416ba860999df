package io.jmesh.runtime.balance;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmesh.runtime.Endpoint;
import io.jmesh.runtime.config.ServiceEndpoint;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What every balancer promises, whatever its policy: availability, panic mode, {@code avoid},
 * updates. Written once and run against each factory.
 */
class PickerContractTest {
  private static final Endpoint A = ServiceEndpoint.of("10.0.0.1", 80);
  private static final Endpoint B = ServiceEndpoint.of("10.0.0.2", 80);
  private static final Endpoint C = ServiceEndpoint.of("10.0.0.3", 80);
  private static final int N = 3_000;

  static Stream<Arguments> balancers() {
    return Stream.of(
        Arguments.of("weightedRandom", (Supplier<LoadBalancer.Factory>) Balancers::weightedRandom),
        Arguments.of("roundRobin", (Supplier<LoadBalancer.Factory>) Balancers::roundRobin),
        Arguments.of("leastRequest", (Supplier<LoadBalancer.Factory>) Balancers::leastRequest),
        Arguments.of("peakEwma", (Supplier<LoadBalancer.Factory>) Balancers::peakEwma));
  }

  private TestHelper helper;

  private LoadBalancer balancer(Supplier<LoadBalancer.Factory> factory, Endpoint... endpoints) {
    helper = new TestHelper(42);
    LoadBalancer lb = factory.get().newLoadBalancer(helper);
    lb.updateEndpoints(List.of(endpoints));
    return lb;
  }

  /** Picks {@code n} times, each attempt started and finished at once with the same latency. */
  private static Map<Endpoint, Integer> pickMany(LoadBalancer lb, Endpoint avoid, int n) {
    Map<Endpoint, Integer> counts = new HashMap<>();
    for (int i = 0; i < n; i++) {
      Endpoint e = lb.picker().pick(avoid);
      lb.attemptStarted(e);
      lb.attemptFinished(e, true, 1_000_000);
      counts.merge(e, 1, Integer::sum);
    }
    return counts;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("balancers")
  void noEndpointGivesNull(String name, Supplier<LoadBalancer.Factory> factory) {
    LoadBalancer lb = balancer(factory);
    assertThat(lb.picker().pick(null)).isNull();
    assertThat(lb.picker().pick(A)).isNull();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("balancers")
  void everyEndpointGetsTraffic(String name, Supplier<LoadBalancer.Factory> factory) {
    LoadBalancer lb = balancer(factory, A, B, C);
    assertThat(pickMany(lb, null, N)).containsOnlyKeys(A, B, C);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("balancers")
  void anEjectedEndpointGetsNoTraffic(String name, Supplier<LoadBalancer.Factory> factory) {
    LoadBalancer lb = balancer(factory, A, B, C);
    LoadBalancer.Picker picker = lb.picker();

    // The breaker ejects B: the picker in force obeys at once, without an update.
    helper.ejected.add(B);
    assertThat(pickMany(lb, null, N)).containsOnlyKeys(A, C);
    assertThat(lb.picker()).isSameAs(picker);

    // B comes back.
    helper.ejected.clear();
    assertThat(pickMany(lb, null, N)).containsOnlyKeys(A, B, C);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("balancers")
  void panicModeSpreadsOverAllWhenNoneIsAvailable(
      String name, Supplier<LoadBalancer.Factory> factory) {
    LoadBalancer lb = balancer(factory, A, B, C);
    helper.ejected.addAll(List.of(A, B, C));

    assertThat(pickMany(lb, null, N)).containsOnlyKeys(A, B, C);
    // Panic mode still honours avoid.
    assertThat(pickMany(lb, B, N)).containsOnlyKeys(A, C);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("balancers")
  void avoidedEndpointIsNotPickedWhileAnotherExists(
      String name, Supplier<LoadBalancer.Factory> factory) {
    LoadBalancer lb = balancer(factory, A, B, C);
    assertThat(pickMany(lb, A, N)).containsOnlyKeys(B, C);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("balancers")
  void aSingleEndpointIsPickedEvenWhenAvoided(
      String name, Supplier<LoadBalancer.Factory> factory) {
    LoadBalancer lb = balancer(factory, A);
    assertThat(lb.picker().pick(A)).isEqualTo(A);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("balancers")
  void availabilityBeatsAvoid(String name, Supplier<LoadBalancer.Factory> factory) {
    LoadBalancer lb = balancer(factory, A, B, C);
    helper.ejected.addAll(List.of(B, C));

    // The retry goes back to A, the only healthy endpoint, rather than to an ejected one.
    assertThat(pickMany(lb, A, 100)).containsOnlyKeys(A);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("balancers")
  void anUpdatePublishesANewPickerAndLeavesTheOldOneWorking(
      String name, Supplier<LoadBalancer.Factory> factory) {
    LoadBalancer lb = balancer(factory, A);
    LoadBalancer.Picker old = lb.picker();

    lb.updateEndpoints(List.of(B));

    assertThat(old.pick(null)).isEqualTo(A);
    assertThat(lb.picker().pick(null)).isEqualTo(B);
    // Reports for an endpoint the balancer no longer holds are ignored.
    lb.attemptStarted(A);
    lb.attemptFinished(A, false, 5);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("balancers")
  void shutdownLeavesTheLastPickerWorking(String name, Supplier<LoadBalancer.Factory> factory) {
    LoadBalancer lb = balancer(factory, A, B);
    LoadBalancer.Picker picker = lb.picker();

    lb.shutdown();
    lb.shutdown();

    assertThat(picker.pick(A)).isEqualTo(B);
  }
}
