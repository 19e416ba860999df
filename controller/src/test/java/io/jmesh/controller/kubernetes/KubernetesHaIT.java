package io.jmesh.controller.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
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
  private final List<CuttableProxy> proxies = new ArrayList<>();

  /** Short timings, so a takeover after a lost leader happens within a test's patience. */
  static StatusLeader.Settings lease(String identity, Duration duration) {
    return new StatusLeader.Settings(
        NAMESPACE, StatusLeader.Settings.DEFAULT_LEASE_NAME, identity, duration,
        duration.dividedBy(2), Duration.ofMillis(100));
  }

  @AfterEach
  void close() throws Exception {
    sources.forEach(KubernetesMeshSource::close);
    executors.forEach(ScheduledExecutorService::shutdownNow);
    for (CuttableProxy p : proxies) {
      p.close();
    }
  }

  private KubernetesMeshSource replica(String identity, Duration leaseDuration) {
    KubernetesClient own = new KubernetesClientBuilder().withConfig(client.getConfiguration()).build();
    return replica(own, new StatusLeader(own, lease(identity, leaseDuration)));
  }

  /**
   * A replica whose election reaches the API server through {@code proxy}, its informers and
   * writes directly: cutting the proxy takes the Lease away from it alone.
   */
  private KubernetesMeshSource replica(String identity, Duration leaseDuration, CuttableProxy proxy) {
    KubernetesClient own = new KubernetesClientBuilder().withConfig(client.getConfiguration()).build();
    Config viaProxy =
        new ConfigBuilder(client.getConfiguration())
            .withMasterUrl("https://" + InetAddress.getLoopbackAddress().getHostAddress() + ":"
                + proxy.port() + "/")
            .build();
    KubernetesClient election = new KubernetesClientBuilder().withConfig(viaProxy).build();
    clients.add(election);
    return replica(own, new StatusLeader(election, lease(identity, leaseDuration)));
  }

  private KubernetesMeshSource replica(KubernetesClient own, StatusLeader leader) {
    ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();
    executors.add(executor);
    clients.add(own);
    KubernetesMeshSource s =
        new KubernetesMeshSource(
            own, "cluster.local", leader, Debouncer.Scheduler.of(executor), null, Duration.ZERO,
            Duration.ZERO, Clock.systemUTC());
    sources.add(s);
    s.start(snapshot -> {});
    return s;
  }

  private CuttableProxy proxyToApiServer() throws Exception {
    URI master = URI.create(client.getConfiguration().getMasterUrl());
    CuttableProxy proxy = new CuttableProxy(new InetSocketAddress(master.getHost(), master.getPort()));
    proxies.add(proxy);
    return proxy;
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
  void aReplicaTakingOverALostLeaseCorrectsWhatChangedMeanwhile() throws Exception {
    apply("statuses/objects.yaml");
    CuttableProxy link = proxyToApiServer();
    KubernetesMeshSource a = replica("replica-a", Duration.ofSeconds(2), link);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(holder()).isEqualTo("replica-a");
      assertThat(conditions("missing-backend"))
          .containsExactly("Accepted True Accepted", "ResolvedRefs False BackendNotFound");
    });
    KubernetesMeshSource b = replica("replica-b", Duration.ofSeconds(2));
    await().atMost(Duration.ofSeconds(10)).until(() -> b.translations() > 0);
    assertThat(b.leading()).isFalse();

    // The leader can no longer reach the Lease: it cannot release it, so the Lease holds until it
    // expires, and it stops writing at its renew deadline. Meanwhile the route's backend appears,
    // and no one writes its status.
    link.cut();
    await().atMost(Duration.ofSeconds(10)).until(() -> !a.leading());
    int writtenByA = a.statusWrites();
    createService("nowhere");

    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(holder()).as("the Lease's holder").isEqualTo("replica-b");
      assertThat(conditions("missing-backend"))
          .as("missing-backend's conditions")
          .containsExactly("Accepted True Accepted", "ResolvedRefs True ResolvedRefs");
      assertThat(b.statusWrites()).as("statuses written by replica-b").isPositive();
    });
    assertThat(a.statusWrites()).as("statuses written by replica-a after it lost").isEqualTo(writtenByA);
  }

  @Test
  void aLeaderCutOffStopsWritingAndLeadsAgainOnceBack() throws Exception {
    apply("statuses/objects.yaml");
    CuttableProxy link = proxyToApiServer();
    KubernetesMeshSource a = replica("replica-a", Duration.ofSeconds(2), link);
    await().atMost(Duration.ofSeconds(10)).until(a::leading);

    link.cut();
    await().atMost(Duration.ofSeconds(10)).until(() -> !a.leading());
    int written = a.statusWrites();
    String before = a.current().orElseThrow().version();
    createService("nowhere");
    // It still translates what changed, and writes nothing while it does not lead.
    await().atMost(Duration.ofSeconds(10))
        .until(() -> !a.current().orElseThrow().version().equals(before));
    assertThat(a.statusWrites()).isEqualTo(written);

    // Back, and nobody else took the Lease: a new election wins it and writes what changed.
    link.heal();
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(a.leading()).isTrue();
      assertThat(conditions("missing-backend"))
          .containsExactly("Accepted True Accepted", "ResolvedRefs True ResolvedRefs");
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
