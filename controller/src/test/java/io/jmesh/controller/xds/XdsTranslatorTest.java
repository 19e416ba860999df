package io.jmesh.controller.xds;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.xds.type.v3.TypedStruct;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.jmesh.runtime.config.MeshConfigParser;
import io.jmesh.runtime.config.MeshSnapshot;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The translation as a pure function: {@code xds/mesh.yaml}, which sets every field of the
 * file-mode schema, against the resources in {@code xds/expected/*.json} (proto3 JSON, reviewed by
 * hand). After an intended change, regenerate them with {@code
 * -Djmesh.fixtures.write=controller/src/test/resources/xds/expected} and read the diff.
 */
class XdsTranslatorTest {
  static final JsonFormat.Printer JSON =
      JsonFormat.printer()
          .usingTypeRegistry(
              JsonFormat.TypeRegistry.newBuilder()
                  .add(HttpConnectionManager.getDescriptor())
                  .add(HTTPFault.getDescriptor())
                  .add(Router.getDescriptor())
                  .add(io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.getDescriptor())
                  .add(TypedStruct.getDescriptor())
                  .add(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext.getDescriptor())
                  .build());

  static MeshSnapshot fixture() throws Exception {
    try (InputStream in = XdsTranslatorTest.class.getResourceAsStream("/xds/mesh.yaml")) {
      return MeshConfigParser.parse(
          "xds/mesh.yaml", new String(in.readAllBytes(), StandardCharsets.UTF_8), "default");
    }
  }

  @Test
  void listenersMatchTheFixture() throws Exception {
    XdsResources resources = XdsTranslator.translate(fixture(), "cluster.local");
    assertThat(resources.listeners())
        .extracting(l -> l.getName())
        .containsExactly(
            "hello.shop.svc.cluster.local:8080",
            "hello.shop.svc.cluster.local:9090",
            "inbound|hello.shop",
            "db-proxy.default.svc.cluster.local:5432",
            "empty.shop.svc.cluster.local:80");
    assertMatchesFixture("listeners", resources.listeners());
  }

  @Test
  void routeConfigurationsMatchTheFixture() throws Exception {
    assertMatchesFixture("routes", XdsTranslator.translate(fixture(), "cluster.local").routes());
  }

  @Test
  void clustersMatchTheFixture() throws Exception {
    assertMatchesFixture("clusters", XdsTranslator.translate(fixture(), "cluster.local").clusters());
  }

  @Test
  void loadAssignmentsMatchTheFixture() throws Exception {
    assertMatchesFixture(
        "endpoints", XdsTranslator.translate(fixture(), "cluster.local").endpoints());
  }

  @Test
  void sameSnapshotSameResources() throws Exception {
    XdsResources a = XdsTranslator.translate(fixture(), "cluster.local");
    XdsResources b = XdsTranslator.translate(fixture(), "cluster.local");
    assertThat(a).isEqualTo(b);
    assertThat(a.version()).isEqualTo(fixture().version());
  }

  @Test
  void clusterDomainNamesTheListeners() throws Exception {
    XdsResources resources = XdsTranslator.translate(fixture(), "corp.example");
    assertThat(resources.listeners().get(0).getName())
        .isEqualTo("hello.shop.svc.corp.example:8080");
  }

  @Test
  void emptySnapshotHasNoResources() {
    XdsResources resources = XdsTranslator.translate(MeshSnapshot.empty(), "cluster.local");
    assertThat(resources.listeners()).isEmpty();
    assertThat(resources.routes()).isEmpty();
    assertThat(resources.clusters()).isEmpty();
    assertThat(resources.endpoints()).isEmpty();
  }

  private static void assertMatchesFixture(String name, List<? extends Message> messages)
      throws IOException, InvalidProtocolBufferException {
    StringBuilder json = new StringBuilder("[\n");
    for (int i = 0; i < messages.size(); i++) {
      json.append(JSON.print(messages.get(i)));
      json.append(i == messages.size() - 1 ? "\n" : ",\n");
    }
    json.append("]\n");
    String actual = json.toString();
    String write = System.getProperty("jmesh.fixtures.write");
    if (write != null) {
      Path dir = Path.of(write);
      Files.createDirectories(dir);
      Files.writeString(dir.resolve(name + ".json"), actual, StandardCharsets.UTF_8);
    }
    String resource = "/xds/expected/" + name + ".json";
    try (InputStream in = XdsTranslatorTest.class.getResourceAsStream(resource)) {
      assertThat(in).as("fixture %s (write it with -Djmesh.fixtures.write=...)", resource).isNotNull();
      String expected = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      assertThat(actual).as("translation of xds/mesh.yaml vs %s", resource).isEqualTo(expected);
    }
  }
}
