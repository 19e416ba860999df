package io.jmesh.controller.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.ParentReference;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.ParentReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@link RouteStatusWriter} against the mock API server (CRUD mode), on a clock the test moves. */
@EnableKubernetesMockClient(crud = true)
class RouteStatusWriterIT {
  KubernetesMockServer server;
  KubernetesClient client;

  private final MovableClock clock = new MovableClock(Instant.parse("2026-12-07T16:00:00.250Z"));

  @Test
  void aCacheBehindItsOwnWriteWritesNothingAgainEvenASecondLater() throws Exception {
    MockApi.apply(client, "statuses/objects.yaml");
    HTTPRoute cached = route("missing-backend");
    RouteStatusWriter writer = new RouteStatusWriter(client, clock);
    Map<RouteStatus.Key, List<RouteStatus>> statuses = Map.of(
        new RouteStatus.Key(RouteStatus.Kind.HTTPRoute, "mesh", "missing-backend"),
        List.of(new RouteStatus(echo(), List.of(
            new RouteStatus.Condition("Accepted", "True", "Accepted", "accepted"),
            new RouteStatus.Condition("ResolvedRefs", "False", "BackendNotFound", "no nowhere")))));
    MockApi.drainRequests(server);

    writer.write(state(cached), statuses);
    assertThat(writer.writes()).isEqualTo(1);

    // Another object's change translates again before the cache holds the write, a second later:
    // the cached route is the one written from, and the write it made is its status.
    clock.advance(Duration.ofSeconds(1));
    writer.write(state(cached), statuses);
    assertThat(writer.writes()).isEqualTo(1);

    // The cache catches up: the same status, its transition times kept, so nothing to write.
    clock.advance(Duration.ofSeconds(1));
    HTTPRoute current = route("missing-backend");
    writer.write(state(current), statuses);
    assertThat(writer.writes()).isEqualTo(1);
    assertThat(MockApi.drainRequests(server).stream().filter(r -> r.getMethod().equals("PUT")))
        .hasSize(1);
    assertThat(current.getStatus().getParents().get(0).getConditions())
        .allMatch(c -> c.getLastTransitionTime().equals("2026-12-07T16:00:00Z"));

    // A different status is written at once, even from the cache the last write was made from.
    clock.advance(Duration.ofSeconds(1));
    Map<RouteStatus.Key, List<RouteStatus>> resolved = Map.of(
        new RouteStatus.Key(RouteStatus.Kind.HTTPRoute, "mesh", "missing-backend"),
        List.of(new RouteStatus(echo(), List.of(
            new RouteStatus.Condition("Accepted", "True", "Accepted", "accepted"),
            new RouteStatus.Condition("ResolvedRefs", "True", "ResolvedRefs", "resolved")))));
    writer.write(state(current), resolved);
    assertThat(writer.writes()).isEqualTo(2);
    assertThat(MockApi.conditions(client, "missing-backend"))
        .containsExactly("Accepted True Accepted", "ResolvedRefs True ResolvedRefs");
  }

  private HTTPRoute route(String name) {
    return client.resources(HTTPRoute.class).inNamespace("mesh").withName(name).get();
  }

  private static ParentReference echo() {
    return new ParentReferenceBuilder().withGroup("").withKind("Service").withName("echo").build();
  }

  private static ClusterState state(HTTPRoute route) {
    return new ClusterState(List.of(), List.of(), List.of(), List.of(route), List.of());
  }
}
