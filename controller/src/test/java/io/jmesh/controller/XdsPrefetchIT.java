package io.jmesh.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.jmesh.runtime.MeshRuntime;
import io.jmesh.runtime.identity.ControllerTls;
import io.jmesh.runtime.xds.XdsClient;
import io.jmesh.runtime.xds.XdsNames;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's xDS client against a real controller: with few services declared, it fetches every
 * service's routes, cluster and endpoints at once, before any call (issue 20: the first call then
 * does not wait for them); with more than its prefetch bound, only a service in use.
 */
class XdsPrefetchIT {
  private static final String TWO_SERVICES =
      """
      services:
        - name: hello
          ports: [8080]
          endpoints: [{address: 127.0.0.2, port: 18081}]
        - name: world
          ports: [8080]
          endpoints: [{address: 127.0.0.3, port: 18082}]
      """;

  @TempDir Path dir;
  private Controller controller;
  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();

  @AfterEach
  void stop() throws InterruptedException {
    if (controller != null) {
      controller.close();
    }
    scheduler.shutdownNow();
    assertThat(scheduler.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void fewServicesAreFetchedBeforeTheirFirstUse() throws Exception {
    XdsClient client = client(2);
    try (MeshRuntime runtime = MeshRuntime.builder().discovery(client, Duration.ofSeconds(5)).build()) {
      await()
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(
              () -> {
                XdsClient.Status s = client.status();
                for (String type : List.of(XdsNames.ROUTE_TYPE, XdsNames.CLUSTER_TYPE, XdsNames.ENDPOINT_TYPE)) {
                  assertThat(acked(s, type)).as(type).isNotEmpty();
                }
              });
      // Held, but not in use: the snapshot resolves a service only once it is watched.
      assertThat(runtime.snapshot().services()).isEmpty();
      assertThat(runtime.snapshot().unresolved()).hasSize(2);
      client.watch("hello.default");
      await()
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(() -> assertThat(runtime.snapshot().services()).hasSize(1));
      assertThat(runtime.snapshot().services().get(0).name()).isEqualTo("hello");
      assertThat(client.status().lastNack()).isNull();
    }
  }

  @Test
  void moreServicesThanTheBoundAreFetchedAtFirstUseOnly() throws Exception {
    XdsClient client = client(1);
    try (MeshRuntime runtime = MeshRuntime.builder().discovery(client, Duration.ofSeconds(5)).build()) {
      await()
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(() -> assertThat(acked(client.status(), XdsNames.LISTENER_TYPE)).isNotEmpty());
      client.watch("world.default");
      await()
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(() -> assertThat(runtime.snapshot().services()).hasSize(1));
      assertThat(runtime.snapshot().services().get(0).name()).isEqualTo("world");
      // The controller saw a subscription to the service in use only.
      String agents = new AdminClient(controller.adminPort()).body("/agents");
      assertThat(agents).contains("\"subscribed\": [\"world.default\"]");
    }
  }

  private XdsClient client(int prefetch) throws Exception {
    Path file = dir.resolve("mesh.yaml");
    Files.writeString(file, TWO_SERVICES);
    controller =
        Controller.start(
            Controller.Options.defaults(file)
                .withXdsAddress("127.0.0.1", 0)
                .withAdminAddress("127.0.0.1", 0)
                .withInsecurePlaintext(true)
                .withPollMillis(50));
    return new XdsClient(
        new XdsClient.Options(
            List.of("127.0.0.1:" + controller.xdsPort()),
            new XdsClient.NodeIdentity("client-1", "client", "default"),
            Duration.ofMillis(50),
            Duration.ofMillis(500),
            ControllerTls.insecurePlaintext(),
            prefetch),
        scheduler,
        new SplittableRandom(1));
  }

  private static String acked(XdsClient.Status status, String typeUrl) {
    return status.ackedVersions().get(typeUrl);
  }
}
