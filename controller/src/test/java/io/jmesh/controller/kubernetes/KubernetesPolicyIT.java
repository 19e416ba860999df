package io.jmesh.controller.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.jmesh.runtime.config.DestinationPolicy;
import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.config.Service;
import io.jmesh.runtime.inbound.AuthorizationPolicy;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * jmesh policies through the source against fabric8's mock API server in CRUD mode: a policy
 * created reaches the snapshot's Service and gets {@code Accepted} through the status
 * subresource; one deleted gives the Service its defaults back; an invalid one and a conflicting
 * one get their reasons, and change nothing. The debounce is 0 here (DebouncerTest covers it).
 */
@EnableKubernetesMockClient(crud = true)
class KubernetesPolicyIT {
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

  /** Creates the objects of a fixture; returns its policies. */
  private List<GenericKubernetesResource> apply(String fixture) {
    List<HasMetadata> objects = Fixtures.objects(fixture);
    for (HasMetadata o : objects) {
      if (o instanceof GenericKubernetesResource policy) {
        // The API server sets these; the fixtures' own would be refused or ignored.
        policy.getMetadata().setCreationTimestamp(null);
        policy.getMetadata().setGeneration(null);
        policies(policy).resource(policy).create();
      } else {
        client.resource(o).create();
      }
    }
    return Fixtures.of(objects, GenericKubernetesResource.class);
  }

  private io.fabric8.kubernetes.client.dsl.NonNamespaceOperation<GenericKubernetesResource,
          io.fabric8.kubernetes.api.model.GenericKubernetesResourceList,
          io.fabric8.kubernetes.client.dsl.Resource<GenericKubernetesResource>>
      policies(GenericKubernetesResource policy) {
    return client.genericKubernetesResources(PolicyKind.valueOf(policy.getKind()).context())
        .inNamespace(policy.getMetadata().getNamespace());
  }

  /** Service shop/hello in the latest snapshot; an AssertionError, which Awaitility retries, until then. */
  private Service hello() {
    Optional<Service> hello =
        snapshots.isEmpty() ? Optional.empty() : snapshots.get(snapshots.size() - 1).service("hello", "shop");
    return hello.orElseThrow(() -> new AssertionError("no Service shop/hello in the snapshot yet"));
  }

  /** {@code Accepted <status> <reason>} of a policy as stored, with its observedGeneration. */
  @SuppressWarnings("unchecked")
  private String accepted(PolicyKind kind, String name) {
    GenericKubernetesResource p =
        client.genericKubernetesResources(kind.context()).inNamespace("shop").withName(name).get();
    Object status = p.getAdditionalProperties().get("status");
    if (!(status instanceof Map<?, ?> s) || !(s.get("conditions") instanceof List<?> conditions)) {
      return "no status";
    }
    Map<String, Object> c = (Map<String, Object>) conditions.get(0);
    assertThat(((Number) c.get("observedGeneration")).longValue())
        .isEqualTo(p.getMetadata().getGeneration());
    assertThat(c.get("lastTransitionTime")).isNotNull();
    return c.get("type") + " " + c.get("status") + " " + c.get("reason");
  }

  @Test
  void aPolicyReachesTheServiceIsAcceptedAndItsDeletionRestoresTheDefaults() {
    source = start();
    apply("policy-retry-budget/objects.yaml");
    apply("policy-it/authorization.yaml");

    // Created: the Service carries the budget and the authorization, and both are accepted.
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      Service hello = hello();
      assertThat(hello.policy().retryBudget())
          .isEqualTo(new DestinationPolicy.RetryBudget(0.5, 3, Duration.ofSeconds(20)));
      assertThat(hello.authorization().fallback()).isEqualTo(AuthorizationPolicy.Default.DENY);
      assertThat(hello.authorization().name()).isEqualTo("hello.shop");
    });
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(accepted(PolicyKind.RetryBudgetPolicy, "hello")).isEqualTo("Accepted True Accepted");
      assertThat(accepted(PolicyKind.AuthorizationPolicy, "hello-authz")).isEqualTo("Accepted True Accepted");
    });
    // The other Service keeps its defaults.
    assertThat(snapshots.get(snapshots.size() - 1).service("hello-canary", "shop").orElseThrow().policy())
        .isEqualTo(DestinationPolicy.DEFAULT);

    // Writing a status is an update event; an unchanged status is not written again.
    int writes = source.policyStatusWrites();
    int translations = source.translations();
    client.services().inNamespace("shop").withName("hello-canary")
        .edit(s -> {
          s.getMetadata().setLabels(Map.of("touched", "yes"));
          return s;
        });
    await().atMost(Duration.ofSeconds(10)).until(() -> source.translations() > translations);
    assertThat(source.policyStatusWrites()).isEqualTo(writes);

    // Deleted: the defaults are back.
    client.genericKubernetesResources(PolicyKind.RetryBudgetPolicy.context())
        .inNamespace("shop").withName("hello").delete();
    client.genericKubernetesResources(PolicyKind.AuthorizationPolicy.context())
        .inNamespace("shop").withName("hello-authz").delete();
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      Service hello = hello();
      assertThat(hello.policy()).isEqualTo(DestinationPolicy.DEFAULT);
      assertThat(hello.authorization()).isEqualTo(AuthorizationPolicy.allAuthenticated("hello.shop"));
    });
  }

  @Test
  void invalidConflictingAndTargetlessPoliciesGetTheirReasonsAndChangeNothing() {
    apply("policy-invalid/objects.yaml");
    source = start();

    // Each invalid policy is refused whole; the Service keeps its defaults.
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(accepted(PolicyKind.FailureAccrualPolicy, "penalties")).isEqualTo("Accepted False Invalid");
      assertThat(accepted(PolicyKind.RetryBudgetPolicy, "ttl")).isEqualTo("Accepted False Invalid");
      assertThat(accepted(PolicyKind.RateLimitPolicy, "other-namespace")).isEqualTo("Accepted False Invalid");
      assertThat(accepted(PolicyKind.AuthorizationPolicy, "tcp-path")).isEqualTo("Accepted False Invalid");
    });
    assertThat(hello().policy()).isEqualTo(DestinationPolicy.DEFAULT);
    assertThat(message(PolicyKind.FailureAccrualPolicy, "penalties"))
        .startsWith("spec.maxPenalty: 10s (expected: at least spec.minPenalty, 30s)");

    // Fixed in place: the next generation is accepted and applied.
    GenericKubernetesResource penalties =
        client.genericKubernetesResources(PolicyKind.FailureAccrualPolicy.context())
            .inNamespace("shop").withName("penalties").get();
    @SuppressWarnings("unchecked")
    Map<String, Object> spec = (Map<String, Object>) penalties.getAdditionalProperties().get("spec");
    spec.put("maxPenalty", "2m");
    client.genericKubernetesResources(PolicyKind.FailureAccrualPolicy.context())
        .inNamespace("shop").resource(penalties).update();
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(accepted(PolicyKind.FailureAccrualPolicy, "penalties")).isEqualTo("Accepted True Accepted");
      assertThat(hello().policy().failureAccrual())
          .isEqualTo(new DestinationPolicy.FailureAccrual(5, Duration.ofSeconds(30), Duration.ofMinutes(2), 0.5));
    });

    // A younger policy of the same kind on the same Service conflicts; one on a missing Service
    // finds no target.
    apply("policy-it/conflicting.yaml");
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(accepted(PolicyKind.FailureAccrualPolicy, "younger")).isEqualTo("Accepted False Conflicted");
      assertThat(accepted(PolicyKind.RateLimitPolicy, "ghostly")).isEqualTo("Accepted False TargetNotFound");
    });
    assertThat(hello().policy().failureAccrual().maxPenalty()).isEqualTo(Duration.ofMinutes(2));
  }

  @Test
  void onlyTheReplicaHoldingTheLeaseWritesPolicyStatuses() {
    apply("policy-retry-budget/objects.yaml");
    source = start();
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThat(accepted(PolicyKind.RetryBudgetPolicy, "hello")).isEqualTo("Accepted True Accepted"));

    // A second replica translates the same policy but, without the Lease, writes nothing.
    List<MeshSnapshot> seen = new CopyOnWriteArrayList<>();
    KubernetesMeshSource follower =
        MockApi.source(client, "follower", Duration.ofSeconds(15), executor, seen::add);
    try {
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
          assertThat(seen).last().satisfies(snapshot ->
              assertThat(snapshot.service("hello", "shop").orElseThrow().policy().retryBudget().ratio())
                  .isEqualTo(0.5)));
      // Make the policy invalid: the leader writes Invalid, the follower still writes nothing.
      GenericKubernetesResource hello =
          client.genericKubernetesResources(PolicyKind.RetryBudgetPolicy.context())
              .inNamespace("shop").withName("hello").get();
      @SuppressWarnings("unchecked")
      Map<String, Object> spec = (Map<String, Object>) hello.getAdditionalProperties().get("spec");
      spec.put("ttl", "5m");
      client.genericKubernetesResources(PolicyKind.RetryBudgetPolicy.context())
          .inNamespace("shop").resource(hello).update();
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        assertThat(accepted(PolicyKind.RetryBudgetPolicy, "hello")).isEqualTo("Accepted False Invalid");
        assertThat(seen).last().satisfies(snapshot ->
            assertThat(snapshot.service("hello", "shop").orElseThrow().policy())
                .isEqualTo(DestinationPolicy.DEFAULT));
      });
      assertThat(follower.leading()).isFalse();
      assertThat(follower.policyStatusWrites()).isZero();
    } finally {
      follower.close();
    }
  }

  @Test
  void aPolicyKindWithoutItsCrdDoesNotHoldTheMeshBack() {
    // As a real API server answers the list of a kind whose CRD is not installed.
    server.expect().get()
        .withPath("/apis/jmesh.io/v1alpha1/ratelimitpolicies?resourceVersion=0")
        .andReturn(404, Map.of("kind", "Status", "apiVersion", "v1", "status", "Failure",
            "reason", "NotFound", "code", 404, "message", "the server could not find the requested resource"))
        .always();
    apply("policy-retry-budget/objects.yaml");
    source = start();

    // The other kinds still apply, and the source names what it cannot read.
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThat(hello().policy().retryBudget().ratio()).isEqualTo(0.5));
    assertThat(source.lastError()).hasValueSatisfying(e -> assertThat(e).contains("RateLimitPolicy"));
  }

  @SuppressWarnings("unchecked")
  private String message(PolicyKind kind, String name) {
    GenericKubernetesResource p =
        client.genericKubernetesResources(kind.context()).inNamespace("shop").withName(name).get();
    Map<String, Object> status = (Map<String, Object>) p.getAdditionalProperties().get("status");
    return (String) ((List<Map<String, Object>>) status.get("conditions")).get(0).get("message");
  }
}
