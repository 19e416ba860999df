package io.jmesh.controller.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceListBuilder;
import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.api.model.WatchEvent;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.jmesh.runtime.config.MeshSnapshot;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Errors on the API server's side of the source, against fabric8's mock API server in CRUD mode
 * with expectations mixed in for what CRUD mode cannot do.
 *
 * <p>What this covers: a watch that ends with {@code 410 Gone} (an {@code ERROR} watch event
 * carrying a Status with code 410, as an API server sends when the watch's resourceVersion is too
 * old) makes the informer list again, and a relist that no longer finds an object removes it from
 * the snapshot; a {@code 409 Conflict} on a route status write is logged, naming the route, and
 * the status is written again on a later change. Not shown: that nothing is retried while nothing
 * changes (CRUD mode's watch replays and the other routes' writes are changes).
 *
 * <p>What it does not: CRUD mode keeps no history, so it cannot itself answer 410 to a watch with
 * an old resourceVersion, nor send the DELETED events a real watch would replay; so the first list
 * is an expectation answering what the cluster held <em>before</em> an outage (with a
 * resourceVersion of 5, which fixes the path of the watch that follows), and the CRUD store holds
 * what it holds <em>after</em>: the object deleted meanwhile is in the first and not in the
 * second. A watch the server closes without an error (the informer then watches again from its
 * last resourceVersion, without a list) is not tested: CRUD mode replays every object as ADDED on
 * a new watch and sends no DELETED for what went meanwhile, which a real API server would.
 */
@EnableKubernetesMockClient(crud = true)
class KubernetesWatchErrorsIT {
  static final String SERVICES = "/api/v1/services";

  KubernetesClient client; // an instance field: a fresh server for every test
  KubernetesMockServer server;

  private final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();
  private final List<MeshSnapshot> snapshots = new CopyOnWriteArrayList<>();
  private KubernetesMeshSource source;

  @AfterEach
  void close() {
    if (source != null) {
      source.close();
    }
    executor.shutdownNow();
  }

  private KubernetesMeshSource start() {
    return MockApi.source(client, "solo", Duration.ofSeconds(15), executor, snapshots::add);
  }

  private MeshSnapshot latest() {
    return MockApi.latest(snapshots);
  }

  @Test
  void aWatchEndingIn410ListsAgainAndDropsWhatWasDeletedMeanwhile() throws Exception {
    MockApi.apply(client, "endpoints/objects.yaml");
    // What the cluster held before the outage: both Services. Service echo is deleted while the
    // watch is down, so the store (the cluster now) no longer has it.
    List<Service> before =
        client.services().inNamespace("mesh").list().getItems().stream()
            .filter(s -> !s.getMetadata().getName().equals("external"))
            .toList();
    client.services().inNamespace("mesh").withName("echo").delete();
    server
        .expect()
        .get()
        .withPath(SERVICES + "?resourceVersion=0")
        .andReturn(
            200,
            new ServiceListBuilder().withNewMetadata().withResourceVersion("5").endMetadata()
                .withItems(before).build())
        .once();
    // The watch from that list's resourceVersion is too old: the API server answers 410 in an
    // ERROR event, then closes it.
    server
        .expect()
        .get()
        .withPath(
            SERVICES + "?allowWatchBookmarks=true&resourceVersion=5&timeoutSeconds=600&watch=true")
        .andUpgradeToWebSocket()
        .open()
        .immediately()
        .andEmit(
            new WatchEvent(
                new StatusBuilder()
                    .withStatus("Failure")
                    .withCode(410)
                    .withReason("Expired")
                    .withMessage("too old resource version: 5 (42)")
                    .build(),
                "ERROR"))
        .done()
        .once();

    source = start();

    // The informer listed again after the 410: the snapshot follows the cluster as it is now.
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(latest().service("old", "mesh")).isPresent();
      assertThat(latest().service("echo", "mesh")).isEmpty();
    });
    // The new watch may start just after the snapshot: collect until it is there.
    List<String> serviceRequests = new java.util.ArrayList<>();
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      drainRequests().stream()
          .map(RecordedRequest::getPath)
          .filter(p -> p.equals(SERVICES) || p.startsWith(SERVICES + "?"))
          .forEach(serviceRequests::add);
      return serviceRequests.size() >= 4;
    });
    // The stale list, the watch that met the 410, a second list (without resourceVersion: from
    // the API server's storage, not a cache), a new watch from that list.
    assertThat(serviceRequests.get(0)).isEqualTo(SERVICES + "?resourceVersion=0");
    assertThat(serviceRequests.get(1)).contains("resourceVersion=5&").contains("watch=true");
    assertThat(serviceRequests.get(2)).isEqualTo(SERVICES);
    assertThat(serviceRequests.get(3)).contains("watch=true");
    assertThat(source.lastError()).isEmpty();
  }

  @Test
  void aStatusWriteMeeting409IsLoggedAndDoneOnTheNextChange() throws Exception {
    MockApi.apply(client, "statuses/objects.yaml");
    String statusPath =
        "/apis/gateway.networking.k8s.io/v1/namespaces/mesh/httproutes/missing-backend/status";
    // Someone else updated the route between our read and our write.
    server
        .expect()
        .put()
        .withPath(statusPath)
        .andReturn(
            409,
            new StatusBuilder()
                .withStatus("Failure")
                .withCode(409)
                .withReason("Conflict")
                .withMessage(
                    "Operation cannot be fulfilled on httproutes.gateway.networking.k8s.io"
                        + " \"missing-backend\": the object has been modified; please apply your"
                        + " changes to the latest version and try again")
                .build())
        .once();

    List<String> warnings = new CopyOnWriteArrayList<>();
    Logger log = Logger.getLogger(RouteStatusWriter.class.getName());
    Handler capture =
        new Handler() {
          @Override
          public void publish(LogRecord record) {
            warnings.add(record.getMessage());
          }

          @Override
          public void flush() {}

          @Override
          public void close() {}
        };
    log.addHandler(capture);
    try {
      source = start();

      // The refused write is logged, naming the route and the answer; the status is written on a
      // later flush. In CRUD mode that comes at once: the other routes' status writes and the
      // watches' replays are changes too, so "nothing changed since" cannot be held here.
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
          assertThat(conditions("missing-backend"))
              .containsExactly("Accepted True Accepted", "ResolvedRefs False BackendNotFound"));
    } finally {
      log.removeHandler(capture);
    }
    assertThat(warnings)
        .anyMatch(w -> w.startsWith(
                "kubernetes: cannot write the status of HTTPRoute mesh/missing-backend (HTTP 409)")
            && w.endsWith("; tried again on its next change"));
    // Two writes of that status: the one refused, the one that landed.
    assertThat(drainRequests().stream()
            .filter(r -> r.getMethod().equals("PUT") && r.getPath().equals(statusPath)))
        .hasSize(2);
  }

  private List<RecordedRequest> drainRequests() throws InterruptedException {
    return MockApi.drainRequests(server);
  }

  private List<String> conditions(String route) {
    return MockApi.conditions(client, route);
  }
}
