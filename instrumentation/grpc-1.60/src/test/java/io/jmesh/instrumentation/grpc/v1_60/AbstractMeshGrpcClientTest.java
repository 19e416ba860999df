package io.jmesh.instrumentation.grpc.v1_60;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.awaitility.Awaitility.await;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.MetadataUtils;
import io.jmesh.agent.tooling.Agent;
import io.jmesh.instrumentation.testing.AgentErrors;
import io.jmesh.runtime.MeshRuntime;
import io.jmesh.runtime.config.HeaderModifier;
import io.jmesh.runtime.config.MeshConfigParser;
import io.jmesh.runtime.identity.MeshTls;
import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.identity.TestIdentities;
import io.jmesh.runtime.identity.TlsRefusals;
import io.jmesh.runtime.inbound.AuthorizationPolicy;
import io.jmesh.runtime.inbound.InboundStats;
import io.jmesh.runtime.inbound.InboundTerminator;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The gRPC conformance suite, run once per transport (grpc-netty-shaded, grpc-netty, grpc-okhttp),
 * in the test JVM with the agent attached in development mode (the bare bootstrap jar as
 * {@code -javaagent}, like the HTTP suite), against real gRPC servers on
 * 127.0.0.2–4. A transport supplies how an application builds a channel with it.
 *
 * <p>Lives in this module's test sources rather than {@code instrumentation/testing} so that the
 * shared testing module does not carry gRPC for the HTTP clients.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class AbstractMeshGrpcClientTest {
  /** The transport's builder for {@code target}, plaintext, as an application would write it. */
  protected abstract ManagedChannelBuilder<?> forTarget(String target);

  /** The transport's {@code forAddress(host, port)}, plaintext. */
  protected abstract ManagedChannelBuilder<?> forAddress(String host, int port);

  /**
   * Whether jmesh gives this transport's channels mesh TLS ({@code MeshChannelTls}: grpc-netty,
   * grpc-netty-shaded, grpc-okhttp); where not, the mesh-TLS tests check that RPCs fail closed.
   */
  protected boolean meshTls() {
    return true;
  }

  private final List<TestGrpcServer> servers = new ArrayList<>();
  private final List<ManagedChannel> channels = new ArrayList<>();
  private TestGrpcServer v1a;
  private TestGrpcServer v1b;
  private TestGrpcServer v2a;
  private TestGrpcServer outside;
  private TestGrpcServer secureApp; // behind an inbound terminator in the mesh-TLS tests

  private static final SpiffeId CLIENT_ID = SpiffeId.of("cluster.local", "default", "grpc-client");
  private static final SpiffeId SERVER_ID = SpiffeId.of("cluster.local", "default", "secure");
  private final TlsRefusals clientRefusals = new TlsRefusals(); // the agent's handshakes
  private final TlsRefusals serverRefusals = new TlsRefusals(); // the terminators'
  private MeshTls serverTls;

  @BeforeAll
  void startServers() throws Exception {
    v1a = server("v1-a", "127.0.0.2");
    v1b = server("v1-b", "127.0.0.3");
    v2a = server("v2-a", "127.0.0.4");
    outside = server("outside", "127.0.0.1");
    secureApp = server("secure-app", "127.0.0.1");
    // The agent starts in the background; its runtime is there once it is ready.
    await().atMost(Duration.ofSeconds(30)).until(() -> Agent.context() != null);
    // Both workloads get certificates of one test mesh, as the controller's CA would issue them.
    TestIdentities testMesh = TestIdentities.mesh("grpc-conformance");
    io.jmesh.agent.tooling.AgentTestHooks.installIdentity(testMesh.tls(CLIENT_ID, clientRefusals));
    serverTls = testMesh.tls(SERVER_ID, serverRefusals);
  }

  private TestGrpcServer server(String name, String ip) throws Exception {
    TestGrpcServer s = new TestGrpcServer(name, ip);
    servers.add(s);
    return s;
  }

  @AfterEach
  void closeChannels() throws InterruptedException {
    for (ManagedChannel c : channels) {
      c.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }
    channels.clear();
    servers.forEach(s -> s.delay(0));
    servers.forEach(s -> s.failWith(null));
  }

  @AfterAll
  void stopServers() throws InterruptedException {
    for (TestGrpcServer s : servers) {
      s.close();
    }
  }

  /** Puts a mesh config in force, as a file reload or the controller would. */
  private static void mesh(String... yamlLines) throws Exception {
    Agent.context()
        .runtime()
        .update(MeshConfigParser.parse("test.yaml", String.join("\n", yamlLines) + "\n", "default"));
  }

  private ManagedChannel channel(ManagedChannelBuilder<?> builder) {
    ManagedChannel c = builder.build();
    channels.add(c);
    return c;
  }

  private static String call(ManagedChannel channel, MethodDescriptor<String, String> method) {
    return ClientCalls.blockingUnaryCall(channel, method, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), "hi");
  }

  /** Calls {@code method} and returns the response headers the application sees. */
  private static Metadata headersOf(ManagedChannel channel, MethodDescriptor<String, String> method) {
    AtomicReference<Metadata> headers = new AtomicReference<>();
    AtomicReference<Metadata> trailers = new AtomicReference<>();
    Channel capturing = ClientInterceptors.intercept(channel, MetadataUtils.newCaptureMetadataInterceptor(headers, trailers));
    ClientCalls.blockingUnaryCall(capturing, method, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), "hi");
    return headers.get();
  }

  /** Every value of text header {@code name}, comma-joined, or null. */
  private static String header(Metadata headers, String name) {
    Iterable<String> values = headers.getAll(Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER));
    return values == null ? null : String.join(",", values);
  }

  private static String field(String body, String name) {
    Matcher m = Pattern.compile("\\b" + name + "=(\\S+)").matcher(body);
    return m.find() ? m.group(1) : null;
  }

  private static Map<String, Integer> callMany(ManagedChannel channel, MethodDescriptor<String, String> method, int count) {
    Map<String, Integer> counts = new TreeMap<>();
    for (int i = 0; i < count; i++) {
      counts.merge(field(call(channel, method), "instance"), 1, Integer::sum);
    }
    return counts;
  }

  private String endpoint(TestGrpcServer s, String ip, String labels) {
    return "      - {address: " + ip + ", port: " + s.port() + ", labels: {" + labels + "}}";
  }

  /** One service {@code hello} on v1-a only, with the route lines given (indented as a route list item). */
  private void helloWithRoutes(String... routeLines) throws Exception {
    List<String> lines = new ArrayList<>(List.of(
        "services:", "  - name: hello", "    ports: [8080]", "    endpoints:", endpoint(v1a, "127.0.0.2", "version: v1"),
        "    routes:"));
    for (String line : routeLines) {
      lines.add("      " + line);
    }
    mesh(lines.toArray(String[]::new));
  }

  @Test
  void appliesTheRoutesHeaderEditsAndRewrite() throws Exception {
    helloWithRoutes(
        "- name: hello-to-stats",
        "  matches: [{path: {exact: /test.Greeter/Hello}}]",
        "  requestHeaders: {set: {x-env: prod}, add: {x-debug: mesh}}",
        "  rewrite: {hostname: hello.internal, path: {replaceFull: /test.Admin/Stats}}",
        "  backends: [{}]");
    ManagedChannel channel = channel(forAddress("hello", 8080).usePlaintext());

    String body = call(channel, TestGrpcServer.HELLO);

    assertThat(field(body, "method")).isEqualTo("test.Admin/Stats");
    assertThat(field(body, "authority")).isEqualTo("hello.internal:8080");
    assertThat(field(body, "env")).isEqualTo("prod");
    assertThat(field(body, "debug")).isEqualTo("mesh");
  }

  @Test
  void appliesTheRoutesResponseHeaderEdits() throws Exception {
    helloWithRoutes(
        "- name: hello",
        "  matches: [{path: {exact: /test.Greeter/Hello}}]",
        "  responseHeaders:",
        "    set: {x-resp-env: prod, x-resp-new: set}",
        "    add: {X-RESP-TAG: mesh, x-resp-added: added}",
        "    remove: [X-Resp-Debug, x-resp-absent]",
        "  backends: [{}]",
        "- name: other",
        "  backends: [{}]");
    ManagedChannel channel = channel(forAddress("hello", 8080).usePlaintext());

    Metadata h = headersOf(channel, TestGrpcServer.HELLO);

    // The server sent x-resp-env: server, x-resp-tag: server, x-resp-debug: on. set replaces or
    // adds, add appends after the server's values or adds, remove drops; names in any case.
    assertThat(header(h, "x-resp-env")).isEqualTo("prod");
    assertThat(header(h, "x-resp-new")).isEqualTo("set");
    assertThat(header(h, "x-resp-tag")).isEqualTo("server,mesh");
    assertThat(header(h, "x-resp-added")).isEqualTo("added");
    assertThat(header(h, "x-resp-debug")).isNull();
    // Another route's response headers are the server's own.
    Metadata other = headersOf(channel, TestGrpcServer.STATS);
    assertThat(header(other, "x-resp-env")).isEqualTo("server");
    assertThat(header(other, "x-resp-debug")).isEqualTo("on");
    assertThat(header(other, "x-resp-new")).isNull();
  }

  @Test
  void aResponseHeaderEditThatFailsLeavesTheResponseAsSent() throws Exception {
    helloWithRoutes(
        "- name: broken",
        "  responseHeaders: {set: {x-resp-env: broken-by-the-agent}}",
        "  backends: [{}]");
    // An agent bug: the adapter gets malformed edits for this route.
    io.jmesh.agent.tooling.AgentTestHooks.breakResponseHeaderEdits(new HeaderModifier(
        List.of(new HeaderModifier.Header("x-resp-env", "broken-by-the-agent")), List.of(), List.of()));
    long before = AgentErrors.responseHeaderEdits();
    ManagedChannel channel = channel(forAddress("hello", 8080).usePlaintext());

    for (int i = 0; i < 2; i++) {
      // The RPC goes through with the headers as the server sent them.
      Metadata h = headersOf(channel, TestGrpcServer.HELLO);
      assertThat(header(h, "x-resp-env")).isEqualTo("server");
      assertThat(header(h, "x-resp-debug")).isEqualTo("on");
    }
    // Each failure is counted (the first logged as one warning; MeshBridgeTest).
    assertThat(AgentErrors.responseHeaderEdits()).isEqualTo(before + 2);
  }

  @Test
  void leavesTargetsOutsideTheMeshUntouched() throws Exception {
    mesh("services:", "  - name: hello", "    ports: [8080]", "    endpoints:", endpoint(v1a, "127.0.0.2", "version: v1"));

    String byName = call(channel(forTarget("localhost:" + outside.port()).usePlaintext()), TestGrpcServer.HELLO);
    String byIp = call(channel(forAddress("127.0.0.1", outside.port()).usePlaintext()), TestGrpcServer.HELLO);

    assertThat(field(byName, "instance")).isEqualTo("outside");
    assertThat(field(byName, "authority")).isEqualTo("localhost:" + outside.port());
    assertThat(field(byIp, "instance")).isEqualTo("outside");
  }

  @Test
  void routesByMethodToDifferentBackendsAndKeepsTheLogicalAuthority() throws Exception {
    mesh(
        "services:",
        "  - name: hello",
        "    ports: [8080]",
        "    endpoints:",
        endpoint(v1a, "127.0.0.2", "role: app"),
        endpoint(v1b, "127.0.0.3", "role: app"),
        endpoint(v2a, "127.0.0.4", "role: admin"),
        "    routes:",
        "      - name: admin",
        "        matches: [{path: {prefix: /test.Admin/}}]",
        "        backends: [{subset: {role: admin}, weight: 1}]",
        "      - name: app",
        "        backends: [{subset: {role: app}, weight: 1}]");
    ManagedChannel channel = channel(forAddress("hello", 8080).usePlaintext());

    Map<String, Integer> greeter = callMany(channel, TestGrpcServer.HELLO, 20);
    Map<String, Integer> admin = callMany(channel, TestGrpcServer.STATS, 20);

    assertThat(greeter.keySet()).as("%s", greeter).isSubsetOf("v1-a", "v1-b");
    assertThat(admin).containsOnlyKeys("v2-a");
    // The server sees the name the application used, not the endpoint's address.
    assertThat(field(call(channel, TestGrpcServer.STATS), "authority")).isEqualTo("hello:8080");
  }

  @Test
  void splitsNinetyTenAcrossVersions() throws Exception {
    mesh(
        "services:",
        "  - name: hello",
        "    ports: [8080]",
        "    endpoints:",
        endpoint(v1a, "127.0.0.2", "version: v1"),
        endpoint(v1b, "127.0.0.3", "version: v1"),
        endpoint(v2a, "127.0.0.4", "version: v2"),
        "    routes:",
        "      - name: split",
        "        backends:",
        "          - {subset: {version: v1}, weight: 90}",
        "          - {subset: {version: v2}, weight: 10}");
    ManagedChannel channel = channel(forTarget("dns:///hello:8080").usePlaintext());

    Map<String, Integer> counts = callMany(channel, TestGrpcServer.HELLO, 400);

    // binomial(400, 0.1): mean 40, sd 6; five sd either side.
    assertThat(counts.getOrDefault("v2-a", 0)).as("%s", counts).isBetween(10, 70);
    assertThat(counts.getOrDefault("v1-a", 0) + counts.getOrDefault("v1-b", 0)).isEqualTo(400 - counts.getOrDefault("v2-a", 0));
  }

  /** The balancer's view of the endpoint {@code ip:server.port()} of {@code service}, read now. */
  private static MeshRuntime.EndpointStatus status(String service, String ip, TestGrpcServer server) {
    List<MeshRuntime.EndpointStatus> endpoints = Agent.context().runtime().endpointStatus().get(service + ".default");
    assertThat(endpoints).as("endpoints of %s.default", service).isNotNull();
    return endpoints.stream()
        .filter(e -> e.host().equals(ip) && e.port() == server.port())
        .findFirst()
        .orElseThrow(() -> new AssertionError(ip + ":" + server.port() + " is not an endpoint of " + service + ".default: " + endpoints));
  }

  /**
   * Peak-EWMA, seen through the channel: every RPC goes where the balancer's state, as the
   * attempts the interceptor reported left it, says it is cheaper, and the slow endpoint's estimate
   * holds its delay. As in the HTTP suite's {@code balancesTowardTheFastEndpoint}, the test does not
   * count the slow endpoint's RPCs: one answer of the fast endpoint slower than the slow one's
   * estimate (a GC pause, a busy CPU) sends it every RPC for τ·ln(stall / delay), τ = 10 s, so
   * that count is decided by the machine. With nothing in flight both estimates decay by the same
   * factor between this test's read and the pick, so their order at the read is the order at the
   * pick. v1-b is read before and after v1-a: a pause between two reads makes the one read later
   * look cheaper, and an idle estimate only decays, so the two readings bound v1-b's.
   */
  @Test
  void balancesAwayFromASlowEndpoint() throws Exception {
    // A service of its own, new to the runtime (a config without it drops its balancer), so that
    // no earlier test's or run's estimates are in its balancer.
    mesh("services: []");
    mesh(
        "services:",
        "  - name: balanced",
        "    ports: [8080]",
        "    endpoints:",
        endpoint(v1a, "127.0.0.2", "version: v1"),
        endpoint(v1b, "127.0.0.3", "version: v1"));
    v1b.delay(200);
    ManagedChannel channel = channel(forTarget("balanced:8080").usePlaintext());

    List<String> trail = new ArrayList<>();
    Map<String, Integer> counts = new TreeMap<>();
    for (int i = 0; i < 40; i++) {
      MeshRuntime.EndpointStatus slowBefore = status("balanced", "127.0.0.3", v1b);
      MeshRuntime.EndpointStatus fast = status("balanced", "127.0.0.2", v1a);
      MeshRuntime.EndpointStatus slowAfter = status("balanced", "127.0.0.3", v1b);
      // Every attempt the interceptor started has been reported finished before the RPC returned.
      assertThat(slowBefore.inFlight() + fast.inFlight() + slowAfter.inFlight()).as("attempts in flight before RPC %d: %s", i, trail).isZero();
      // Within 1 % the pick may go either way: no expectation then.
      String expected =
          slowBefore.ewmaMillis() < fast.ewmaMillis() * 0.99 ? "v1-b" : fast.ewmaMillis() < slowAfter.ewmaMillis() * 0.99 ? "v1-a" : null;

      String instance = field(call(channel, TestGrpcServer.HELLO), "instance");

      trail.add(String.format("%d: v1-a %.1f ms, v1-b %.1f..%.1f ms -> %s", i, fast.ewmaMillis(), slowBefore.ewmaMillis(), slowAfter.ewmaMillis(), instance));
      counts.merge(instance, 1, Integer::sum);
      if (expected != null) {
        assertThat(instance).as("the cheaper endpoint by the balancer's estimates: %s", trail).isEqualTo(expected);
      }
      if (instance.equals("v1-b")) {
        // The reported latency includes the server's 200 ms; read at once, the decay has barely begun.
        assertThat(status("balanced", "127.0.0.3", v1b).ewmaMillis()).as("v1-b's estimate after it answered: %s", trail).isGreaterThan(100.0);
      }
    }
    // Both fresh endpoints start at the prior and the first one measured restarts its decay, so the
    // other one is cheaper on the second RPC: each endpoint was measured and picked at least once.
    assertThat(counts).as("%s", trail).containsOnlyKeys("v1-a", "v1-b");
  }

  @Test
  void failsOverWhenAnEndpointsServerStops() throws Exception {
    TestGrpcServer doomed = new TestGrpcServer("doomed", "127.0.0.3");
    try {
      mesh(
          "services:",
          "  - name: hello",
          "    ports: [8080]",
          "    endpoints:",
          endpoint(v1a, "127.0.0.2", "version: v1"),
          endpoint(doomed, "127.0.0.3", "version: v1"));
      ManagedChannel channel = channel(forTarget("hello:8080").usePlaintext());
      // Both endpoints in use.
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> callMany(channel, TestGrpcServer.HELLO, 10).containsKey("doomed"));

      doomed.close();

      // An RPC already on its way to the dying connection may fail (this route does not retry);
      // once the channel has seen the connection go, every RPC goes to the survivor.
      await()
          .atMost(Duration.ofSeconds(10))
          .ignoreException(StatusRuntimeException.class)
          .until(() -> call(channel, TestGrpcServer.HELLO) != null);
      assertThat(callMany(channel, TestGrpcServer.HELLO, 50)).containsOnlyKeys("v1-a");
    } finally {
      doomed.close();
    }
  }

  @Test
  void theRoutesTimeoutBecomesTheRpcsDeadline() throws Exception {
    mesh(
        "services:",
        "  - name: hello",
        "    ports: [8080]",
        "    endpoints:",
        endpoint(v1a, "127.0.0.2", "version: v1"),
        "    routes:",
        "      - name: quick",
        "        timeout: 200ms",
        "        backends: [{subset: {version: v1}, weight: 1}]");
    v1a.delay(2000);
    ManagedChannel channel = channel(forTarget("hello:8080").usePlaintext());

    // The application allows 10 s (call()) and the server answers after 2 s: only the route's
    // 200 ms, the stricter deadline, can end the RPC with DEADLINE_EXCEEDED. No clock is read.
    assertThatThrownBy(() -> call(channel, TestGrpcServer.HELLO))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).as("%s", e).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
  }

  @Test
  void retriesUnavailableUnaryRpcsOnTheOtherEndpoint() throws Exception {
    mesh(
        "services:",
        "  - name: hello",
        "    ports: [8080]",
        "    policy: {retryBudget: {ratio: 1.0, minPerSecond: 100, ttl: 10s}}",
        "    endpoints:",
        endpoint(v1a, "127.0.0.2", "version: v1"),
        endpoint(v1b, "127.0.0.3", "version: v1"),
        "    routes:",
        "      - name: retried",
        // gRPC methods are POSTs: the route says that they may be retried, on UNAVAILABLE (503).
        "        retry: {attempts: 2, nonIdempotent: true, on: [503]}",
        "        backends: [{subset: {version: v1}, weight: 1}]");
    v1b.failWith(Status.UNAVAILABLE);
    ManagedChannel channel = channel(forTarget("hello:8080").usePlaintext());
    int failingBefore = v1b.calls();
    int servingBefore = v1a.calls();

    Map<String, Integer> counts = callMany(channel, TestGrpcServer.HELLO, 30);

    // Every RPC succeeded on v1-a; each one that v1-b failed was retried there, once.
    assertThat(counts).containsOnlyKeys("v1-a");
    int retried = v1b.calls() - failingBefore;
    assertThat(retried).as("RPCs that the failing endpoint answered UNAVAILABLE, each retried").isPositive();
    assertThat(v1a.calls() - servingBefore).as("RPCs on the serving endpoint").isEqualTo(30);
  }

  @Test
  void streamsThroughTheMeshAndNeverRetriesAStream() throws Exception {
    mesh(
        "services:",
        "  - name: hello",
        "    ports: [8080]",
        "    endpoints:",
        endpoint(v1a, "127.0.0.2", "version: v1"),
        "    routes:",
        "      - name: retried",
        "        retry: {attempts: 3, nonIdempotent: true, on: [503]}",
        "        backends: [{subset: {version: v1}, weight: 1}]");
    ManagedChannel channel = channel(forTarget("hello:8080").usePlaintext());
    CallOptions options = CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS);

    List<String> messages = new ArrayList<>();
    ClientCalls.blockingServerStreamingCall(channel, TestGrpcServer.COUNT, options, "50").forEachRemaining(messages::add);
    assertThat(messages).hasSize(50).startsWith("0", "1").endsWith("49");

    // A failing stream is not replayed, even on a route that retries UNAVAILABLE.
    v1a.failWith(Status.UNAVAILABLE);
    int before = v1a.calls();
    assertThatThrownBy(
            () -> ClientCalls.blockingServerStreamingCall(channel, TestGrpcServer.COUNT, options, "5").forEachRemaining(m -> {}))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).as("%s", e).isEqualTo(Status.Code.UNAVAILABLE));
    assertThat(v1a.calls() - before).as("attempts of the failing stream").isEqualTo(1);
  }

  @Test
  void aRouteFaultRefusesTheRpcWithTheMappedStatusAndSendsNothing() throws Exception {
    mesh(
        "services:",
        "  - name: hello",
        "    ports: [8080]",
        "    endpoints:",
        endpoint(v1a, "127.0.0.2", "version: v1"),
        "    routes:",
        "      - name: broken",
        "        fault: {abort: {percent: 100, status: 503}}",
        "        backends: [{subset: {version: v1}, weight: 1}]");
    ManagedChannel channel = channel(forTarget("hello:8080").usePlaintext());
    int before = v1a.calls();

    assertThatThrownBy(() -> call(channel, TestGrpcServer.HELLO))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).as("%s", e).isEqualTo(Status.Code.UNAVAILABLE);
              assertThat(e.getStatus().getDescription()).as("%s", e).startsWith("jmesh: refused (HTTP 503)");
            });
    assertThat(v1a.calls() - before).as("RPCs that reached the server").isZero();
  }

  @Test
  void neverRetriesWhenTheRouteDoesNotSaySo() throws Exception {
    mesh(
        "services:",
        "  - name: hello",
        "    ports: [8080]",
        "    endpoints:",
        endpoint(v1b, "127.0.0.3", "version: v1"));
    v1b.failWith(Status.UNAVAILABLE);
    ManagedChannel channel = channel(forTarget("hello:8080").usePlaintext());
    int before = v1b.calls();

    // A gRPC method is a POST, not idempotent by default: the server's UNAVAILABLE stands.
    assertThatThrownBy(() -> call(channel, TestGrpcServer.HELLO))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).as("%s", e).isEqualTo(Status.Code.UNAVAILABLE));
    assertThat(v1b.calls() - before).as("attempts on the failing endpoint").isEqualTo(1);
  }

  // ---- Cancellation: the application gives up on an RPC, and the server hears of it.

  /** A destination whose route retries UNAVAILABLE: a cancelled attempt must not be retried. */
  private void cancellingService() throws Exception {
    mesh(
        "services:",
        "  - name: cancelling",
        "    ports: [8080]",
        "    endpoints:",
        endpoint(v1a, "127.0.0.2", "version: v1"),
        "    routes:",
        "      - name: retried",
        "        retry: {attempts: 3, nonIdempotent: true, on: [503]}",
        "        backends: [{subset: {version: v1}, weight: 1}]");
  }

  // A deadline far beyond the polls below: the server must see the client's cancellation, not
  // the deadline's.
  private static final CallOptions LONG_DEADLINE = CallOptions.DEFAULT.withDeadlineAfter(120, TimeUnit.SECONDS);

  @Test
  void cancellingAUnaryRpcCancelsItOnTheServer() throws Exception {
    cancellingService();
    ManagedChannel channel = channel(forTarget("cancelling:8080").usePlaintext());
    int hanging = v1a.hanging();
    int cancelled = v1a.cancelled();
    int calls = v1a.calls();

    Future<String> rpc = ClientCalls.futureUnaryCall(channel.newCall(TestGrpcServer.HANG, LONG_DEADLINE), "hi");
    // The server holds the RPC open.
    await().atMost(Duration.ofSeconds(10)).until(() -> v1a.hanging() > hanging);
    rpc.cancel(true);

    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(() -> assertThat(v1a.cancelled() - cancelled).as("RPCs the server saw cancelled").isEqualTo(1));
    assertThat(rpc.isCancelled()).isTrue();
    // Cancelled by the application: not an outcome to retry.
    assertThat(v1a.calls() - calls).as("attempts of the cancelled RPC").isEqualTo(1);
  }

  @Test
  void cancellingAServerStreamCancelsItOnTheServer() throws Exception {
    cancellingService();
    ManagedChannel channel = channel(forTarget("cancelling:8080").usePlaintext());
    int cancelled = v1a.cancelled();
    BlockingQueue<String> messages = new LinkedBlockingQueue<>();
    BlockingQueue<Throwable> errors = new LinkedBlockingQueue<>();
    AtomicReference<ClientCallStreamObserver<String>> stream = new AtomicReference<>();

    ClientCalls.asyncServerStreamingCall(
        channel.newCall(TestGrpcServer.WATCH, LONG_DEADLINE),
        "watch",
        new ClientResponseObserver<String, String>() {
          @Override
          public void beforeStart(ClientCallStreamObserver<String> requestStream) {
            stream.set(requestStream);
          }

          @Override
          public void onNext(String value) {
            messages.add(value);
          }

          @Override
          public void onError(Throwable t) {
            errors.add(t);
          }

          @Override
          public void onCompleted() {
            errors.add(new AssertionError("the stream completed; expected it to stay open until cancelled"));
          }
        });
    // The stream is open end to end: its first message has arrived.
    assertThat(messages.poll(10, TimeUnit.SECONDS)).as("first message of the stream").isEqualTo("0");
    stream.get().cancel("the client has seen enough", null);

    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(() -> assertThat(v1a.cancelled() - cancelled).as("streams the server saw cancelled").isEqualTo(1));
    assertThat(Status.fromThrowable(errors.poll(10, TimeUnit.SECONDS)).getCode()).isEqualTo(Status.Code.CANCELLED);
  }

  // ---- The breaker and the retry limits, counted on the servers: no timing.

  @Test
  void ejectsAnEndpointThatFailsConsecutively() throws Exception {
    TestGrpcServer flaky = new TestGrpcServer("flaky", "127.0.0.5");
    try {
      mesh(
          "services:",
          "  - name: ejecting",
          "    ports: [8080]",
          "    policy:",
          // Round robin: without ejection, flaky would keep getting every third RPC.
          "      balancer: round-robin",
          // Out after three failures in a row, for longer than this test lasts.
          "      failureAccrual: {consecutiveFailures: 3, minPenalty: 60s, maxPenalty: 60s, jitter: 0}",
          "    endpoints:",
          endpoint(v1a, "127.0.0.2", "version: v1"),
          endpoint(v2a, "127.0.0.4", "version: v1"),
          endpoint(flaky, "127.0.0.5", "version: v1"));
      flaky.failWith(Status.UNAVAILABLE);
      ManagedChannel channel = channel(forTarget("ejecting:8080").usePlaintext());

      // The route does not retry, so flaky's failures reach the application, until the third.
      for (int i = 0; i < 60 && flaky.calls() < 3; i++) {
        try {
          call(channel, TestGrpcServer.HELLO);
        } catch (StatusRuntimeException e) {
          assertThat(e.getStatus().getCode()).as("%s", e).isEqualTo(Status.Code.UNAVAILABLE);
        }
      }
      assertThat(flaky.calls()).as("RPCs that the failing endpoint answered UNAVAILABLE").isEqualTo(3);

      Map<String, Integer> counts = callMany(channel, TestGrpcServer.HELLO, 30);

      // Ejected: every RPC succeeds on the other two, and flaky gets none.
      assertThat(counts).as("%s", counts).containsOnlyKeys("v1-a", "v2-a");
      assertThat(flaky.calls()).as("RPCs that reached the ejected endpoint").isEqualTo(3);
    } finally {
      flaky.close();
    }
  }

  /** Every RPC fails on every endpoint of {@code name}; returns the RPCs the servers received. */
  private int failEverything(String name, String budget, int rpcs) throws Exception {
    mesh(
        "services:",
        "  - name: " + name,
        "    ports: [8080]",
        // The breaker stays out of the way: these tests count attempts, not ejections.
        "    policy: {retryBudget: " + budget + ", failureAccrual: {consecutiveFailures: 1000}}",
        "    endpoints:",
        endpoint(v1a, "127.0.0.2", "version: v1"),
        endpoint(v1b, "127.0.0.3", "version: v1"),
        "    routes:",
        "      - name: retried",
        "        retry: {attempts: 3, nonIdempotent: true, on: [503]}",
        "        backends: [{subset: {version: v1}, weight: 1}]");
    v1a.failWith(Status.UNAVAILABLE);
    v1b.failWith(Status.UNAVAILABLE);
    ManagedChannel channel = channel(forTarget(name + ":8080").usePlaintext());
    int before = v1a.calls() + v1b.calls();
    for (int i = 0; i < rpcs; i++) {
      assertThatThrownBy(() -> call(channel, TestGrpcServer.HELLO))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).as("%s", e).isEqualTo(Status.Code.UNAVAILABLE));
    }
    return v1a.calls() + v1b.calls() - before;
  }

  @Test
  void retriesAtMostTheRoutesAttempts() throws Exception {
    // A budget that grants every retry: attempts alone limits them.
    int received = failEverything("capped", "{ratio: 1.0, minPerSecond: 100, ttl: 10s}", 5);

    assertThat(received).as("attempts of 5 RPCs with retry.attempts 3, each failing").isEqualTo(15);
  }

  @Test
  void theRetryBudgetStopsRetriesWhenEverythingFails() throws Exception {
    // No floor: retries may add 10 % of the requests of the last 10 s, and no more.
    int rpcs = 30;
    int received = failEverything("budgeted", "{ratio: 0.1, minPerSecond: 0, ttl: 10s}", rpcs);

    // Without the budget: 3 attempts each, 90. With it: at most 10 % of the requests in any one
    // window, so at most 20 % of them all even when the calls straddle two windows.
    assertThat(received - rpcs).as("retries of %d failing RPCs (attempts 3, budget ratio 0.1)", rpcs).isBetween(1, 6);
  }

  // ---- Config changes reach channels that are open.

  @Test
  void aRemovedEndpointGetsNoMoreRpcsAndItsConnectionCloses() throws Exception {
    TestGrpcServer leaving = new TestGrpcServer("leaving", "127.0.0.5");
    try {
      mesh(
          "services:",
          "  - name: resizing",
          "    ports: [8080]",
          "    policy: {balancer: round-robin}",
          "    endpoints:",
          endpoint(v1a, "127.0.0.2", "version: v1"),
          endpoint(leaving, "127.0.0.5", "version: v1"));
      ManagedChannel channel = channel(forTarget("resizing:8080").usePlaintext());
      // Round robin: both endpoints serve, each over its connection.
      assertThat(callMany(channel, TestGrpcServer.HELLO, 10)).containsOnlyKeys("v1-a", "leaving");
      assertThat(leaving.connections()).as("connections to the endpoint about to leave").isEqualTo(1);
      int before = leaving.calls();

      // The config drops the endpoint, as a file reload or a controller push would.
      mesh(
          "services:",
          "  - name: resizing",
          "    ports: [8080]",
          "    policy: {balancer: round-robin}",
          "    endpoints:",
          endpoint(v1a, "127.0.0.2", "version: v1"));

      // No RPC needs to fail or pass first: the runtime tells the channel, whose balancer shuts
      // the endpoint's subchannel down, and its connection closes. gRPC itself delays a
      // subchannel's shutdown by 5 s (for RPCs that an older picker gave it), hence the bound.
      await()
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(() -> assertThat(leaving.connections()).as("connections to the removed endpoint").isZero());
      assertThat(callMany(channel, TestGrpcServer.HELLO, 20)).containsOnlyKeys("v1-a");
      assertThat(leaving.calls() - before).as("RPCs that reached the removed endpoint").isZero();
    } finally {
      leaving.close();
    }
  }

  // ---- Mesh TLS: the server workload is secureApp behind a jmesh inbound terminator (mesh-runtime's
  // own) on 127.0.0.6, which relays gRPC to it over h2c; the destination names the identity its
  // endpoints must prove.

  /**
   * A fresh terminator, so that its counts are this test's alone. It is mesh-runtime's, built on
   * Netty 4.2 (in production the agent carries that Netty relocated; here it shares the test's
   * class path): an execution that puts an older application Netty on the class path
   * ({@code grpc-netty-oldest}) cannot start it, and skips the test saying so.
   */
  private InboundTerminator terminator() throws Exception {
    assumeTrue(
        nettyFourTwo(),
        "the mesh-TLS fixture (jmesh's InboundTerminator) needs Netty 4.2; this execution's class path has Netty "
            + io.netty.util.Version.identify(getClass().getClassLoader()).get("netty-common").artifactVersion());
    return InboundTerminator.start(
        InboundTerminator.Options.of(new InetSocketAddress("127.0.0.6", 0), new InetSocketAddress("127.0.0.1", secureApp.port())),
        serverTls,
        AuthorizationPolicy::allAuthenticated,
        new InboundStats(io.jmesh.runtime.telemetry.MeshMetrics.noop().server("unknown")));
  }

  private static boolean nettyFourTwo() {
    try {
      Class.forName("io.netty.channel.MultiThreadIoEventLoopGroup", false, AbstractMeshGrpcClientTest.class.getClassLoader());
      return true;
    } catch (ClassNotFoundException e) {
      return false;
    }
  }

  /** A destination reached over mesh TLS: its endpoint is the terminator's mesh port. */
  private static void secureService(String name, InboundTerminator t, SpiffeId expected) throws Exception {
    mesh(
        "services:",
        "  - name: " + name,
        "    ports: [8080]",
        "    identities: [\"" + expected + "\"]",
        "    endpoints:",
        "      - {address: 127.0.0.6, port: " + t.port() + "}");
  }

  @Test
  void reachesAMeshTlsServerAsThisWorkload() throws Exception {
    try (InboundTerminator t = terminator()) {
      secureService("secure", t, SERVER_ID);
      // The application asks for plaintext, as it may inside a mesh: jmesh gives the channel TLS.
      ManagedChannel channel = channel(forTarget("secure:8080").usePlaintext());
      if (!meshTls()) {
        // Fails closed: a refusal that says why, and nothing reaches the server, in plaintext or not.
        assertThatThrownBy(() -> call(channel, TestGrpcServer.HELLO))
            .isInstanceOfSatisfying(
                StatusRuntimeException.class,
                e -> assertThat(e.getStatus().getDescription()).as("%s", e).contains("requires mesh TLS"));
        assertThat(t.stats().connections()).isZero();
        assertThat(serverRefusals.count(TlsRefusals.Reason.PLAINTEXT)).isZero();
        return;
      }

      String body = call(channel, TestGrpcServer.HELLO);
      String again = call(channel, TestGrpcServer.STATS);

      assertThat(field(body, "instance")).as(body).isEqualTo("secure-app");
      // Only a mutually authenticated handshake lets the terminator name the caller.
      assertThat(field(body, "client")).as(body).isEqualTo(CLIENT_ID.toString());
      assertThat(field(body, "authority")).as(body).isEqualTo("secure:8080");
      assertThat(field(again, "client")).as(again).isEqualTo(CLIENT_ID.toString());
      assertThat(t.stats().connections()).as("TLS connections the terminator accepted").isEqualTo(1);
      assertThat(serverRefusals.count(TlsRefusals.Reason.PLAINTEXT)).isZero();
    }
  }

  @Test
  void refusesAServerThatProvesAnotherIdentity() throws Exception {
    try (InboundTerminator t = terminator()) {
      // The terminator holds SERVER_ID's certificate; the control plane expects someone else.
      secureService("imposter", t, SpiffeId.of("cluster.local", "default", "someone-else"));
      long wrongBefore = clientRefusals.count(TlsRefusals.Reason.WRONG_IDENTITY);
      int before = secureApp.calls();
      ManagedChannel channel = channel(forTarget("imposter:8080").usePlaintext());

      assertThatThrownBy(() -> call(channel, TestGrpcServer.HELLO))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).as("%s", e).isEqualTo(Status.Code.UNAVAILABLE));

      if (meshTls()) {
        assertThat(clientRefusals.count(TlsRefusals.Reason.WRONG_IDENTITY))
            .as("client-side refusals of a server with the wrong identity")
            .isGreaterThan(wrongBefore);
      }
      // Never sent in plaintext instead: the server saw no RPC and no plaintext connection.
      assertThat(secureApp.calls()).isEqualTo(before);
      assertThat(t.stats().requests()).isZero();
      assertThat(serverRefusals.count(TlsRefusals.Reason.PLAINTEXT)).isZero();
    }
  }

  // ---- gRPC status codes in a route's retry.on, and in the RPC metrics.

  /** RPCs recorded in the agent's rpc.client.duration for destination coded.default. */
  private static long rpcs(String method, int code) {
    io.micrometer.core.instrument.Timer t =
        Agent.context().runtime().metrics().registry()
            .find("rpc.client.duration")
            .tag("jmesh.destination.service", "coded.default")
            .tag("rpc.system", "grpc")
            .tag("rpc.service", "test.Greeter")
            .tag("rpc.method", method)
            .tag("rpc.grpc.status_code", Integer.toString(code))
            .timer();
    return t == null ? 0 : t.count();
  }

  /** What the agent's registry holds for gRPC, for failure messages. */
  private static List<String> rpcMeters() {
    List<String> out = new ArrayList<>();
    Agent.context().runtime().metrics().registry().getMeters().stream()
        .filter(m -> m.getId().getName().startsWith("rpc."))
        .forEach(m -> out.add(m.getId() + " " + m.measure()));
    return out;
  }

  @Test
  void retriesTheGrpcCodesTheRouteNamesAndRecordsEachRpcsCode() throws Exception {
    mesh(
        "services:",
        "  - name: coded",
        "    ports: [8080]",
        // A breaker that never ejects the one endpoint, and a budget that never runs out, so that
        // only the route's conditions decide.
        "    policy: {retryBudget: {ratio: 1.0, minPerSecond: 100, ttl: 10s}, failureAccrual: {consecutiveFailures: 100}}",
        "    endpoints:",
        endpoint(v1b, "127.0.0.3", "version: v1"),
        "    routes:",
        "      - name: by-code",
        // The gRPC name, not an HTTP status: INTERNAL (HTTP 500) is not on the list.
        "        retry: {attempts: 2, nonIdempotent: true, on: [unavailable], backoff: {base: 1ms, max: 1ms}}",
        "        backends: [{subset: {version: v1}, weight: 1}]");
    ManagedChannel channel = channel(forTarget("coded:8080").usePlaintext());
    // The agent's registry lives as long as the JVM, which runs every transport's suite.
    long okBefore = rpcs("Hello", 0);
    long unavailableBefore = rpcs("Hello", 14);
    long internalBefore = rpcs("Hello", 13);

    assertThat(call(channel, TestGrpcServer.HELLO)).contains("instance=v1-b");
    assertThat(rpcs("Hello", 0) - okBefore).as("OK RPCs recorded in %s", rpcMeters()).isEqualTo(1);

    // UNAVAILABLE is retried: both attempts reach the server, and the RPC ends with it.
    v1b.failWith(Status.UNAVAILABLE);
    int before = v1b.calls();
    assertThatThrownBy(() -> call(channel, TestGrpcServer.HELLO))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).as("%s", e).isEqualTo(Status.Code.UNAVAILABLE));
    assertThat(v1b.calls() - before).as("attempts of an UNAVAILABLE RPC (attempts: 2)").isEqualTo(2);
    assertThat(rpcs("Hello", 14) - unavailableBefore).as("UNAVAILABLE RPCs recorded, one per RPC").isEqualTo(1);

    // INTERNAL is not: one attempt.
    v1b.failWith(Status.INTERNAL);
    before = v1b.calls();
    assertThatThrownBy(() -> call(channel, TestGrpcServer.HELLO))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).as("%s", e).isEqualTo(Status.Code.INTERNAL));
    assertThat(v1b.calls() - before).as("attempts of an INTERNAL RPC").isEqualTo(1);
    assertThat(rpcs("Hello", 13) - internalBefore).as("INTERNAL RPCs recorded").isEqualTo(1);
  }
}
