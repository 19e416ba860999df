package io.jmesh.controller.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Two replicas of the source on one mock API server (CRUD mode): both translate, only the one
 * holding the status Lease writes route statuses, and when it goes the other takes over and
 * corrects what changed meanwhile.
 */
@EnableKubernetesMockClient(crud = true)
class KubernetesHaIT {
  static final String NAMESPACE = "jmesh-system";

  KubernetesClient client; // an instance field: a fresh server for every test

  private final List<ScheduledExecutorService> executors = new ArrayList<>();
  private final List<KubernetesMeshSource> sources = new ArrayList<>();
  private final List<KubernetesClient> clients = new ArrayList<>();

  /** Short timings, so a takeover after a lost leader happens within a test's patience. */
  static StatusLeader.Settings lease(String identity, Duration duration) {
    return new StatusLeader.Settings(
        NAMESPACE, StatusLeader.Settings.DEFAULT_LEASE_NAME, identity, duration,
        duration.dividedBy(2), Duration.ofMillis(100));
  }

  @AfterEach
  void close() {
    sources.forEach(KubernetesMeshSource::close);
    executors.forEach(ScheduledExecutorService::shutdownNow);
  }

  private KubernetesMeshSource replica(String identity, Duration leaseDuration) {
    ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();
    executors.add(executor);
    KubernetesClient own = new KubernetesClientBuilder().withConfig(client.getConfiguration()).build();
    clients.add(own);
    KubernetesMeshSource s =
        new KubernetesMeshSource(
            own, "cluster.local", lease(identity, leaseDuration), Debouncer.Scheduler.of(executor),
            null, Duration.ZERO, Duration.ZERO, Clock.systemUTC());
    sources.add(s);
    s.start(snapshot -> {});
    return s;
  }

  @Test
  void oneReplicaWritesAndAReleasedLeaseIsTakenOver() {
    apply("statuses/objects.yaml");
    // A long Lease: the follower can only take over within the test's bound if it was released.
    Duration longLease = Duration.ofSeconds(60);
    KubernetesMeshSource a = replica("replica-a", longLease);
    KubernetesMeshSource b = replica("replica-b", longLease);

    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(holder()).isIn("replica-a", "replica-b");
      assertThat(conditions("missing-backend"))
          .containsExactly("Accepted True Accepted", "ResolvedRefs False BackendNotFound");
      assertThat(conditions("redirect"))
          .containsExactly("Accepted False UnsupportedValue", "ResolvedRefs True ResolvedRefs");
    });
    KubernetesMeshSource leader = holder().equals("replica-a") ? a : b;
    KubernetesMeshSource follower = leader == a ? b : a;
    // Both translated the same cluster; only the Lease's holder wrote.
    await().atMost(Duration.ofSeconds(10)).until(() -> follower.translations() > 0);
    await().atMost(Duration.ofSeconds(10)).until(leader::leading);
    assertThat(follower.leading()).isFalse();
    await().atMost(Duration.ofSeconds(10)).until(() -> leader.statusWrites() > 0);
    assertThat(follower.statusWrites()).isZero();

    leader.close(); // releases the Lease
    await().atMost(Duration.ofSeconds(10)).until(follower::leading);
    assertThat(holder()).isNotEqualTo(leader == a ? "replica-a" : "replica-b");

    // The new leader writes what changes from now on.
    createService("nowhere");
    // The counter follows the write's answer: wait for both.
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(conditions("missing-backend"))
          .containsExactly("Accepted True Accepted", "ResolvedRefs True ResolvedRefs");
      assertThat(follower.statusWrites()).isPositive();
    });
  }

  @Test
  void aReplicaTakingOverALostLeaseCorrectsWhatChangedMeanwhile() {
    apply("statuses/objects.yaml");
    replica("replica-a", Duration.ofSeconds(2));
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(holder()).isEqualTo("replica-a");
      assertThat(conditions("missing-backend"))
          .containsExactly("Accepted True Accepted", "ResolvedRefs False BackendNotFound");
    });
    KubernetesMeshSource b = replica("replica-b", Duration.ofSeconds(2));
    await().atMost(Duration.ofSeconds(10)).until(() -> b.translations() > 0);
    assertThat(b.leading()).isFalse();

    // The leader's process dies: its client goes without releasing the Lease, which then holds
    // until it expires. Meanwhile the route's backend appears and no one writes its status.
    clients.get(0).close();
    createService("nowhere");

    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(holder()).isEqualTo("replica-b");
      assertThat(conditions("missing-backend"))
          .containsExactly("Accepted True Accepted", "ResolvedRefs True ResolvedRefs");
      assertThat(b.statusWrites()).isPositive();
    });
  }

  private void apply(String fixture) {
    MockApi.apply(client, fixture);
  }

  private void createService(String name) {
    client.resource(
            new ServiceBuilder()
                .withNewMetadata().withName(name).withNamespace("mesh").endMetadata()
                .withNewSpec().addNewPort().withPort(80).endPort().endSpec()
                .build())
        .create();
  }

  private Lease lease() {
    return client.leases().inNamespace(NAMESPACE)
        .withName(StatusLeader.Settings.DEFAULT_LEASE_NAME).get();
  }

  private String holder() {
    Lease lease = lease();
    return lease == null || lease.getSpec() == null ? null : lease.getSpec().getHolderIdentity();
  }

  private List<String> conditions(String route) {
    return MockApi.conditions(client, route);
  }
}
