package io.jmesh.runtime.sim;

import java.time.Duration;
import java.util.List;

/**
 * A named set of modelled endpoints, one model per endpoint, in the order the balancer receives
 * them.
 */
record Scenario(String name, List<EndpointModel> endpoints) {
  static final Duration SLOWDOWN = Duration.ofMillis(50);
  static final Duration FLAP_PERIOD = Duration.ofSeconds(5);

  Scenario {
    endpoints = List.copyOf(endpoints);
    if (endpoints.isEmpty()) {
      throw new IllegalArgumentException(
          "scenario " + name + ": no endpoints (expected: >= 1)");
    }
  }

  static Scenario healthy() {
    return new Scenario("healthy", List.of(ok(), ok(), ok()));
  }

  /** (a) One endpoint is 50 ms slower than the others. */
  static Scenario oneSlow() {
    return new Scenario("a: one slow", List.of(ok(), ok(), EndpointModel.slower(SLOWDOWN)));
  }

  /** (b) One endpoint answers every attempt with a fast 503. */
  static Scenario oneFailing() {
    return new Scenario("b: one 503", List.of(ok(), ok(), EndpointModel.unavailable()));
  }

  /** (c) One endpoint alternates 5 s healthy and 5 s 50 ms slower. */
  static Scenario flappingSlow() {
    return new Scenario(
        "c: flap slow",
        List.of(
            ok(), ok(), EndpointModel.flapping(FLAP_PERIOD, ok(), EndpointModel.slower(SLOWDOWN))));
  }

  /** (c') One endpoint alternates 5 s healthy and 5 s answering only 503. */
  static Scenario flappingFailing() {
    return new Scenario(
        "c': flap 503",
        List.of(
            ok(), ok(), EndpointModel.flapping(FLAP_PERIOD, ok(), EndpointModel.unavailable())));
  }

  /** (d) Every endpoint answers every attempt with a fast 503. */
  static Scenario allFailing() {
    return new Scenario(
        "d: all 503",
        List.of(
            EndpointModel.unavailable(), EndpointModel.unavailable(), EndpointModel.unavailable()));
  }

  /** Every scenario of the table, in its order. */
  static List<Scenario> all() {
    return List.of(
        healthy(), oneSlow(), oneFailing(), flappingSlow(), flappingFailing(), allFailing());
  }

  private static EndpointModel ok() {
    return EndpointModel.healthy();
  }
}
