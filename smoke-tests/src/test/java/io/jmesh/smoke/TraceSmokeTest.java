package io.jmesh.smoke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.jmesh.smoke.apps.ClientApp;
import io.jmesh.smoke.apps.HelloServer;
import io.jmesh.smoke.support.ControllerProcess;
import io.jmesh.smoke.support.Jvm;
import io.jmesh.smoke.support.Ports;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Traces across real JVMs, each with the agent in controller mode and mesh TLS, exporting over
 * OTLP/gRPC to a receiver inside this test: a client ({@code web}, HttpURLConnection) calls
 * service {@code a}, whose application calls service {@code b} while serving, passing the
 * incoming {@code traceparent} on as an application with its own tracing would. One trace must
 * hold, parent by parent: the client span in {@code web} → the server span of {@code a}'s inbound
 * listener → the client span of {@code a}'s call → the server span of {@code b}'s listener.
 * The second case adds the OpenTelemetry Java agent to the client (after jmesh's on the command
 * line): jmesh's client span must be a child of the OpenTelemetry agent's client span.
 */
class TraceSmokeTest {
  private final List<AutoCloseable> toClose = new ArrayList<>();
  private final List<Received> received = new CopyOnWriteArrayList<>();
  private Server receiver;

  @TempDir Path dir;

  /** One exported span with the service and instrumentation scope that sent it. */
  record Received(String service, String scope, Span span) {
    String traceId() {
      return hex(span.getTraceId().toByteArray());
    }

    String spanId() {
      return hex(span.getSpanId().toByteArray());
    }

    String parentId() {
      return hex(span.getParentSpanId().toByteArray());
    }

    @Override
    public String toString() {
      return service + "/" + scope + " " + span.getKind() + " " + span.getName() + " trace=" + traceId()
          + " span=" + spanId() + " parent=" + parentId();
    }
  }

  @BeforeEach
  void startReceiver() throws IOException {
    receiver =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(
                new TraceServiceGrpc.TraceServiceImplBase() {
                  @Override
                  public void export(ExportTraceServiceRequest request, StreamObserver<ExportTraceServiceResponse> out) {
                    for (ResourceSpans rs : request.getResourceSpansList()) {
                      String service =
                          rs.getResource().getAttributesList().stream()
                              .filter(kv -> kv.getKey().equals("service.name"))
                              .map(kv -> kv.getValue().getStringValue())
                              .findFirst()
                              .orElse("?");
                      for (ScopeSpans ss : rs.getScopeSpansList()) {
                        for (Span s : ss.getSpansList()) {
                          received.add(new Received(service, ss.getScope().getName(), s));
                        }
                      }
                    }
                    out.onNext(ExportTraceServiceResponse.getDefaultInstance());
                    out.onCompleted();
                  }
                })
            .build()
            .start();
  }

  @AfterEach
  void stopAll() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
    receiver.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  @Test
  void oneTraceCrossesTwoMeshedServicesWithCorrectParents() throws Exception {
    Mesh mesh = startMesh();

    Jvm client = start(otel(Jvm.builder("web").withAgent(), "web", mesh, "web")
        .main(ClientApp.class.getName(), "--client", "urlconnection", "--url", "http://a:8080/", "--count", "1"));
    client.awaitLine(l -> l.startsWith("DONE "), 60_000);
    assertThat(client.output()).contains("DONE ok=1 failed=0").contains("downstream=200");

    Received web = awaitSpan("web", "io.jmesh", Span.SpanKind.SPAN_KIND_CLIENT, null);
    assertThat(web.parentId()).as("the client's span starts the trace").isEmpty();
    assertChain(web);
  }

  @Test
  void withTheOpenTelemetryAgentOnTheClientJmeshSpanIsItsChild() throws Exception {
    Mesh mesh = startMesh();
    Path otelAgent = Path.of(System.getProperty("jmesh.apps.libs"), "otel", "opentelemetry-javaagent.jar");
    assertThat(otelAgent).exists();

    // jmesh's agent first on the command line, then OpenTelemetry's: both export to the receiver.
    Jvm client = start(otel(Jvm.builder("web").withAgent(), "web", mesh, "web")
        .jvmArg("-javaagent:" + otelAgent)
        // jmesh defaults service.name to jmesh.service; the OpenTelemetry agent needs it said.
        .env("OTEL_SERVICE_NAME", "web")
        .env("OTEL_METRICS_EXPORTER", "none")
        .env("OTEL_LOGS_EXPORTER", "none")
        .main(ClientApp.class.getName(), "--client", "urlconnection", "--url", "http://a:8080/", "--count", "1"));
    client.awaitLine(l -> l.startsWith("DONE "), 90_000);
    assertThat(client.output()).contains("DONE ok=1 failed=0");

    Received otelSpan;
    try {
      otelSpan =
          await().atMost(Duration.ofSeconds(30)).until(() -> received.stream()
              .filter(r -> r.service().equals("web") && r.scope().startsWith("io.opentelemetry")
                  && r.span().getKind() == Span.SpanKind.SPAN_KIND_CLIENT)
              .findFirst().orElse(null), java.util.Objects::nonNull);
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError("no client span of the OpenTelemetry agent; received: " + received, e);
    }
    Received web = awaitSpan("web", "io.jmesh", Span.SpanKind.SPAN_KIND_CLIENT, null);
    assertThat(web.traceId()).as("%s", received).isEqualTo(otelSpan.traceId());
    assertThat(web.parentId()).as("%s", received).isEqualTo(otelSpan.spanId());
    assertChain(web);
  }

  /** web's client span → a's server span → a's client span → b's server span. */
  private void assertChain(Received web) {
    Received aServer = awaitSpan("a", "io.jmesh", Span.SpanKind.SPAN_KIND_SERVER, web);
    assertThat(attribute(aServer, "jmesh.client.id")).isEqualTo("spiffe://cluster.local/ns/default/sa/web");
    Received aClient = awaitSpan("a", "io.jmesh", Span.SpanKind.SPAN_KIND_CLIENT, aServer);
    assertThat(attribute(aClient, "jmesh.destination")).isEqualTo("b.default");
    Received bServer = awaitSpan("b", "io.jmesh", Span.SpanKind.SPAN_KIND_SERVER, aClient);
    assertThat(attribute(bServer, "jmesh.client.id")).isEqualTo("spiffe://cluster.local/ns/default/sa/a");
    assertThat(List.of(aServer, aClient, bServer)).allSatisfy(r -> assertThat(r.traceId()).isEqualTo(web.traceId()));
  }

  /** The span of {@code service} of that kind whose parent is {@code parent} (any, when null). */
  private Received awaitSpan(String service, String scope, Span.SpanKind kind, Received parent) {
    return await()
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(100))
        .until(
            () -> received.stream()
                .filter(r -> r.service().equals(service) && r.scope().equals(scope) && r.span().getKind() == kind)
                .filter(r -> parent == null || (r.parentId().equals(parent.spanId()) && r.traceId().equals(parent.traceId())))
                .findFirst()
                .orElse(null),
            java.util.Objects::nonNull);
  }

  private static String attribute(Received r, String key) {
    return r.span().getAttributesList().stream()
        .filter(kv -> kv.getKey().equals(key))
        .map(KeyValue::getValue)
        .map(v -> v.getStringValue())
        .findFirst()
        .orElse(null);
  }

  /** The controller (CA) and services a → b, each behind its agent's inbound listener. */
  private record Mesh(ControllerProcess controller, Path caDir) {}

  private Mesh startMesh() throws Exception {
    Path caDir = dir.resolve("ca");
    int meshA = Ports.unused();
    int meshB = Ports.unused();
    int appA = Ports.unused();
    int appB = Ports.unused();
    Path config = dir.resolve("mesh.yaml");
    ControllerProcess.write(config, """
        services:
          - name: a
            ports: [8080]
            identities: [spiffe://cluster.local/ns/default/sa/a]
            endpoints:
              - {address: 127.0.0.2, port: %d}
          - name: b
            ports: [8080]
            identities: [spiffe://cluster.local/ns/default/sa/b]
            endpoints:
              - {address: 127.0.0.3, port: %d}
        """.formatted(meshA, meshB));
    ControllerProcess controller = new ControllerProcess(config, null).withArgs("--ca-dir", caDir.toString()).start();
    toClose.add(controller);
    Mesh mesh = new Mesh(controller, caDir);
    startService(mesh, "b", "127.0.0.3", meshB, appB);
    startService(mesh, "a", "127.0.0.2", meshA, appA, "--forward-to", "http://b:8080/");
    return mesh;
  }

  private void startService(Mesh mesh, String name, String ip, int meshPort, int appPort, String... extra)
      throws Exception {
    List<String> args = new ArrayList<>(List.of("--name", name, "--bind", "127.0.0.1", "--port", "" + appPort));
    args.addAll(List.of(extra));
    Jvm server = start(otel(Jvm.builder(name).withAgent(), name, mesh, name)
        .env("JMESH_INBOUND_ADDRESS", ip)
        .env("JMESH_INBOUND_PORT", "" + meshPort)
        .env("JMESH_APP_PORT", "" + appPort)
        .main(HelloServer.class.getName(), args.toArray(new String[0])));
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() ->
        server.lines().stream().anyMatch(l -> l.contains("mesh inbound listener on " + ip + ":" + meshPort))
            && server.lines().stream().anyMatch(l -> l.startsWith("READY ")));
  }

  /** A meshed workload with an identity, exporting traces to this test's receiver. */
  private Jvm.Builder otel(Jvm.Builder b, String service, Mesh mesh, String account) throws Exception {
    return b.env(mesh.controller().agentEnv())
        .env("JMESH_SERVICE", service)
        .env("JMESH_BOOTSTRAP_TOKEN", ControllerProcess.token(mesh.caDir(), "default", account, "1h"))
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:" + receiver.getPort())
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        .env("OTEL_TRACES_EXPORTER", "otlp")
        .env("OTEL_BSP_SCHEDULE_DELAY", "200")
        // The controller is up: let the agent wait for it, its certificate and a destination's
        // first routes as long as a loaded machine needs. With the defaults (2 s, 5 s, 2 s) a
        // run at load 16 started unmeshed and its one call failed with no endpoint.
        .env("JMESH_XDS_INITIAL_WAIT_MS", "60000")
        .env("JMESH_IDENTITY_WAIT_MS", "60000")
        .env("JMESH_XDS_FIRST_USE_TIMEOUT_MS", "60000");
  }

  private Jvm start(Jvm.Builder builder) throws Exception {
    Jvm jvm = builder.start();
    toClose.add(jvm);
    return jvm;
  }

  private static String hex(byte[] bytes) {
    return HexFormat.of().formatHex(bytes);
  }
}
