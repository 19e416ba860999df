package io.jmesh.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmesh.runtime.balance.LoadBalancer;
import io.jmesh.runtime.config.Backend;
import io.jmesh.runtime.config.MeshConfigParser;
import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.config.Route;
import io.jmesh.runtime.config.RouteMatch;
import io.jmesh.runtime.config.Service;
import io.jmesh.runtime.config.ServiceEndpoint;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SplitTest {
  private static final int N = 10_000;

  private static final String CONFIG = """
      services:
        - name: hello
          ports: [8080]
          endpoints:
            - {address: 127.0.0.2, port: 18081, labels: {version: v1}}
            - {address: 127.0.0.3, port: 18081, labels: {version: v1}}
            - {address: 127.0.0.4, port: 18081, labels: {version: v2}}
          routes:
            - name: canary-by-header
              matches:
                - headers: [{name: x-canary, value: "always"}]
              backends:
                - {subset: {version: v2}, weight: 1}
            - name: split
              matches: [{path: {prefix: /}}]
              backends:
                - {subset: {version: v3}, weight: 0}
                - {subset: {version: v1}, weight: 90}
                - {subset: {version: v2}, weight: 10}
      """;

  private static MeshRuntime runtime(long seed) throws Exception {
    MeshSnapshot snapshot = MeshConfigParser.parse("split.yaml", CONFIG, "default");
    return MeshRuntime.builder().snapshot(snapshot).random(new SplittableRandom(seed)).build();
  }

  private static Map<String, Integer> versions(MeshRuntime runtime, Map<String, String> headers) {
    Map<String, Integer> counts = new HashMap<>();
    for (int i = 0; i < N; i++) {
      OutboundCall call = runtime.route(Requests.request("GET", "hello", 8080, "/x", headers));
      Endpoint endpoint = call.nextEndpoint();
      assertThat(endpoint).as("endpoint of route %s", call.routeName()).isNotNull();
      counts.merge(endpoint.labels().get("version"), 1, Integer::sum);
    }
    return counts;
  }

  @Test
  void ninetyTenSplitWithinTwoPoints() throws Exception {
    for (long seed : new long[] {1, 2, 3}) {
      Map<String, Integer> counts = versions(runtime(seed), Map.of());

      // v3 (weight 0, declared first) is never chosen; it has no endpoint, so nextEndpoint would
      // have returned null and failed above.
      assertThat(counts.keySet()).containsOnly("v1", "v2");
      double v2Share = counts.get("v2") * 100.0 / N;
      assertThat(v2Share).as("seed %d: v2 share in %%", seed).isBetween(8.0, 12.0);
    }
  }

  @Test
  void headerRouteAlwaysGoesToV2() throws Exception {
    MeshRuntime runtime = runtime(7);

    Map<String, Integer> counts = versions(runtime, Map.of("X-Canary", "always"));

    assertThat(counts).containsOnly(Map.entry("v2", N));
    assertThat(runtime.route(Requests.request("GET", "hello", 8080, "/", Map.of("x-canary", "always")))
        .routeName()).isEqualTo("canary-by-header");
  }

  @Test
  void endpointWeightsAreHonoured() {
    ServiceEndpoint light = new ServiceEndpoint("10.0.0.1", 80, 1, Map.of());
    ServiceEndpoint heavy = new ServiceEndpoint("10.0.0.2", 80, 3, Map.of());
    Service service = new Service("hello", "default", List.of(80), List.of(light, heavy), List.of());
    MeshRuntime runtime = MeshRuntime.builder()
        .snapshot(new MeshSnapshot("t", List.of(service)))
        .random(new SplittableRandom(11))
        .build();

    int heavyCount = 0;
    for (int i = 0; i < N; i++) {
      if (runtime.route(Requests.get("hello", 80, "/")).nextEndpoint().equals(heavy)) {
        heavyCount++;
      }
    }

    assertThat(heavyCount * 100.0 / N).isBetween(73.0, 77.0); // expected 75%
  }

  @Test
  void secondAttemptAvoidsTheEndpointOfTheFirst() throws Exception {
    MeshRuntime runtime = runtime(5);

    for (int i = 0; i < 1000; i++) {
      OutboundCall call = runtime.route(Requests.get("hello", 8080, "/"));
      Endpoint first = call.nextEndpoint();
      Endpoint second = call.nextEndpoint();
      if (first.labels().get("version").equals("v1")) {
        // Two v1 endpoints: the retry goes to the other one.
        assertThat(second).isNotEqualTo(first);
      } else {
        // v2 has one endpoint: the retry has no other choice.
        assertThat(second).isEqualTo(first);
      }
    }
  }

  @Test
  void anEmptySubsetGivesNoEndpoint() {
    Service service = new Service("hello", "default", List.of(80),
        List.of(new ServiceEndpoint("10.0.0.1", 80, 1, Map.of("version", "v1"))),
        List.of(new Route("v9", List.of(RouteMatch.ANY), List.of(new Backend(Map.of("version", "v9"), 1)))));
    MeshRuntime runtime = MeshRuntime.of(new MeshSnapshot("t", List.of(service)), MeshRuntime.Options.defaults());

    OutboundCall call = runtime.route(Requests.get("hello", 80, "/"));

    assertThat(call.routeName()).isEqualTo("v9");
    assertThat(call.nextEndpoint()).isNull();
  }

  @Test
  void attemptResultsReachTheBalancer_andBalancersOutliveSnapshots() {
    List<String> events = new ArrayList<>();
    List<LoadBalancer> created = new ArrayList<>();
    LoadBalancer.Factory recording = helper -> {
      LoadBalancer lb = new LoadBalancer() {
        volatile List<? extends Endpoint> endpoints = List.of();

        @Override
        public void updateEndpoints(List<? extends Endpoint> update) {
          endpoints = update;
          events.add("update " + helper.name() + " " + update.size());
        }

        @Override
        public Picker picker() {
          List<? extends Endpoint> current = endpoints;
          return avoid -> current.isEmpty() ? null : current.get(0);
        }

        @Override
        public void attemptFinished(Endpoint endpoint, boolean success, long durationNanos) {
          events.add("finished " + endpoint.host() + " " + success + " " + durationNanos);
        }

        @Override
        public void shutdown() {
          events.add("shutdown " + helper.name());
        }
      };
      created.add(lb);
      return lb;
    };
    ServiceEndpoint a = ServiceEndpoint.of("10.0.0.1", 80);
    Service one = new Service("hello", "default", List.of(80), List.of(a), List.of());
    MeshRuntime runtime = MeshRuntime.builder()
        .snapshot(new MeshSnapshot("1", List.of(one)))
        .balancerFactory(recording)
        .build();

    OutboundCall call = runtime.route(Requests.get("hello", 80, "/"));
    call.attemptFinished(call.nextEndpoint(), io.jmesh.runtime.retry.AttemptOutcome.success(), 1234);

    // A new snapshot with one more endpoint updates the same balancer instead of creating one.
    Service two = new Service("hello", "default", List.of(80),
        List.of(a, ServiceEndpoint.of("10.0.0.2", 80)), List.of());
    runtime.update(new MeshSnapshot("2", List.of(two)));
    // A snapshot without the service shuts its balancer down.
    runtime.update(new MeshSnapshot("3", List.of()));

    assertThat(created).hasSize(1);
    assertThat(events).containsExactly(
        "update hello.default 1",
        "finished 10.0.0.1 true 1234",
        "update hello.default 2",
        "shutdown hello.default");
  }
}
