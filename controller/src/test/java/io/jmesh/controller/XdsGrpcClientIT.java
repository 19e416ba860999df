package io.jmesh.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Value;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.ServerCalls;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A plain gRPC-Java client, with grpc-xds and no jmesh agent, that targets {@code xds:///} names
 * and is served by a real controller from its file: the controller answers what gRPC asks (LDS,
 * RDS, CDS, EDS), the RPCs reach real gRPC servers on 127.0.0.2 and 127.0.0.3, and an edit of the
 * file's split moves the client's traffic. A service with mesh TLS is refused to such a client.
 *
 * <p>gRPC reads its bootstrap once per JVM, so the class has one controller, started before any
 * channel, and the bootstrap is the system property {@code io.grpc.xds.bootstrapConfig}, as an
 * application would set it (or the environment variable {@code GRPC_XDS_BOOTSTRAP_CONFIG}).
 */
class XdsGrpcClientIT {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  /** One unary method that answers the name of the server that took the call. */
  private static final MethodDescriptor<String, String> WHO =
      MethodDescriptor.<String, String>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName("jmesh.test.Who/Who")
          .setRequestMarshaller(new Utf8())
          .setResponseMarshaller(new Utf8())
          .build();

  @TempDir static Path dir;
  private static Path file;
  private static Server v1;
  private static Server v2;
  private static Controller controller;
  private static String previousBootstrap;

  @BeforeAll
  static void start() throws Exception {
    v1 = server("127.0.0.2", "v1");
    v2 = server("127.0.0.3", "v2");
    file = dir.resolve("mesh.yaml");
    write(mesh(100, 0));
    controller =
        Controller.start(
            Controller.Options.defaults(file)
                .withInsecurePlaintext(true) // a plaintext ADS client
                .withXdsAddress("127.0.0.1", 0)
                .withAdminAddress("127.0.0.1", 0)
                .withPollMillis(50));
    // What a proxyless gRPC application puts in its bootstrap; the node's metadata and cluster
    // are free-form, gRPC itself fills in user_agent_name ("gRPC Java").
    String bootstrap =
        "{\"xds_servers\": [{\"server_uri\": \"127.0.0.1:"
            + controller.xdsPort()
            + "\", \"channel_creds\": [{\"type\": \"insecure\"}],"
            + " \"server_features\": [\"xds_v3\"]}],"
            + " \"node\": {\"id\": \"plain-grpc-client-1\", \"cluster\": \"client\","
            + " \"metadata\": {\"NAMESPACE\": \"default\"}}}";
    previousBootstrap = System.setProperty("io.grpc.xds.bootstrapConfig", bootstrap);
  }

  @AfterAll
  static void stop() throws InterruptedException {
    if (previousBootstrap == null) {
      System.clearProperty("io.grpc.xds.bootstrapConfig");
    } else {
      System.setProperty("io.grpc.xds.bootstrapConfig", previousBootstrap);
    }
    if (controller != null) {
      controller.close();
    }
    for (Server server : new Server[] {v1, v2}) {
      if (server != null) {
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void aPlainGrpcClientIsServedAndFollowsEditsOfTheSplit() throws Exception {
    ManagedChannel channel =
        Grpc.newChannelBuilder(
                "xds:///hello.default.svc.cluster.local:8080", InsecureChannelCredentials.create())
            .build();
    try {
      // All of the split goes to subset v1: the listener, routes, subset cluster and its
      // endpoints were served, and every call lands on 127.0.0.2.
      assertThat(whoAnswers(channel, 20)).containsOnly("v1");
      // The header route sends its calls to subset v2 whatever the split says.
      assertThat(whoAnswers(canary(channel), 10)).containsOnly("v2");
      assertNoNack();

      // All to v2: the edit is pushed and the client's traffic follows.
      write(mesh(0, 100));
      await()
          .atMost(TIMEOUT)
          .untilAsserted(() -> assertThat(whoAnswers(channel, 20)).containsOnly("v2"));

      // Half and half: both subsets take calls.
      write(mesh(50, 50));
      await()
          .atMost(TIMEOUT)
          .untilAsserted(() -> assertThat(whoAnswers(channel, 40)).contains("v1", "v2"));
      assertNoNack();
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void aServiceWithMeshTlsIsNotServedInPlaintext() throws Exception {
    ManagedChannel channel =
        Grpc.newChannelBuilder(
                "xds:///secure.default.svc.cluster.local:8080",
                InsecureChannelCredentials.create())
            .build();
    try {
      // Its listener is served (so gRPC does not wait for it) but routes to a cluster without
      // endpoints: the call fails instead of reaching 127.0.0.2 in plaintext.
      StatusRuntimeException refused =
          catchThrowableOfType(() -> call(channel), StatusRuntimeException.class);
      assertThat(refused).isNotNull();
      assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
      assertThat(refused.getStatus().getDescription())
          .contains("secure.default|mesh-tls-required");
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /** Calls with the header of the canary route. */
  private static Channel canary(Channel channel) {
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("x-canary", Metadata.ASCII_STRING_MARSHALLER), "always");
    return ClientInterceptors.intercept(
        channel, MetadataUtils.newAttachHeadersInterceptor(headers));
  }

  /**
   * The gRPC client is connected as a gRPC library (not an agent) and has ACKed every type it
   * asked for: it accepted what the controller translated for it.
   */
  private static void assertNoNack() {
    AdminClient admin = new AdminClient(controller.adminPort());
    await()
        .atMost(TIMEOUT)
        .untilAsserted(
            () -> {
              Value agents = JsonPath.parse(admin.body("/agents"));
              Value client = null;
              for (Value agent : JsonPath.at(agents, "agents").getListValue().getValuesList()) {
                if (JsonPath.string(agent, "nodeId").equals("plain-grpc-client-1")) {
                  client = agent;
                }
              }
              assertThat(client).as("plain-grpc-client-1 in /agents").isNotNull();
              assertThat(JsonPath.string(client, "userAgent")).startsWith("gRPC Java");
              var types = JsonPath.at(client, "types").getStructValue().getFieldsMap();
              assertThat(types).hasSize(4);
              for (Value type : types.values()) {
                assertThat(JsonPath.at(type, "lastNack").hasNullValue())
                    .as("lastNack of %s", type)
                    .isTrue();
                assertThat(JsonPath.string(type, "ackedVersion"))
                    .isEqualTo(JsonPath.string(type, "sentVersion"));
              }
            });
  }

  private static List<String> whoAnswers(Channel channel, int calls) {
    List<String> answers = new ArrayList<>();
    for (int i = 0; i < calls; i++) {
      answers.add(call(channel));
    }
    return answers;
  }

  private static String call(Channel channel) {
    // The first call waits for gRPC's own xDS resolution (listener, route, cluster, endpoints);
    // on a loaded 2-core machine that took more than 10 s once, so the bound is the test's.
    return ClientCalls.blockingUnaryCall(
        channel, WHO, CallOptions.DEFAULT.withDeadlineAfter(TIMEOUT.toSeconds(), TimeUnit.SECONDS),
        "who?");
  }

  private static String mesh(int v1Weight, int v2Weight) {
    return "services:\n"
        + "  - name: hello\n"
        + "    ports: [8080]\n"
        + "    endpoints:\n"
        + "      - {address: 127.0.0.2, port: "
        + port(v1)
        + ", labels: {version: v1}}\n"
        + "      - {address: 127.0.0.3, port: "
        + port(v2)
        + ", labels: {version: v2}}\n"
        // A failover endpoint of subset v1: gRPC must keep to priority 0 while it is up.
        + "      - {address: 127.0.0.3, port: "
        + port(v2)
        + ", labels: {version: v1}, priority: 1}\n"
        // Fields a plain gRPC client must accept (a NACK would show in /agents).
        + "    policy:\n"
        + "      balancer: peak-ewma\n"
        + "      failureAccrual: {consecutiveFailures: 5, minPenalty: 1s, maxPenalty: 10s}\n"
        + "      maxInFlight: 100\n"
        + "    routes:\n"
        + "      - name: canary\n"
        + "        matches: [{headers: [{name: x-canary, value: always}]}]\n"
        + "        backends: [{subset: {version: v2}}]\n"
        + "        timeout: 5s\n"
        // retry.on left at its default: its translation is changing to gRPC's status names.
        + "        retry: {attempts: 3, backoff: {base: 10ms, max: 100ms}}\n"
        + "      - name: split\n"
        + "        matches: [{path: {prefix: /}}]\n"
        + "        backends:\n"
        + "          - {subset: {version: v1}, weight: "
        + v1Weight
        + "}\n"
        + "          - {subset: {version: v2}, weight: "
        + v2Weight
        + "}\n"
        + "  - name: secure\n"
        + "    ports: [8080]\n"
        + "    identities: [spiffe://cluster.local/ns/default/sa/secure]\n"
        + "    endpoints:\n"
        + "      - {address: 127.0.0.2, port: "
        + port(v1)
        + "}\n";
  }

  private static Server server(String host, String name) throws IOException {
    ServerServiceDefinition who =
        ServerServiceDefinition.builder("jmesh.test.Who")
            .addMethod(
                WHO,
                ServerCalls.asyncUnaryCall(
                    (request, response) -> {
                      response.onNext(name);
                      response.onCompleted();
                    }))
            .build();
    return NettyServerBuilder.forAddress(
            new InetSocketAddress(host, 0), InsecureServerCredentials.create())
        .addService(who)
        .build()
        .start();
  }

  private static int port(Server server) {
    return ((InetSocketAddress) server.getListenSockets().get(0)).getPort();
  }

  /** Replaces the file in one step, so the controller never reads half of it. */
  private static void write(String yaml) throws IOException {
    Path tmp = Files.createTempFile(dir, "mesh", ".tmp");
    Files.writeString(tmp, yaml, StandardCharsets.UTF_8);
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  private static final class Utf8 implements MethodDescriptor.Marshaller<String> {
    @Override
    public InputStream stream(String value) {
      return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String parse(InputStream stream) {
      try {
        return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
