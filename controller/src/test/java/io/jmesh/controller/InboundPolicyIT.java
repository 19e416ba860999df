package io.jmesh.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.jmesh.runtime.MeshRuntime;
import io.jmesh.runtime.identity.ControllerTls;
import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.inbound.AuthorizationPolicy;
import io.jmesh.runtime.xds.XdsClient;
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
 * A service's authorization travels from the controller's YAML to an agent's runtime: the real
 * controller, the agent's real xDS client, and {@link MeshRuntime#inboundPolicy} at the end, for a
 * service the workload serves but never calls.
 */
class InboundPolicyIT {
  private static final String WITH_POLICY =
      """
      services:
        - name: hello
          ports: [8080]
          endpoints: [{address: 127.0.0.2, port: 18081}]
          authorization:
            default: deny
            rules:
              - {name: no-batch, action: deny, serviceAccounts: [batch]}
              - {name: shop, action: allow, namespaces: [shop]}
      """;
  private static final String WITHOUT_POLICY =
      """
      services:
        - name: hello
          ports: [8080]
          endpoints: [{address: 127.0.0.2, port: 18081}]
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
  void thePolicyReachesTheRuntimeAndLeavesWithItsListener() throws Exception {
    Path file = dir.resolve("mesh.yaml");
    Files.writeString(file, WITH_POLICY);
    controller =
        Controller.start(
            Controller.Options.defaults(file)
                .withXdsAddress("127.0.0.1", 0)
                .withAdminAddress("127.0.0.1", 0)
                .withCaDir(dir.resolve("ca"))
                .withPollMillis(50));
    XdsClient client =
        new XdsClient(
            new XdsClient.Options(
                List.of("127.0.0.1:" + controller.xdsPort()),
                new XdsClient.NodeIdentity("hello-1", "hello", "default"),
                Duration.ofMillis(50),
                Duration.ofMillis(500),
                ControllerTls.fromAnchorsFile(controller.trustAnchorsFile().orElseThrow(), null, null)),
            scheduler,
            new SplittableRandom(1));
    SpiffeId shopWeb = SpiffeId.of("cluster.local", "shop", "web");
    SpiffeId shopBatch = SpiffeId.of("cluster.local", "shop", "batch");
    try (MeshRuntime runtime =
        MeshRuntime.builder().discovery(client, Duration.ofSeconds(5)).build()) {
      await()
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(
              () -> assertThat(runtime.inboundPolicy("hello.default").rules()).hasSize(2));
      AuthorizationPolicy policy = runtime.inboundPolicy("hello.default");
      assertThat(policy.fallback()).isEqualTo(AuthorizationPolicy.Default.DENY);
      assertThat(policy.decide(shopWeb, "GET", "/").policy()).isEqualTo("hello.default/shop");
      assertThat(policy.decide(shopBatch, "GET", "/").allowed()).isFalse();
      assertThat(client.inboundPolicies()).containsOnlyKeys("hello.default");
      // The inbound listener made no destination of its own: hello is one, declared once.
      assertThat(runtime.snapshot().unresolved()).hasSize(1);
      assertThat(client.status().lastNack()).isNull();

      // The policy is removed from the file: its listener goes, the default comes back.
      Files.writeString(file, WITHOUT_POLICY);
      await()
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(
              () ->
                  assertThat(runtime.inboundPolicy("hello.default"))
                      .isEqualTo(AuthorizationPolicy.allAuthenticated("hello.default")));
      assertThat(client.inboundPolicies()).isEmpty();
    }
  }
}
