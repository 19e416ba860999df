package io.jmesh.runtime.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class PolicyConfigTest {
  private static final String FILE = "/etc/jmesh/mesh.yaml";

  private static MeshSnapshot parse(String... lines) throws MeshConfigException {
    return MeshConfigParser.parse(FILE, String.join("\n", lines) + "\n", "default");
  }

  private static final String RETRY_ON =
      "a list of connect-failure, reset, HTTP statuses 100..599 and gRPC codes cancelled,"
          + " deadline-exceeded, internal, resource-exhausted, unavailable (or UPPER_SNAKE: UNAVAILABLE)";

  private static String failure(String... lines) {
    return assertThatThrownBy(() -> parse(lines)).isInstanceOf(MeshConfigException.class).actual().getMessage();
  }

  @Test
  void defaultsFollowLinkerdAndEnvoy() throws Exception {
    Service s =
        parse(
                "services:",
                "  - name: hello",
                "    ports: [8080]",
                "    routes:",
                "      - backends: [{subset: {}, weight: 1}]")
            .services()
            .get(0);

    assertThat(s.policy()).isEqualTo(DestinationPolicy.DEFAULT);
    assertThat(s.policy().balancer()).isEqualTo(DestinationPolicy.Balancer.PEAK_EWMA);
    assertThat(s.policy().retryBudget()).isEqualTo(new DestinationPolicy.RetryBudget(0.2, 10, Duration.ofSeconds(10)));
    assertThat(s.policy().failureAccrual())
        .isEqualTo(new DestinationPolicy.FailureAccrual(7, Duration.ofSeconds(1), Duration.ofSeconds(60), 0.5));
    assertThat(s.policy().maxEjectionPercent()).isEqualTo(50);
    RoutePolicy r = s.routes().get(0).policy();
    assertThat(r).isEqualTo(RoutePolicy.DEFAULT);
    assertThat(r.timeout()).isNull();
    assertThat(r.retry().attempts()).isEqualTo(3);
    assertThat(r.retry().onStatus()).containsExactlyInAnyOrder(502, 503, 504);
    assertThat(r.retry().maxReplayBytes()).isEqualTo(65536);
    assertThat(r.fault().isNone()).isTrue();
  }

  @Test
  void readsEveryPolicyField() throws Exception {
    Service s =
        parse(
                "services:",
                "  - name: hello",
                "    ports: [8080]",
                "    policy:",
                "      balancer: least-request",
                "      retryBudget: {ratio: 0.1, minPerSecond: 5, ttl: 20s}",
                "      failureAccrual: {consecutiveFailures: 5, minPenalty: 500ms, maxPenalty: 2m, jitter: 0}",
                "      maxEjectionPercent: 30",
                "      maxInFlight: 100",
                "      maxPending: 10",
                "      rateLimit: {requestsPerSecond: 200, burst: 50}",
                "    routes:",
                "      - name: api",
                "        backends: [{subset: {}, weight: 1}]",
                "        timeout: 2s",
                "        retry:",
                "          attempts: 2",
                "          perTryTimeout: 300ms",
                "          on: [connect-failure, 500, 503]",
                "          nonIdempotent: true",
                "          backoff: {base: 10ms, max: 100ms}",
                "          maxReplayBytes: 1024",
                "        fault:",
                "          abort: {percent: 5, status: 500}",
                "          delay: {percent: 12.5, duration: 100ms}")
            .services()
            .get(0);

    DestinationPolicy p = s.policy();
    assertThat(p.balancer()).isEqualTo(DestinationPolicy.Balancer.LEAST_REQUEST);
    assertThat(p.retryBudget()).isEqualTo(new DestinationPolicy.RetryBudget(0.1, 5, Duration.ofSeconds(20)));
    assertThat(p.failureAccrual())
        .isEqualTo(new DestinationPolicy.FailureAccrual(5, Duration.ofMillis(500), Duration.ofMinutes(2), 0));
    assertThat(p.maxEjectionPercent()).isEqualTo(30);
    assertThat(p.maxInFlight()).isEqualTo(100);
    assertThat(p.maxPending()).isEqualTo(10);
    assertThat(p.rateLimit()).isEqualTo(new DestinationPolicy.RateLimit(200, 50));
    RoutePolicy r = s.routes().get(0).policy();
    assertThat(r.timeout()).isEqualTo(Duration.ofSeconds(2));
    assertThat(r.retry())
        .isEqualTo(
            new RoutePolicy.Retry(2, Duration.ofMillis(300), true, false, java.util.Set.of(500, 503), true,
                Duration.ofMillis(10), Duration.ofMillis(100), 1024));
    assertThat(r.fault()).isEqualTo(new RoutePolicy.Fault(5, 500, 12.5, Duration.ofMillis(100)));
  }

  @Test
  void badPolicyValuesNameFileLineFieldValueAndExpectation() {
    String[] head = {"services:", "  - name: hello", "    ports: [8080]"};
    assertThat(failure(head[0], head[1], head[2], "    policy: {balancer: fastest}"))
        .isEqualTo(FILE + ":4: services[0].policy.balancer: fastest (expected: one of peak-ewma, least-request, round-robin, random)");
    assertThat(failure(head[0], head[1], head[2], "    policy:", "      retryBudget: {ratio: -1}"))
        .isEqualTo(FILE + ":5: services[0].policy.retryBudget.ratio: -1 (expected: a number in 0..1000)");
    assertThat(failure(head[0], head[1], head[2], "    policy:", "      failureAccrual: {minPenalty: 10s, maxPenalty: 1s}"))
        .isEqualTo(FILE + ":5: services[0].policy.failureAccrual.maxPenalty: 1000ms (expected: at least minPenalty, 10000ms)");
    assertThat(failure(head[0], head[1], head[2], "    policy: {maxEjectionPercent: 150}"))
        .isEqualTo(FILE + ":4: services[0].policy.maxEjectionPercent: 150 (expected: an integer in 0..100)");
    assertThat(failure(head[0], head[1], head[2], "    policy: {circuitBreaker: on}"))
        .contains(FILE + ":4: services[0].policy: unknown field 'circuitBreaker' (expected one of: balancer, retryBudget,");
    String[] route = {head[0], head[1], head[2], "    routes:", "      - backends: [{subset: {}, weight: 1}]"};
    assertThat(failure(route[0], route[1], route[2], route[3], route[4], "        timeout: 10 seconds"))
        .isEqualTo(FILE + ":6: services[0].routes[0].timeout: 10 seconds (expected: a duration such as 250ms, 10s, 5m or 1h, at most 24h)");
    assertThat(failure(route[0], route[1], route[2], route[3], route[4], "        retry: {attempts: 0}"))
        .isEqualTo(FILE + ":6: services[0].routes[0].retry.attempts: 0 (expected: an integer in 1..10 (1 turns retries off))");
    assertThat(failure(route[0], route[1], route[2], route[3], route[4], "        retry:", "          on: [gateway-error]"))
        .isEqualTo(FILE + ":7: services[0].routes[0].retry.on[0]: gateway-error (expected: " + RETRY_ON + ")");
    assertThat(failure(route[0], route[1], route[2], route[3], route[4], "        fault:", "          abort: {percent: 101, status: 503}"))
        .isEqualTo(FILE + ":7: services[0].routes[0].fault.abort.percent: 101 (expected: a percentage in 0..100)");
    assertThat(failure(route[0], route[1], route[2], route[3], route[4], "        fault:", "          delay: {percent: 10}"))
        .isEqualTo(FILE + ":7: services[0].routes[0].fault.delay: missing field 'duration' (expected: a duration such as 100ms)");
  }

  @Test
  void retryOnTakesGrpcCodeNamesBesideHttpStatusesAndKeywords() throws Exception {
    MeshSnapshot s =
        parse(
            "services:",
            "  - name: hello",
            "    ports: [8080]",
            "    routes:",
            "      - name: rpc",
            "        backends: [{subset: {}, weight: 1}]",
            "        retry:",
            // Envoy's spelling and gRPC's enum spelling, mixed with what HTTP routes say.
            "          on: [unavailable, DEADLINE_EXCEEDED, resource-exhausted, connect-failure, 502]",
            "          nonIdempotent: true");
    RoutePolicy.Retry r = s.services().get(0).routes().get(0).policy().retry();
    assertThat(r.onGrpcStatus()).containsExactlyInAnyOrder(14, 4, 8);
    assertThat(r.onStatus()).containsExactly(502);
    assertThat(r.onConnectFailure()).isTrue();
    assertThat(r.onReset()).isFalse();

    // A route that lists no gRPC name retries no gRPC code of its own (its statuses still apply).
    RoutePolicy.Retry plain =
        parse("services:", "  - name: hello", "    ports: [8080]", "    routes:",
                "      - backends: [{subset: {}, weight: 1}]", "        retry: {on: [503]}")
            .services().get(0).routes().get(0).policy().retry();
    assertThat(plain.onGrpcStatus()).isEmpty();
    assertThat(RoutePolicy.Retry.DEFAULT.onGrpcStatus()).isEmpty();
  }

  @Test
  void aGrpcCodeEnvoyCannotRetryOnIsRefusedWithTheNamesExpected() {
    String[] route = {
      "services:", "  - name: hello", "    ports: [8080]", "    routes:",
      "      - backends: [{subset: {}, weight: 1}]", "        retry:"
    };
    // NOT_FOUND is a gRPC code, but no retry condition of Envoy's: the controller could not send it.
    assertThat(failure(route[0], route[1], route[2], route[3], route[4], route[5], "          on: [unavailable, NOT_FOUND]"))
        .isEqualTo(FILE + ":7: services[0].routes[0].retry.on[1]: NOT_FOUND (expected: " + RETRY_ON + ")");
    // A misspelling, and a mixed case that is neither spelling.
    assertThat(failure(route[0], route[1], route[2], route[3], route[4], route[5], "          on: [unavailabel]"))
        .isEqualTo(FILE + ":7: services[0].routes[0].retry.on[0]: unavailabel (expected: " + RETRY_ON + ")");
    assertThat(failure(route[0], route[1], route[2], route[3], route[4], route[5], "          on: [Unavailable]"))
        .isEqualTo(FILE + ":7: services[0].routes[0].retry.on[0]: Unavailable (expected: " + RETRY_ON + ")");
  }

  @Test
  void durationsReadEveryFormTheSharedParserReads() throws Exception {
    // The file reads what controller flags and the CLI read (parts, ISO-8601), still at most 24h.
    RoutePolicy r =
        parse(
                "services:",
                "  - name: hello",
                "    ports: [8080]",
                "    routes:",
                "      - backends: [{subset: {}, weight: 1}]",
                "        timeout: 1m30s",
                "        retry: {perTryTimeout: PT2S}")
            .services().get(0).routes().get(0).policy();
    assertThat(r.timeout()).isEqualTo(Duration.ofSeconds(90));
    assertThat(r.retry().perTryTimeout()).isEqualTo(Duration.ofSeconds(2));
    assertThat(
            failure(
                "services:",
                "  - name: hello",
                "    ports: [8080]",
                "    routes:",
                "      - backends: [{subset: {}, weight: 1}]",
                "        timeout: 1d1h"))
        .isEqualTo(FILE + ":6: services[0].routes[0].timeout: 1d1h (expected: a duration such as 250ms, 10s, 5m or 1h, at most 24h)");
  }
}
