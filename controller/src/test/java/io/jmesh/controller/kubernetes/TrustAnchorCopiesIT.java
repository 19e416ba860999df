package io.jmesh.controller.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.jmesh.controller.ca.CertificateAuthority;
import io.jmesh.controller.kubernetes.TrustAnchorCopies.Result;
import io.jmesh.controller.kubernetes.TrustAnchorCopies.Scope;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The anchors' copies kept by {@link TrustAnchorCopies} on fabric8's mock API server in CRUD
 * mode: its informers, its thread, real creates, updates and deletes. 409s, which CRUD mode does
 * not make on its own here, come from expectations. Every wait is a bounded poll.
 */
@EnableKubernetesMockClient(crud = true)
class TrustAnchorCopiesIT {
  static final String OWN = "jmesh-system";
  static final Duration WAIT = Duration.ofSeconds(10);

  KubernetesClient client; // an instance field: a fresh server for every test
  KubernetesMockServer server;

  private final AtomicBoolean leading = new AtomicBoolean(true);
  private final List<TrustAnchorCopies> started = new ArrayList<>();
  private String anchors;
  private String rotated;

  @BeforeEach
  void namespacesAndAnchors() throws Exception {
    Clock clock = Clock.systemUTC();
    anchors = CertificateAuthority.fromPems("test", CertificateAuthority.newCaPems("cluster.local", clock),
        "cluster.local", Duration.ofHours(24), clock).trustAnchorsPem();
    String next = CertificateAuthority.fromPems("next", CertificateAuthority.newCaPems("cluster.local", clock),
        "cluster.local", Duration.ofHours(24), clock).trustAnchorsPem();
    rotated = anchors + next; // step 1 of a rotation: the new anchor beside the old
    for (String ns : List.of(OWN, "kube-system", "shop", "web")) {
      namespace(ns);
    }
  }

  @AfterEach
  void close() {
    started.forEach(TrustAnchorCopies::close);
  }

  @Test
  void everyWorkloadNamespaceGetsACopyAndANewOneToo() {
    start(anchors);

    await().atMost(WAIT).untilAsserted(() -> {
      assertThat(pem("shop")).isEqualTo(anchors);
      assertThat(pem("web")).isEqualTo(anchors);
    });
    ConfigMap shop = copy("shop");
    assertThat(shop.getMetadata().getLabels()).containsEntry("app.kubernetes.io/managed-by", "jmesh-controller");
    // Not in the system's namespace, nor in the controller's own (TrustAnchorsConfigMap's).
    assertThat(copy("kube-system")).isNull();
    assertThat(copy(OWN)).isNull();

    // A namespace made later gets one without waiting for the minute's check.
    namespace("late");
    await().atMost(WAIT).untilAsserted(() -> assertThat(pem("late")).isEqualTo(anchors));
  }

  @Test
  void aDeletedCopyIsRecreatedAndAnEditedOneRewritten() {
    start(anchors);
    await().atMost(WAIT).untilAsserted(() -> {
      assertThat(pem("shop")).isEqualTo(anchors);
      assertThat(pem("web")).isEqualTo(anchors);
    });

    client.configMaps().inNamespace("shop").withName("jmesh-trust-anchors").delete();
    client.configMaps().inNamespace("web").withName("jmesh-trust-anchors")
        .edit(cm -> new ConfigMapBuilder(cm).addToData("trust-anchors.pem", "edited by hand").build());

    await().atMost(WAIT).untilAsserted(() -> {
      assertThat(pem("shop")).isEqualTo(anchors);
      assertThat(pem("web")).isEqualTo(anchors);
    });
  }

  @Test
  void aNewLeaderWithRotatedAnchorsRewritesEveryCopy() {
    TrustAnchorCopies before = start(anchors);
    await().atMost(WAIT).untilAsserted(() -> {
      assertThat(pem("shop")).isEqualTo(anchors);
      assertThat(pem("web")).isEqualTo(anchors);
    });

    // The rotation's restart: the old leader goes, a replica with the Secret's two anchors leads.
    before.close();
    start(rotated);

    await().atMost(WAIT).untilAsserted(() -> {
      assertThat(pem("shop")).isEqualTo(rotated);
      assertThat(pem("web")).isEqualTo(rotated);
    });
  }

  @Test
  void aForeignConfigMapIsLeftAsItIs() {
    namespace("legacy");
    client.configMaps().inNamespace("legacy").resource(new ConfigMapBuilder().withNewMetadata()
        .withName("jmesh-trust-anchors").withNamespace("legacy").addToLabels("team", "legacy").endMetadata()
        .addToData("trust-anchors.pem", "copied by hand last year").build()).create();
    String version = copy("legacy").getMetadata().getResourceVersion();

    TrustAnchorCopies copies = start(anchors);
    await().atMost(WAIT).untilAsserted(() -> assertThat(pem("shop")).isEqualTo(anchors));
    await().atMost(WAIT).untilAsserted(() -> assertThat(copies.reconcile("legacy")).isEqualTo(Result.FOREIGN));

    ConfigMap legacy = copy("legacy");
    assertThat(legacy.getData()).isEqualTo(Map.of("trust-anchors.pem", "copied by hand last year"));
    assertThat(legacy.getMetadata().getResourceVersion()).isEqualTo(version);
    assertThat(legacy.getMetadata().getLabels()).doesNotContainKey("app.kubernetes.io/managed-by");
  }

  @Test
  void aNamespaceBeingDeletedGetsNoCopy() {
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName("dying").endMetadata()
        .withNewStatus().withPhase("Terminating").endStatus().build()).create();
    TrustAnchorCopies copies = start(anchors);
    await().atMost(WAIT).untilAsserted(() -> assertThat(pem("shop")).isEqualTo(anchors));

    assertThat(copies.reconcile("dying")).isEqualTo(Result.SKIPPED);
    assertThat(copy("dying")).isNull();
    // Deleted altogether: nothing to do either.
    client.namespaces().withName("web").delete();
    await().atMost(WAIT).untilAsserted(() -> assertThat(copies.reconcile("web")).isEqualTo(Result.SKIPPED));
  }

  @Test
  void aReplicaThatDoesNotLeadWritesNothingUntilItLeads() {
    leading.set(false);
    TrustAnchorCopies copies = start(anchors);
    await().atMost(WAIT).untilAsserted(() -> assertThat(copies.reconcile("shop")).isEqualTo(Result.NOT_LEADING));
    assertThat(copy("shop")).isNull();

    // What StatusLeader's onGained runs.
    leading.set(true);
    copies.resync();
    await().atMost(WAIT).untilAsserted(() -> {
      assertThat(pem("shop")).isEqualTo(anchors);
      assertThat(pem("web")).isEqualTo(anchors);
    });
  }

  @Test
  void aConflictIsReadAgainAndConflictsWithoutEndAreGivenUp() throws Exception {
    // The test calls reconcile itself and counts the requests: it leads for its own thread only,
    // so the informers' late events and the resync after their lists write nothing in between.
    Thread test = Thread.currentThread();
    TrustAnchorCopies copies = start(anchors, () -> Thread.currentThread() == test);
    await().atMost(WAIT).pollInSameThread()
        .until(() -> copies.reconcile("kube-system") == Result.SKIPPED); // synced
    MockApi.drainRequests(server);

    // Another writer made it between our read and our create, once.
    server.expect().post().withPath("/api/v1/namespaces/shop/configmaps")
        .andReturn(409, conflict()).once();
    assertThat(copies.reconcile("shop")).isEqualTo(Result.WRITTEN);
    assertThat(pem("shop")).isEqualTo(anchors);
    assertThat(posts("shop")).isEqualTo(2);

    // Every create meets a conflict: three tries, then it is left for the next event or check.
    server.expect().post().withPath("/api/v1/namespaces/web/configmaps")
        .andReturn(409, conflict()).times(TrustAnchorCopies.ATTEMPTS);
    assertThat(copies.reconcile("web")).isEqualTo(Result.FAILED);
    assertThat(posts("web")).isEqualTo(TrustAnchorCopies.ATTEMPTS);
    assertThat(copies.reconcile("web")).isEqualTo(Result.WRITTEN);
  }

  private TrustAnchorCopies start(String pem) {
    return start(pem, leading::get);
  }

  private TrustAnchorCopies start(String pem, BooleanSupplier leads) {
    StatusLeader notStarted = new StatusLeader(client, StatusLeader.Settings.defaults(OWN));
    TrustAnchorCopies copies =
        new TrustAnchorCopies(client, OWN, Scope.ALL, () -> pem, leads).start(notStarted);
    started.add(copies);
    return copies;
  }

  private void namespace(String name) {
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name).endMetadata().build())
        .create();
  }

  private ConfigMap copy(String namespace) {
    return client.configMaps().inNamespace(namespace).withName("jmesh-trust-anchors").get();
  }

  private String pem(String namespace) {
    ConfigMap cm = copy(namespace);
    return cm == null || cm.getData() == null ? null : cm.getData().get("trust-anchors.pem");
  }

  /** The creates of the ConfigMap in {@code namespace} since the last drain. */
  private long posts(String namespace) throws InterruptedException {
    List<RecordedRequest> requests = MockApi.drainRequests(server);
    return requests.stream().filter(r -> r.getMethod().equals("POST")
        && r.getPath().equals("/api/v1/namespaces/" + namespace + "/configmaps")).count();
  }

  private static io.fabric8.kubernetes.api.model.Status conflict() {
    return new StatusBuilder().withStatus("Failure").withCode(409).withReason("AlreadyExists")
        .withMessage("configmaps \"jmesh-trust-anchors\" already exists").build();
  }
}
