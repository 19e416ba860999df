package io.jmesh.controller.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.RouteParentStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.jmesh.controller.source.MeshSource;
import io.jmesh.runtime.config.MeshSnapshot;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** What the ITs on fabric8's mock API server (CRUD mode) do alike. */
final class MockApi {
  private MockApi() {}

  /** Creates, or updates, every object of a fixture. */
  static void apply(KubernetesClient client, String fixture) {
    for (HasMetadata o : Fixtures.objects(fixture)) {
      client.resource(o).createOr(r -> r.update());
    }
  }

  /**
   * A started source on a client of its own (closing the source closes it, not the test's), with
   * no debounce (DebouncerTest covers it on fake time), campaigning as {@code identity}.
   */
  static KubernetesMeshSource source(
      KubernetesClient client,
      String identity,
      Duration leaseDuration,
      ScheduledExecutorService executor,
      MeshSource.Listener listener) {
    KubernetesClient own =
        new KubernetesClientBuilder().withConfig(client.getConfiguration()).build();
    KubernetesMeshSource s =
        new KubernetesMeshSource(
            own, "cluster.local", KubernetesHaIT.lease(identity, leaseDuration),
            Debouncer.Scheduler.of(executor), null, Duration.ZERO, Duration.ZERO,
            Clock.systemUTC());
    s.start(listener);
    return s;
  }

  /** The last of {@code snapshots}, or the empty one. */
  static MeshSnapshot latest(List<MeshSnapshot> snapshots) {
    return snapshots.isEmpty() ? MeshSnapshot.empty() : snapshots.get(snapshots.size() - 1);
  }

  /**
   * The conditions jmesh wrote for HTTPRoute {@code mesh/route}'s first parent, as {@code "type
   * status reason"}; none while it has no status.
   */
  static List<String> conditions(KubernetesClient client, String route) {
    HTTPRoute r = client.resources(HTTPRoute.class).inNamespace("mesh").withName(route).get();
    if (r.getStatus() == null) {
      return List.of();
    }
    RouteParentStatus parent = r.getStatus().getParents().get(0);
    assertThat(parent.getControllerName()).isEqualTo(RouteStatusWriter.CONTROLLER_NAME);
    return parent.getConditions().stream()
        .map((Condition c) -> c.getType() + " " + c.getStatus() + " " + c.getReason())
        .toList();
  }

  /** The requests the server has recorded since the last drain. */
  static List<RecordedRequest> drainRequests(KubernetesMockServer server)
      throws InterruptedException {
    List<RecordedRequest> requests = new ArrayList<>();
    for (RecordedRequest r; (r = server.takeRequest(0, TimeUnit.SECONDS)) != null; ) {
      requests.add(r);
    }
    return requests;
  }
}
