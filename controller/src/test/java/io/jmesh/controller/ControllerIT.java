package io.jmesh.controller;

import static io.jmesh.controller.JsonPath.at;
import static io.jmesh.controller.JsonPath.parse;
import static io.jmesh.controller.JsonPath.string;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Value;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.jmesh.runtime.xds.XdsNames;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole controller on a watched YAML file, as the process runs it: edits of the file reach an
 * ADS client, and a bad edit keeps the last good snapshot; so do edits of the overrides file.
 * {@link XdsServerIT} covers the xDS server and the admin API with hand-made resources.
 */
class ControllerIT {
  private static final String GOOD =
      "services:\n"
          + "  - name: hello\n"
          + "    ports: [8080]\n"
          + "    endpoints:\n"
          + "      - {address: 127.0.0.2, port: 18081}\n"
          + "      - {address: 127.0.0.3, port: 18081, weight: 1}\n";

  @TempDir Path dir;
  private Controller controller;

  @AfterEach
  void stop() {
    if (controller != null) {
      controller.close();
    }
  }

  @Test
  void editsOfTheFileAreServedAndABadEditKeepsTheLastGoodSnapshot() throws Exception {
    Path file = write(GOOD);
    controller =
        Controller.start(
            Controller.Options.defaults(file)
                .withInsecurePlaintext(true) // a plaintext ADS client
                .withXdsAddress("127.0.0.1", 0)
                .withAdminAddress("127.0.0.1", 0)
                .withPollMillis(50));
    AdminClient admin = new AdminClient(controller.adminPort());

    // The first good file is served.
    await()
        .atMost(AdsClient.TIMEOUT)
        .untilAsserted(
            () ->
                assertThat(admin.body("/ready"))
                    .isEqualTo("ready\n"));
    Value first = parse(admin.body("/snapshot"));
    String v1 = string(first, "version");
    assertThat(v1).matches("[0-9a-f]{12}");
    assertThat(at(first, "serviceCount").getNumberValue()).isEqualTo(1);
    assertThat(at(first, "endpointCount").getNumberValue()).isEqualTo(2);
    assertThat(string(first, "source")).isEqualTo("file " + file);

    try (AdsClient agent = new AdsClient(controller.xdsPort())) {
      // Endpoints: the weight change below changes them only.
      agent.subscribe(AdsClient.node("hello-1"), XdsNames.ENDPOINT_TYPE, List.of());
      DiscoveryResponse eds = agent.next(XdsNames.ENDPOINT_TYPE);
      assertThat(eds.getVersionInfo()).isEqualTo(v1);
      agent.ack(eds, List.of());

      // A bad edit: a negative weight on line 6. The error shows, v1 stays in force.
      write(GOOD.replace("weight: 1}", "weight: -2}"));
      await()
          .atMost(AdsClient.TIMEOUT)
          .untilAsserted(
              () ->
                  assertThat(string(parse(admin.body("/snapshot")), "lastError"))
                      .isEqualTo(
                          file
                              + ":6: services[0].endpoints[1].weight: -2 (expected: an integer"
                              + " >= 1)"));
      Value afterBadEdit = parse(admin.body("/snapshot"));
      assertThat(string(afterBadEdit, "version")).isEqualTo(v1);
      assertThat(at(afterBadEdit, "endpointCount").getNumberValue()).isEqualTo(2);
      assertThat(admin.get("/ready").statusCode()).isEqualTo(200);
      assertThat(admin.body("/metrics")).contains("jmesh_controller_source_error 1.0");

      // A good edit: a weight change is a new version, and the agent gets it.
      write(GOOD.replace("weight: 1}", "weight: 3}"));
      DiscoveryResponse pushed = agent.next(XdsNames.ENDPOINT_TYPE);
      assertThat(pushed.getVersionInfo()).isNotEqualTo(v1).matches("[0-9a-f]{12}");
      // The push reaches the agent while the publisher is still recording what it applied, so
      // /snapshot may lag by a moment: poll it, bounded.
      await()
          .atMost(AdsClient.TIMEOUT)
          .untilAsserted(
              () -> {
                Value second = parse(admin.body("/snapshot"));
                assertThat(string(second, "version")).isEqualTo(pushed.getVersionInfo());
                assertThat(at(second, "lastError").hasNullValue()).isTrue();
              });
    }
  }

  @Test
  void overridesReplaceTranslatedResourcesAndABadOverridesFileKeepsTheLastGood() throws Exception {
    Path file = write(GOOD);
    Path overrides = dir.resolve("overrides.json");
    controller =
        Controller.start(
            Controller.Options.defaults(file)
                .withInsecurePlaintext(true) // a plaintext ADS client
                .withXdsAddress("127.0.0.1", 0)
                .withAdminAddress("127.0.0.1", 0)
                .withPollMillis(50)
                .withOverrides(overrides));
    AdminClient admin = new AdminClient(controller.adminPort());
    await().atMost(AdsClient.TIMEOUT).until(() -> admin.get("/ready").statusCode() == 200);
    Value first = parse(admin.body("/snapshot"));
    String v1 = string(first, "version");
    // No file yet: no overrides, and the served version is the file's.
    assertThat(string(first, "servedVersion")).isEqualTo(v1);
    assertThat(string(first, "overrides")).isEqualTo("file " + overrides + ", 0 resources");

    try (AdsClient agent = new AdsClient(controller.xdsPort())) {
      agent.subscribe(AdsClient.node("hello-1"), XdsNames.CLUSTER_TYPE, List.of("hello.default"));
      DiscoveryResponse cds = agent.next(XdsNames.CLUSTER_TYPE);
      assertThat(cds.getVersionInfo()).isEqualTo(v1);
      agent.ack(cds, List.of("hello.default"));

      replace(
          overrides,
          "{\"resources\": [{\"@type\": \"type.googleapis.com/envoy.config.cluster.v3.Cluster\","
              + " \"name\": \"hello.default\", \"type\": \"EDS\", \"lbPolicy\": \"MAGLEV\"}]}");
      DiscoveryResponse overridden = agent.next(XdsNames.CLUSTER_TYPE);
      assertThat(overridden.getVersionInfo()).startsWith(v1 + "+o");
      assertThat(
              overridden.getResources(0)
                  .unpack(io.envoyproxy.envoy.config.cluster.v3.Cluster.class)
                  .getLbPolicy())
          .isEqualTo(io.envoyproxy.envoy.config.cluster.v3.Cluster.LbPolicy.MAGLEV);
      agent.ack(overridden, List.of("hello.default"));
      String served = overridden.getVersionInfo();
      assertThat(string(parse(admin.body("/snapshot")), "servedVersion")).isEqualTo(served);

      // A bad overrides file: the error shows, the last good overrides stay.
      replace(overrides, "{\"resources\": [{\"@type\": \"type.googleapis.com/nope\"}]}");
      await()
          .atMost(AdsClient.TIMEOUT)
          .untilAsserted(
              () ->
                  assertThat(string(parse(admin.body("/snapshot")), "overridesError"))
                      .startsWith(overrides.toString()));
      assertThat(string(parse(admin.body("/snapshot")), "servedVersion")).isEqualTo(served);

      // The file removed: back to the translation, under the file's own version.
      Files.delete(overrides);
      DiscoveryResponse plain = agent.next(XdsNames.CLUSTER_TYPE);
      assertThat(plain.getVersionInfo()).isEqualTo(v1);
      assertThat(
              plain.getResources(0)
                  .unpack(io.envoyproxy.envoy.config.cluster.v3.Cluster.class)
                  .getLbPolicy())
          .isNotEqualTo(io.envoyproxy.envoy.config.cluster.v3.Cluster.LbPolicy.MAGLEV);
    }
  }

  @Test
  void grpcLibrariesGetTheirOwnTranslationOfTheSameVersion() throws Exception {
    Path file = write(GOOD);
    controller =
        Controller.start(
            Controller.Options.defaults(file)
                .withInsecurePlaintext(true) // a plaintext ADS client
                .withXdsAddress("127.0.0.1", 0)
                .withAdminAddress("127.0.0.1", 0)
                .withPollMillis(50));
    try (AdsClient agent = new AdsClient(controller.xdsPort());
        AdsClient grpc = new AdsClient(controller.xdsPort())) {
      agent.subscribe(AdsClient.node("hello-1"), XdsNames.CLUSTER_TYPE, List.of("hello.default"));
      // What grpc-java sends: its own user agent, whatever the bootstrap's node says.
      grpc.subscribe(
          io.envoyproxy.envoy.config.core.v3.Node.newBuilder()
              .setId("plain-1")
              .setUserAgentName("gRPC Java")
              .setUserAgentVersion("1.83.1")
              .build(),
          XdsNames.CLUSTER_TYPE,
          List.of("hello.default"));
      DiscoveryResponse forAgent = agent.next(XdsNames.CLUSTER_TYPE);
      DiscoveryResponse forGrpc = grpc.next(XdsNames.CLUSTER_TYPE);

      assertThat(forGrpc.getVersionInfo()).isEqualTo(forAgent.getVersionInfo());
      // The default balancer, peak EWMA: jmesh's extension for the agent, least request (which
      // gRPC implements) for the library.
      var agentCluster =
          forAgent.getResources(0).unpack(io.envoyproxy.envoy.config.cluster.v3.Cluster.class);
      var grpcCluster =
          forGrpc.getResources(0).unpack(io.envoyproxy.envoy.config.cluster.v3.Cluster.class);
      assertThat(agentCluster.getLoadBalancingPolicy().getPolicies(0).getTypedExtensionConfig()
              .getName())
          .isEqualTo(XdsNames.PEAK_EWMA_POLICY);
      assertThat(agentCluster.getMetadata().getFilterMetadataMap())
          .containsKey(XdsNames.JMESH_METADATA);
      assertThat(grpcCluster.hasLoadBalancingPolicy()).isFalse();
      assertThat(grpcCluster.getLbPolicy())
          .isEqualTo(io.envoyproxy.envoy.config.cluster.v3.Cluster.LbPolicy.LEAST_REQUEST);
      assertThat(grpcCluster.hasMetadata()).isFalse();
    }
  }

  private void replace(Path target, String content) throws Exception {
    Path tmp = dir.resolve(target.getFileName() + ".tmp");
    Files.writeString(tmp, content, StandardCharsets.UTF_8);
    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  /** Writes the file as the README asks (write, then rename), so no poll sees half of it. */
  private Path write(String content) throws Exception {
    Path tmp = dir.resolve("mesh.yaml.tmp");
    Files.writeString(tmp, content, StandardCharsets.UTF_8);
    return Files.move(
        tmp,
        dir.resolve("mesh.yaml"),
        StandardCopyOption.REPLACE_EXISTING,
        StandardCopyOption.ATOMIC_MOVE);
  }
}
