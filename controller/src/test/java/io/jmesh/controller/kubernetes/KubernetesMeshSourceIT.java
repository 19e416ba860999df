package io.jmesh.controller.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1beta1.ReferenceGrant;
import io.fabric8.kubernetes.api.model.gatewayapi.v1beta1.ReferenceGrantBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.jmesh.controller.source.MeshSource;
import io.jmesh.controller.source.MeshViews;
import io.jmesh.runtime.config.MeshSnapshot;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The source against fabric8's mock API server in CRUD mode: informers see adds, updates and
 * deletes, a new source lists what exists, and route statuses are written through the status
 * subresource. The debounce is 0 here (DebouncerTest covers it on fake time).
 */
@EnableKubernetesMockClient(crud = true)
class KubernetesMeshSourceIT {
  KubernetesClient client; // an instance field: a fresh server for every test

  private final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();
  private final List<MeshSnapshot> snapshots = new CopyOnWriteArrayList<>();
  private final List<MeshViews> views = new CopyOnWriteArrayList<>();
  private KubernetesMeshSource source;

  @AfterEach
  void close() {
    if (source != null) {
      source.close();
    }
    executor.shutdownNow();
  }

  private KubernetesMeshSource start() {
    return MockApi.source(
        client, "solo", Duration.ofSeconds(15), executor,
        new MeshSource.Listener() {
          @Override
          public void onSnapshot(MeshSnapshot snapshot) {
            throw new AssertionError("the Kubernetes source hands out its views");
          }

          @Override
          public void onSnapshot(MeshSnapshot snapshot, MeshViews v) {
            // Views first: a test that sees the snapshot sees its views.
            views.add(v);
            snapshots.add(snapshot);
          }
        });
  }

  private void apply(String fixture) {
    MockApi.apply(client, fixture);
  }

  private MeshSnapshot latest() {
    return MockApi.latest(snapshots);
  }

  private List<String> endpointsOf(String name) {
    return latest().service(name, "mesh").stream()
        .flatMap(s -> s.endpoints().stream())
        .map(e -> e.host() + ":" + e.port() + " " + new java.util.TreeMap<>(e.labels()))
        .toList();
  }

  @Test
  void informersFollowAddsUpdatesAndDeletes() {
    source = start();
    // An empty cluster is a snapshot too, once every informer has listed.
    await().atMost(Duration.ofSeconds(10)).until(() -> !snapshots.isEmpty());
    assertThat(latest().services()).isEmpty();

    // Add: a Service, its slices and pods.
    apply("endpoints/objects.yaml");
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThat(endpointsOf("echo"))
            .containsExactly(
                "10.0.0.1:8080 {app=echo, version=v2}", "10.0.0.2:8080 {app=echo, version=v1}"));
    assertThat(latest().service("echo", "mesh").orElseThrow().identities()).hasSize(2);

    // Update: 10.0.0.1 is no longer ready.
    EndpointSlice slice =
        client.discovery().v1().endpointSlices().inNamespace("mesh").withName("echo-a").get();
    slice.getEndpoints().get(1).setConditions(
        new io.fabric8.kubernetes.api.model.discovery.v1.EndpointConditionsBuilder()
            .withReady(false)
            .build());
    client.resource(slice).update();
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThat(endpointsOf("echo")).containsExactly("10.0.0.2:8080 {app=echo, version=v1}"));

    // Update a pod: its labels are the endpoint's.
    Pod pod = client.pods().inNamespace("mesh").withName("echo-1").get();
    pod.getMetadata().getLabels().put("version", "v3");
    client.resource(pod).update();
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThat(endpointsOf("echo")).containsExactly("10.0.0.2:8080 {app=echo, version=v3}"));

    // Delete: the Service goes, its slices with it.
    client.services().inNamespace("mesh").withName("echo").delete();
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThat(latest().service("echo", "mesh")).isEmpty());
    assertThat(latest().service("old", "mesh")).isPresent();
  }

  @Test
  void aNewSourceListsWhatExists() {
    apply("weighted-split/objects.yaml");
    source = start();
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThat(latest().service("echo", "mesh").map(s -> s.routes().size())).contains(5));
    // The whole cluster was listed before the first snapshot: no half-read one came first.
    assertThat(snapshots).hasSize(1);
  }

  @Test
  void routeStatusesAreWrittenAndFollowTheirBackends() {
    apply("statuses/objects.yaml");
    source = start();

    // BackendNotFound while Service nowhere does not exist.
    // Statuses are written one route at a time: wait for all of them.
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(conditions("missing-backend"))
          .containsExactly("Accepted True Accepted", "ResolvedRefs False BackendNotFound");
      assertThat(conditions("redirect"))
          .containsExactly("Accepted False UnsupportedValue", "ResolvedRefs True ResolvedRefs");
      assertThat(conditions("prefix-rewrite-of-exact"))
          .containsExactly("Accepted False UnsupportedValue", "ResolvedRefs True ResolvedRefs");
      assertThat(conditions("missing-parent"))
          .containsExactly("Accepted False NoMatchingParent", "ResolvedRefs True ResolvedRefs");
      assertThat(client.resources(HTTPRoute.class).inNamespace("client").withName("consumer").get().getStatus())
          .isNotNull();
    });
    HTTPRoute consumer =
        client.resources(HTTPRoute.class).inNamespace("client").withName("consumer").get();
    // A consumer route is accepted; its backend in another namespace needs a ReferenceGrant.
    assertThat(consumer.getStatus().getParents().get(0).getConditions())
        .extracting(c -> c.getType() + " " + c.getStatus() + " " + c.getReason())
        .containsExactly("Accepted True Accepted", "ResolvedRefs False RefNotPermitted");
    HTTPRoute gatewayOnly =
        client.resources(HTTPRoute.class).inNamespace("mesh").withName("gateway-only").get();
    assertThat(gatewayOnly.getStatus()).isNull();

    // The backend appears: ResolvedRefs turns True.
    Service nowhere =
        new io.fabric8.kubernetes.api.model.ServiceBuilder()
            .withNewMetadata().withName("nowhere").withNamespace("mesh").endMetadata()
            .withNewSpec().addNewPort().withPort(80).endPort().endSpec()
            .build();
    client.resource(nowhere).create();
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThat(conditions("missing-backend"))
            .containsExactly("Accepted True Accepted", "ResolvedRefs True ResolvedRefs"));

    // Writing a status is an update event; an unchanged status is not written again.
    int writes = source.statusWrites();
    int translations = source.translations();
    nowhere.getMetadata().setLabels(java.util.Map.of("touched", "yes"));
    client.resource(nowhere).update();
    await().atMost(Duration.ofSeconds(10)).until(() -> source.translations() > translations);
    assertThat(source.statusWrites()).isEqualTo(writes);
  }

  @Test
  void viewsFollowExportsAndConsumerRoutes() {
    apply("consumer-route/objects.yaml");
    source = start();
    String consumerNs = "gateway-conformance-mesh-consumer";
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThat(views).last().satisfies(v ->
            assertThat(v.consumerServices().get(consumerNs)).containsKey("echo-v1.gateway-conformance-mesh")));
    MeshSnapshot before = latest();

    // echo-v1 is no longer exported to the consumer namespace: a push though the services are
    // the same (the views are in the version), and the consumer route loses its parent.
    Service echo = client.services().inNamespace("gateway-conformance-mesh").withName("echo-v1").get();
    echo.getMetadata().setAnnotations(java.util.Map.of(ExportTo.ANNOTATION, "."));
    client.resource(echo).update();
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(latest().version()).isNotEqualTo(before.version());
      assertThat(views).last().satisfies(v -> {
        assertThat(v.exportTo()).containsEntry("echo-v1.gateway-conformance-mesh",
            java.util.Set.of("gateway-conformance-mesh"));
        assertThat(v.consumerServices()).isEmpty();
      });
    });
    assertThat(latest().services()).isEqualTo(before.services());
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      HTTPRoute route =
          client.resources(HTTPRoute.class).inNamespace(consumerNs).withName("mesh-echo-add-header").get();
      assertThat(route.getStatus()).isNotNull(); // the leader may not have written it yet
      assertThat(route.getStatus().getParents().get(0).getConditions().get(0).getReason())
          .isEqualTo("NoMatchingParent");
    });
  }

  @Test
  void aReferenceGrantCreatedOrDeletedChangesRoutingAndStatus() {
    apply("reference-grant/objects.yaml");
    source = start();
    // Granted: the route on echo reaches store/cart.
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(conditions("cart"))
          .containsExactly("Accepted True Accepted", "ResolvedRefs True ResolvedRefs");
      assertThat(backendsOf("echo")).contains("cart.store:8080");
    });

    // The grant goes: the reference is refused and its share selects no endpoint.
    client.resources(ReferenceGrant.class).inNamespace("store").withName("cart-from-mesh")
        .delete();
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(conditions("cart"))
          .containsExactly("Accepted True Accepted", "ResolvedRefs False RefNotPermitted");
      assertThat(backendsOf("echo")).doesNotContain("cart.store:8080");
    });

    // billing grants HTTPRoutes from mesh every Service: invoice resolves.
    client.resource(
            new ReferenceGrantBuilder()
                .withNewMetadata().withName("from-mesh").withNamespace("billing").endMetadata()
                .withNewSpec()
                .addNewFrom()
                .withGroup("gateway.networking.k8s.io").withKind("HTTPRoute").withNamespace("mesh")
                .endFrom()
                .addNewTo().withGroup("").withKind("Service").endTo()
                .endSpec()
                .build())
        .create();
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(conditions("invoice"))
          .containsExactly("Accepted True Accepted", "ResolvedRefs True ResolvedRefs");
      assertThat(backendsOf("echo")).contains("invoice.billing:8080");
    });
  }

  /** The backends whose endpoints service {@code mesh/name} carries. */
  private List<String> backendsOf(String name) {
    return latest().service(name, "mesh").stream()
        .flatMap(s -> s.endpoints().stream())
        .map(e -> e.labels().get(KubernetesTranslator.BACKEND_LABEL))
        .toList();
  }

  private List<String> conditions(String route) {
    return MockApi.conditions(client, route);
  }
}
