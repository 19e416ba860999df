package io.jmesh.instrumentation.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.jmesh.agent.tooling.Agent;
import io.jmesh.agent.tooling.AgentTestHooks;
import io.jmesh.bridge.BridgeCall;
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
import io.jmesh.runtime.time.Ticker;
import io.jmesh.runtime.trace.TraceSettings;
import io.jmesh.runtime.trace.Tracing;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.data.EventData;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The conformance suite every HTTP client instrumentation runs, in the test JVM, with the agent
 * attached in development mode ({@code -javaagent:} the bare bootstrap jar; the agent's classes
 * come from the test class path) and real servers on 127.0.0.2–4. A client module supplies how to
 * send one request and switches off, with {@link Options}, what its client cannot do, saying why.
 *
 * <p>The mesh config is swapped per test through the runtime's {@code update}, as file mode or the
 * controller would. The agent holds a mesh identity of a test CA for the whole suite (installed in
 * {@code @BeforeAll}), so every test of a plaintext destination also shows that an identity changes
 * nothing there.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class AbstractMeshHttpClientTest {
  /** One request as the application would make it; {@code body} is {@code null} for none. */
  public record Request(String method, URI uri, Map<String, String> headers, String body) {
    public Request(String method, URI uri, Map<String, String> headers) {
      this(method, uri, headers, null);
    }
  }

  /**
   * What the application got back.
   *
   * @param headers the response's headers as the client shows them to the application (names in
   *     any case; a {@code null} name, such as {@code HttpURLConnection}'s status line, is left out)
   */
  public record Response(int status, String body, Map<String, List<String>> headers) {
    public Response {
      Map<String, List<String>> byName = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
      headers.forEach(
          (name, values) -> {
            if (name != null) {
              byName.computeIfAbsent(name, k -> new ArrayList<>()).addAll(values);
            }
          });
      headers = byName;
    }

    /** The {@code x-jmesh-refused} header, {@code null} when absent. */
    public String refused() {
      return header(BridgeCall.REFUSED_HEADER);
    }

    /** Every value of header {@code name} (any case), comma-joined in order, or {@code null}. */
    public String header(String name) {
      List<String> values = headers.get(name);
      return values == null ? null : String.join(",", values);
    }

    /** The instance named in the body. */
    public String instance() {
      return field("instance");
    }

    /** A {@code name=value} field of the body, or {@code null}. */
    public String field(String name) {
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\b" + name + "=(\\S+)").matcher(body);
      return m.find() ? m.group(1) : null;
    }
  }

  /**
   * What a client can do; each switch that is off says why in the subclass.
   *
   * @param picksPerRequest each request is balanced on its own (not per pooled connection)
   * @param retries failed attempts are retried (needs the client to hand over each attempt)
   * @param timeouts per-try and whole-call timeouts end attempts
   * @param reportsOutcomes attempt outcomes reach the balancer and breaker
   * @param synthesizesResponses a refusal (fault abort, rate limit) reaches the application as a
   *     response with a status; otherwise as an {@link java.io.IOException} naming the reason
   * @param meshTls attempts to a destination with {@code identities} go over mesh TLS; otherwise
   *     such calls must fail, naming why, and never reach the peer in plaintext
   * @param http2 mesh TLS offers ALPN {@code h2}, so concurrent calls share one connection per
   *     endpoint
   * @param mirrorsBodies a route's mirror gets a copy of a request body; otherwise the copy of a
   *     request with a body is skipped (and counted), and only body-less requests are mirrored
   */
  public record Options(
      boolean picksPerRequest,
      boolean retries,
      boolean timeouts,
      boolean reportsOutcomes,
      boolean synthesizesResponses,
      boolean meshTls,
      boolean http2,
      boolean mirrorsBodies) {
    public Options(
        boolean picksPerRequest,
        boolean retries,
        boolean timeouts,
        boolean reportsOutcomes,
        boolean synthesizesResponses,
        boolean meshTls,
        boolean http2) {
      this(picksPerRequest, retries, timeouts, reportsOutcomes, synthesizesResponses, meshTls, http2, true);
    }

    public static Options all() {
      return new Options(true, true, true, true, true, true, true, true);
    }

    /** A request's body is not copied to a route's mirror (the client streams it once). */
    public Options withoutMirroredBodies() {
      return new Options(picksPerRequest, retries, timeouts, reportsOutcomes, synthesizesResponses, meshTls, http2, false);
    }

    public Options withoutRetries() {
      return new Options(picksPerRequest, false, timeouts, reportsOutcomes, synthesizesResponses, meshTls, http2, mirrorsBodies);
    }

    public Options withoutTimeouts() {
      return new Options(picksPerRequest, retries, false, reportsOutcomes, synthesizesResponses, meshTls, http2, mirrorsBodies);
    }

    public Options withoutSynthesizedResponses() {
      return new Options(picksPerRequest, retries, timeouts, reportsOutcomes, false, meshTls, http2, mirrorsBodies);
    }

    /** Mesh TLS is off for this client (and with it HTTP/2 between peers). */
    public Options withoutMeshTls() {
      return new Options(picksPerRequest, retries, timeouts, reportsOutcomes, synthesizesResponses, false, false, mirrorsBodies);
    }

    public Options withoutHttp2() {
      return new Options(picksPerRequest, retries, timeouts, reportsOutcomes, synthesizesResponses, meshTls, false, mirrorsBodies);
    }
  }

  /** Sends one request with the client under test, as an application would. */
  protected abstract Response send(Request request) throws Exception;

  protected Options options() {
    return Options.all();
  }

  private final List<LoopbackServer> servers = new ArrayList<>();
  private LoopbackServer v1a;
  private LoopbackServer v1b;
  private LoopbackServer v2a;
  private LoopbackServer outside;
  private LoopbackServer shadow; // a route's mirror
  private LoopbackServer secureApp; // behind an inbound terminator in the mesh-TLS tests

  private static final SpiffeId CLIENT_ID = SpiffeId.of("cluster.local", "default", "conformance-client");
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
    shadow = server("shadow", "127.0.0.5");
    secureApp = server("secure-app", "127.0.0.1");
    // The agent starts in the background; its runtime is there once it is ready.
    await().atMost(Duration.ofSeconds(30)).until(() -> Agent.context() != null);
    // Both workloads get certificates of one test mesh, as the controller's CA would issue them.
    TestIdentities testMesh = TestIdentities.mesh("conformance");
    io.jmesh.agent.tooling.AgentTestHooks.installIdentity(testMesh.tls(CLIENT_ID, clientRefusals));
    serverTls = testMesh.tls(SERVER_ID, serverRefusals);
  }

  private LoopbackServer server(String name, String ip) throws Exception {
    LoopbackServer s = new LoopbackServer(name, ip);
    servers.add(s);
    return s;
  }

  @AfterAll
  void stopServers() {
    servers.forEach(LoopbackServer::close);
  }

  @BeforeEach
  void splitNinetyTen() throws Exception {
    servers.forEach(LoopbackServer::reset);
    mesh(
        "services:",
        "  - name: hello",
        "    ports: [8080]",
        "    endpoints:",
        "      - {address: 127.0.0.2, port: " + v1a.port() + ", labels: {version: v1}}",
        "      - {address: 127.0.0.3, port: " + v1b.port() + ", labels: {version: v1}}",
        "      - {address: 127.0.0.4, port: " + v2a.port() + ", labels: {version: v2}}",
        "    routes:",
        "      - name: canary",
        "        matches:",
        "          - headers: [{name: x-canary, value: always}]",
        "          - queryParams: [{name: canary, value: \"yes please\"}]",
        "        backends:",
        "          - {subset: {version: v2}, weight: 1}",
        "      - name: split",
        "        backends:",
        "          - {subset: {version: v1}, weight: 90}",
        "          - {subset: {version: v2}, weight: 10}",
        "  - name: empty",
        "    ports: [8080]",
        "    endpoints: []");
  }

  /** Puts a mesh config in force, as a file reload would. */
  protected static void mesh(String... yamlLines) throws Exception {
    MeshRuntime runtime = Agent.context().runtime();
    runtime.update(MeshConfigParser.parse("test.yaml", String.join("\n", yamlLines) + "\n", "default"));
  }

  private Map<String, Integer> sendMany(String url, int count, Map<String, String> headers) throws Exception {
    Map<String, Integer> counts = new TreeMap<>();
    for (int i = 0; i < count; i++) {
      Response r = send(new Request("GET", URI.create(url), headers));
      assertThat(r.status()).as(r.body()).isEqualTo(200);
      counts.merge(r.instance(), 1, Integer::sum);
    }
    return counts;
  }

  @Test
  void splitsNinetyTenAcrossVersions() throws Exception {
    Map<String, Integer> counts = sendMany("http://hello:8080/split", 400, Map.of());

    // binomial(400, 0.1): mean 40, sd 6; five sd either side. Within v1 the latency-aware
    // balancer decides, so the two v1 endpoints need not share evenly.
    assertThat(counts.getOrDefault("v2-a", 0)).as("%s", counts).isBetween(10, 70);
    assertThat(counts.getOrDefault("v1-a", 0) + counts.getOrDefault("v1-b", 0))
        .isEqualTo(400 - counts.getOrDefault("v2-a", 0));
  }

  @Test
  void keepsTheLogicalAuthorityInTheHostHeader() throws Exception {
    Response r = send(new Request("GET", URI.create("http://hello.default:8080/where"), Map.of()));

    assertThat(r.body()).contains(" host=hello.default:8080 ").contains(" path=/where ");
  }

  /** One service {@code hello} on v1-a only, with the route lines given (indented as a route list item). */
  private void helloWithRoute(String... routeLines) throws Exception {
    List<String> lines = new ArrayList<>(List.of(
        "services:",
        "  - name: hello",
        "    ports: [8080]",
        "    endpoints:",
        "      - {address: 127.0.0.2, port: " + v1a.port() + "}",
        "    routes:"));
    for (String line : routeLines) {
      lines.add("      " + line);
    }
    mesh(lines.toArray(String[]::new));
  }

  @Test
  void appliesTheRoutesRequestHeaderEdits() throws Exception {
    helloWithRoute(
        "- name: edits",
        "  requestHeaders: {set: {x-env: prod}, add: {x-tag: mesh}, remove: [X-Debug]}",
        "  backends: [{}]");

    Response r = send(new Request(
        "GET", URI.create("http://hello:8080/e"), Map.of("x-env", "dev", "x-tag", "app", "x-debug", "1")));

    // set replaces the application's value, add appends to it, remove drops it (any case).
    assertThat(r.body()).contains(" env=prod ").contains(" tag=app,mesh ").contains(" debug=null ");
    Response without = send(new Request("GET", URI.create("http://hello:8080/e"), Map.of()));
    assertThat(without.body()).contains(" env=prod ").contains(" tag=mesh ").contains(" debug=null ");
  }

  @Test
  void appliesTheRoutesResponseHeaderEdits() throws Exception {
    helloWithRoute(
        "- name: edited",
        "  matches: [{path: {prefix: /edited}}]",
        "  responseHeaders:",
        "    set: {x-resp-env: prod, x-resp-new: set}",
        "    add: {X-RESP-TAG: mesh, x-resp-added: added}",
        "    remove: [X-Resp-Debug, x-resp-absent]",
        "  backends: [{}]",
        "- name: plain",
        "  backends: [{}]");

    Response r = send(new Request("GET", URI.create("http://hello:8080/edited"), Map.of()));

    // The server sent x-resp-env: server, x-resp-tag: server, x-resp-debug: on. set replaces a
    // header or adds it, add appends after the server's values or adds it, remove drops it;
    // names match in any case.
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.instance()).isEqualTo("v1-a");
    assertThat(r.header("x-resp-env")).isEqualTo("prod");
    assertThat(r.header("x-resp-new")).isEqualTo("set");
    // In any order: HttpURLConnection on JDK 17 lists a header's values last first, even unmeshed
    // (the server's two values of one header came back reversed; JDK 25 keeps their order).
    assertThat(r.headers().get("x-resp-tag")).containsExactlyInAnyOrder("server", "mesh");
    assertThat(r.header("x-resp-added")).isEqualTo("added");
    assertThat(r.header("x-resp-debug")).isNull();
    assertThat(r.header("x-instance")).isEqualTo("v1-a");
    // Another route's response is the server's own.
    Response plain = send(new Request("GET", URI.create("http://hello:8080/plain"), Map.of()));
    assertThat(plain.header("x-resp-env")).isEqualTo("server");
    assertThat(plain.header("x-resp-tag")).isEqualTo("server");
    assertThat(plain.header("x-resp-debug")).isEqualTo("on");
    assertThat(plain.header("x-resp-new")).isNull();
  }

  @Test
  void aResponseHeaderEditThatFailsLeavesTheResponseAsSent() throws Exception {
    helloWithRoute(
        "- name: broken",
        "  responseHeaders: {set: {x-resp-env: broken-by-the-agent}}",
        "  backends: [{}]");
    // An agent bug: the adapters get malformed edits for this route.
    AgentTestHooks.breakResponseHeaderEdits(new HeaderModifier(
        List.of(new HeaderModifier.Header("x-resp-env", "broken-by-the-agent")),
        List.of(),
        List.of()));
    long before = AgentErrors.responseHeaderEdits();

    for (int i = 0; i < 2; i++) {
      Response r = send(new Request("GET", URI.create("http://hello:8080/b"), Map.of()));

      // The call goes through with the response as the server sent it.
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.instance()).isEqualTo("v1-a");
      assertThat(r.header("x-resp-env")).isEqualTo("server");
      assertThat(r.header("x-resp-debug")).isEqualTo("on");
    }
    // Each failure is counted (the first of each client logged as one warning; MeshBridgeTest).
    assertThat(AgentErrors.responseHeaderEdits()).isEqualTo(before + 2);
  }

  @Test
  void rewritesThePathPrefixAndKeepsTheQuery() throws Exception {
    helloWithRoute(
        "- name: api",
        "  matches: [{path: {prefix: /api}}]",
        "  rewrite: {path: {replacePrefix: /v2}}",
        "  backends: [{}]",
        "- name: ping",
        "  matches: [{path: {exact: /health}}]",
        "  rewrite: {path: {replaceFull: /ping}}",
        "  backends: [{}]");

    Response r = send(new Request("GET", URI.create("http://hello:8080/api/users?a=1&b=x%20y"), Map.of()));
    assertThat(r.body()).contains(" path=/v2/users ").contains(" query=a=1&b=x%20y\n");
    assertThat(send(new Request("GET", URI.create("http://hello:8080/health"), Map.of())).body())
        .contains(" path=/ping ").contains(" query=null\n");
    // Another route's path stays the application's.
    assertThat(send(new Request("GET", URI.create("http://hello:8080/apis"), Map.of())).body())
        .contains(" path=/apis ");
  }

  @Test
  void rewritesTheHostNameAndKeepsThePort() throws Exception {
    helloWithRoute(
        "- name: internal",
        "  rewrite: {hostname: hello.internal}",
        "  backends: [{}]");

    Response r = send(new Request("GET", URI.create("http://hello:8080/h"), Map.of()));

    assertThat(r.instance()).isEqualTo("v1-a");
    assertThat(r.body()).contains(" host=hello.internal:8080 ").contains(" path=/h ");
  }

  @Test
  void routesByHeaderToTheCanary() throws Exception {
    assertThat(sendMany("http://hello:8080/c", 20, Map.of("x-canary", "always"))).containsOnlyKeys("v2-a");
  }

  @Test
  void routesByQueryParameterToTheCanary() throws Exception {
    // The first value counts, percent-decoded. Without the match, 90 % would go to v1.
    assertThat(sendMany("http://hello:8080/q?canary=yes%20please&canary=no", 20, Map.of())).containsOnlyKeys("v2-a");
  }

  @Test
  void leavesHostsOutsideTheMeshUntouched() throws Exception {
    Response r = send(new Request("GET", URI.create("http://127.0.0.1:" + outside.port() + "/plain"), Map.of()));

    assertThat(r.instance()).isEqualTo("outside");
    assertThat(r.body()).contains(" host=127.0.0.1:" + outside.port() + " ");
  }

  @Test
  void appliesANewConfigToTheNextCall() throws Exception {
    mesh(
        "services:",
        "  - name: hello",
        "    ports: [8080]",
        "    endpoints:",
        "      - {address: 127.0.0.4, port: " + v2a.port() + ", labels: {version: v2}}");

    assertThat(sendMany("http://hello:8080/moved", 10, Map.of())).containsOnlyKeys("v2-a");
  }

  @Test
  void failsClearlyWhenADestinationHasNoEndpoint() {
    assertThatThrownBy(() -> send(new Request("GET", URI.create("http://empty:8080/"), Map.of())))
        .satisfies(
            t -> {
              StringBuilder messages = new StringBuilder();
              for (Throwable c = t; c != null; c = c.getCause()) {
                messages.append(c).append('\n');
              }
              assertThat(messages.toString()).contains("no endpoint available for empty.default:8080");
            });
  }

  // ---- Policies: each test uses a service of its own, so that balancer and breaker state of one
  // test cannot leak into another.

  private static String endpoint(LoopbackServer s) {
    return "{address: " + s.ip() + ", port: " + s.port() + "}";
  }

  /** Puts one service in force: its policy line (may be empty), its route's extra lines. */
  private static void service(String name, String policy, String route, String... endpoints) throws Exception {
    List<String> lines = new ArrayList<>(List.of("services:", "  - name: " + name, "    ports: [8080]"));
    lines.add("    endpoints:");
    for (String e : endpoints) {
      lines.add("      - " + e);
    }
    if (!policy.isEmpty()) {
      lines.add("    policy: " + policy);
    }
    lines.add("    routes:");
    lines.add("      - name: api");
    lines.add("        backends: [{subset: {}, weight: 1}]");
    for (String r : route.isEmpty() ? new String[0] : route.split("\n")) {
      lines.add("        " + r);
    }
    mesh(lines.toArray(new String[0]));
  }

  /** An address where nothing listens: connecting is refused. */
  private static String closedEndpoint() throws Exception {
    int port;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.5"))) {
      port = s.getLocalPort();
    }
    return "{address: 127.0.0.5, port: " + port + "}";
  }

  private static String messages(Throwable t) {
    StringBuilder messages = new StringBuilder();
    for (Throwable c = t; c != null; c = c.getCause()) {
      messages.append(c).append('\n');
    }
    return messages.toString();
  }

  /**
   * The most probes a breaker with {@code minPenalty: 1s, jitter: 0} can let through within {@code
   * elapsedNanos} of ejecting an endpoint that keeps failing: its penalties double (1 s, 2 s, 4 s
   * …), so the k-th probe comes at least 2^k - 1 s after the ejection. A bound that follows how long
   * the calls took on this machine, so that a slow run cannot fail a correct breaker.
   */
  private static int probesWithin(long elapsedNanos) {
    return (int) Math.floor(Math.log(elapsedNanos / 1e9 + 1) / Math.log(2));
  }

  private Response get(String url) throws Exception {
    return send(new Request("GET", URI.create(url), Map.of()));
  }

  /** The balancer's view of {@code server} as an endpoint of {@code service}, read now. */
  private static MeshRuntime.EndpointStatus status(String service, LoopbackServer server) {
    List<MeshRuntime.EndpointStatus> endpoints = Agent.context().runtime().endpointStatus().get(service + ".default");
    assertThat(endpoints).as("endpoints of %s.default", service).isNotNull();
    return endpoints.stream()
        .filter(e -> e.host().equals(server.ip()) && e.port() == server.port())
        .findFirst()
        .orElseThrow(() -> new AssertionError(server.name() + " is not an endpoint of " + service + ".default: " + endpoints));
  }

  /**
   * Peak-EWMA, seen through the client: every call goes where the balancer's state, as the client's
   * reported attempts left it, says it is cheaper, and the slow endpoint's estimate holds its delay.
   *
   * <p>The test does not count how many calls reach the slow endpoint, because that count is decided
   * by real latencies, not by the client. Calls are sequential, so the fast endpoint's estimate sits
   * near the 30 ms prior for the whole test (τ = 10 s, each sample weighs about Δt/τ); any answer of
   * it slower than the slow endpoint's estimate (a GC pause, a busy CPU) replaces its estimate at
   * once, and the slow endpoint then takes every call for τ·ln(stall / delay) while the stall decays.
   * Under a concurrent build on 2 cores that sent 25 to 62 of 100 calls to an endpoint 40 ms slower;
   * no delay makes such a count safe. What the client decides is exact: with nothing in flight,
   * both estimates decay by the same factor between this test's read and the pick, so their order
   * at the read is the order at the pick. The two endpoints are read one after the other, and a
   * pause between the reads (170 ms, for the first call of a loaded JVM) makes the one read later
   * look cheaper; v1-a is read before and after v1-b, and an idle estimate only decays, so the two
   * readings bound what v1-a's was when v1-b's was read.
   */
  @Test
  void balancesTowardTheFastEndpoint() throws Exception {
    assumeTrue(options().picksPerRequest() && options().reportsOutcomes(), "see the client's Options");
    // 200 ms: far above the fast endpoint's usual answer, so that most calls show a preference.
    v1a.delay(200);
    service("fast", "", "", endpoint(v1a), endpoint(v1b));

    List<String> trail = new ArrayList<>();
    Map<String, Integer> counts = new TreeMap<>();
    for (int i = 0; i < 40; i++) {
      MeshRuntime.EndpointStatus slowBefore = status("fast", v1a);
      MeshRuntime.EndpointStatus fast = status("fast", v1b);
      MeshRuntime.EndpointStatus slowAfter = status("fast", v1a);
      // Every attempt the client started has been reported finished before its response came back.
      assertThat(slowBefore.inFlight() + fast.inFlight() + slowAfter.inFlight()).as("attempts in flight before call %d: %s", i, trail).isZero();
      // Within 1 % the pick may go either way: no expectation then.
      String expected =
          slowBefore.ewmaMillis() < fast.ewmaMillis() * 0.99 ? "v1-a" : fast.ewmaMillis() < slowAfter.ewmaMillis() * 0.99 ? "v1-b" : null;

      Response r = get("http://fast:8080/" + i);

      trail.add(String.format("%d: v1-a %.1f..%.1f ms, v1-b %.1f ms -> %s", i, slowBefore.ewmaMillis(), slowAfter.ewmaMillis(), fast.ewmaMillis(), r.instance()));
      counts.merge(r.instance(), 1, Integer::sum);
      if (expected != null) {
        assertThat(r.instance()).as("the cheaper endpoint by the balancer's estimates: %s", trail).isEqualTo(expected);
      }
      if (r.instance().equals("v1-a")) {
        // The client reported the attempt's real latency, which includes the server's 200 ms;
        // read at once, the decay (10 s) has barely begun.
        assertThat(status("fast", v1a).ewmaMillis()).as("v1-a's estimate after it answered: %s", trail).isGreaterThan(100.0);
      }
    }
    // Both fresh endpoints start at the prior and the first one measured restarts its decay, so the
    // other one is cheaper on the second call: each endpoint was measured and picked at least once.
    assertThat(counts).as("%s", trail).containsOnlyKeys("v1-a", "v1-b");
  }

  @Test
  void retriesAGetUpToTheAttemptLimitButNeverAPost() throws Exception {
    assumeTrue(options().retries(), "see the client's Options");
    v1a.answerWith(503);
    service("one", "", "", endpoint(v1a));

    int before = v1a.requests();
    assertThat(get("http://one:8080/").status()).isEqualTo(503);
    // Three attempts in all (the default); with one endpoint they all go there.
    assertThat(v1a.requests() - before).isEqualTo(3);

    before = v1a.requests();
    Response post = send(new Request("POST", URI.create("http://one:8080/"), Map.of(), "payload"));
    assertThat(post.status()).isEqualTo(503);
    assertThat(v1a.requests() - before).as("a POST that reached the server is not sent twice").isEqualTo(1);
  }

  @Test
  void retriesA503OnAnotherEndpoint() throws Exception {
    assumeTrue(options().retries(), "see the client's Options");
    v1a.answerWith(503);
    v1b.answerWith(503);
    service("flaky", "", "", endpoint(v1a), endpoint(v1b), endpoint(v2a));

    // Two of three endpoints fail; three attempts on distinct endpoints always find v2-a.
    for (int i = 0; i < 20; i++) {
      Response r = get("http://flaky:8080/" + i);
      assertThat(r.status()).as(r.body()).isEqualTo(200);
      assertThat(r.instance()).isEqualTo("v2-a");
    }
  }

  @Test
  void retriesAConnectFailureEvenForAPost() throws Exception {
    assumeTrue(options().retries(), "see the client's Options");
    service("down", "", "", closedEndpoint(), endpoint(v1b));

    for (int i = 0; i < 10; i++) {
      // Nothing was sent to the refused endpoint, so resending the POST is safe.
      Response r = send(new Request("POST", URI.create("http://down:8080/"), Map.of(), "payload " + i));
      assertThat(r.status()).as(r.body()).isEqualTo(200);
      assertThat(r.instance()).isEqualTo("v1-b");
    }
  }

  @Test
  void theRetryBudgetCapsRetries() throws Exception {
    assumeTrue(options().retries(), "see the client's Options");
    v1a.answerWith(503);
    service("budget", "{retryBudget: {ratio: 0.5, minPerSecond: 0, ttl: 10s}}", "", endpoint(v1a));

    int before = v1a.requests();
    for (int i = 0; i < 20; i++) {
      assertThat(get("http://budget:8080/").status()).isEqualTo(503);
    }

    // 20 requests earn at most 10 retries at ratio 0.5; without a budget there would be 40.
    assertThat(v1a.requests() - before).isBetween(21, 30);
  }

  @Test
  void aPerTryTimeoutMovesToAnotherEndpoint() throws Exception {
    assumeTrue(options().retries() && options().timeouts(), "see the client's Options");
    // 1 s per try: v1-b's answer must never take that long, even on a loaded machine; v1-a's
    // 10 s never comes in time.
    v1a.delay(10_000);
    service("slow", "", "retry: {perTryTimeout: 1s}", endpoint(v1a), endpoint(v1b));

    for (int i = 0; i < 5; i++) {
      Response r = get("http://slow:8080/");
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.instance()).isEqualTo("v1-b");
    }
  }

  @Test
  void theRouteTimeoutFailsTheCallWithADeadlineError() throws Exception {
    assumeTrue(options().timeouts(), "see the client's Options");
    service("late", "", "timeout: 1s", endpoint(v1a), endpoint(v1b));
    // One call first, so that the client's first-use costs (class loading, JIT, a connection),
    // seconds on a loaded machine, are not spent inside the deadline: the attempt must reach a
    // server before the deadline for the count below.
    assertThat(get("http://late:8080/warm").status()).isEqualTo(200);
    // Ten times the deadline: the servers never answer in time.
    v1a.delay(10_000);
    v1b.delay(10_000);
    int before = v1a.requests() + v1b.requests();

    assertThatThrownBy(() -> get("http://late:8080/"))
        .satisfies(t -> assertThat(messages(t)).contains("late.default: deadline exceeded after"));

    // The one attempt reached a server; none followed it once the deadline had passed.
    await().atMost(Duration.ofSeconds(10)).until(() -> v1a.requests() + v1b.requests() > before);
    assertThat(v1a.requests() + v1b.requests() - before).isEqualTo(1);
  }

  @Test
  void propagatesTheDeadlineToTheNextHop() throws Exception {
    assumeTrue(options().timeouts(), "see the client's Options");
    service("deadline", "", "timeout: 5s", endpoint(v1b));

    long left = Long.parseLong(get("http://deadline:8080/").field("deadline"));

    assertThat(left).isBetween(1L, 5000L);
  }

  @Test
  void ejectsAFailingEndpointAndProbesItLater() throws Exception {
    assumeTrue(options().reportsOutcomes(), "see the client's Options");
    v1a.answerWith(503);
    // Round robin keeps offering v1-a, so that its failures add up; no retries to count plainly.
    service(
        "eject",
        "{balancer: round-robin, failureAccrual: {consecutiveFailures: 3, minPenalty: 1s, maxPenalty: 1m, jitter: 0}}",
        "retry: {attempts: 1}",
        endpoint(v1a),
        endpoint(v1b),
        endpoint(v2a));

    int before = v1a.requests();
    long start = System.nanoTime();
    for (int i = 0; i < 30; i++) {
      get("http://eject:8080/");
    }
    long elapsed = System.nanoTime() - start;
    // Three failures eject it; after that only the breaker's probes reach it, as many as its
    // penalties let through in the time the 30 calls took here.
    assertThat(v1a.requests() - before).as("requests v1-a received in %d ms", elapsed / 1_000_000).isBetween(3, 3 + probesWithin(elapsed));

    // It recovers; after its penalty one probe finds it healthy and it is back in rotation.
    v1a.reset();
    int ejectedAt = v1a.requests();
    await()
        .atMost(Duration.ofSeconds(20))
        .pollInterval(Duration.ofMillis(20))
        .until(() -> get("http://eject:8080/").status() == 200 && v1a.requests() > ejectedAt);
    Map<String, Integer> counts = sendMany("http://eject:8080/", 30, Map.of());
    assertThat(counts.getOrDefault("v1-a", 0)).as("%s", counts).isBetween(8, 12);
  }

  @Test
  void failsOverToTheNextPriorityAndComesBack() throws Exception {
    assumeTrue(options().reportsOutcomes(), "see the client's Options");
    v1a.answerWith(503);
    service(
        "failover",
        "{failureAccrual: {consecutiveFailures: 2, minPenalty: 1s, maxPenalty: 1m, jitter: 0}}",
        "retry: {attempts: 1}",
        "{address: " + v1a.ip() + ", port: " + v1a.port() + ", priority: 0}",
        "{address: " + v1b.ip() + ", port: " + v1b.port() + ", priority: 1}");

    // Priority 0 takes everything until its only endpoint is ejected, then priority 1 does.
    int before = v1a.requests();
    long start = System.nanoTime();
    List<String> answers = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      answers.add(get("http://failover:8080/").instance());
    }
    long elapsed = System.nanoTime() - start;
    int probes = v1a.requests() - before - 2;
    assertThat(answers.subList(0, 2)).containsOnly("v1-a");
    // After that only the breaker's probes reach v1-a (each fails, answered by v1-a), as many as
    // its penalties let through in the time the calls took here; v1-b answers the others.
    assertThat(probes).as("probes of v1-a in %d ms: %s", elapsed / 1_000_000, answers).isBetween(0, probesWithin(elapsed));
    assertThat(answers.subList(2, 10)).as("%s", answers).filteredOn("v1-a"::equals).hasSize(probes);
    assertThat(answers.subList(2, 10)).as("%s", answers).isSubsetOf("v1-a", "v1-b");

    // Healthy again: after the penalty one probe succeeds, and traffic returns to priority 0.
    v1a.reset();
    int ejectedAt = v1a.requests();
    await()
        .atMost(Duration.ofSeconds(20))
        .pollInterval(Duration.ofMillis(20))
        .until(() -> get("http://failover:8080/").status() == 200 && v1a.requests() > ejectedAt);
    assertThat(sendMany("http://failover:8080/", 20, Map.of())).containsOnlyKeys("v1-a");
  }

  @Test
  void injectsFaultsOnTheRoute() throws Exception {
    service("fault", "", "fault: {abort: {percent: 100, status: 418}}", endpoint(v1b));
    int before = v1b.requests();

    if (options().synthesizesResponses()) {
      Response r = get("http://fault:8080/");
      assertThat(r.status()).isEqualTo(418);
      assertThat(r.refused()).isEqualTo("fault-abort");
      assertThat(r.body()).contains("fault injected by route api of fault.default");
    } else {
      assertThatThrownBy(() -> get("http://fault:8080/"))
          .satisfies(t -> assertThat(messages(t)).contains("fault injected by route api of fault.default"));
    }
    assertThat(v1b.requests()).as("an aborted request is never sent").isEqualTo(before);

    // A delay holds the request back, then lets it through.
    service("fault", "", "fault: {delay: {percent: 100, duration: 50ms}}", endpoint(v1b));
    assertThat(get("http://fault:8080/").status()).isEqualTo(200);
  }

  @Test
  void rateLimitsLocally() throws Exception {
    long start = System.nanoTime(); // before the limit exists, so that it bounds the limit's age
    service("limited", "{rateLimit: {requestsPerSecond: 1, burst: 2}}", "", endpoint(v1b));

    int ok = 0;
    for (int i = 0; i < 10; i++) {
      if (options().synthesizesResponses()) {
        Response r = get("http://limited:8080/");
        if (r.status() == 200) {
          ok++;
        } else {
          assertThat(r.status()).isEqualTo(429);
          assertThat(r.refused()).isEqualTo("rate-limited");
        }
      } else {
        try {
          get("http://limited:8080/");
          ok++;
        } catch (Exception e) {
          assertThat(messages(e)).contains("local rate limit of 1 requests/s (burst 2) exceeded");
        }
      }
    }

    // The burst of two, plus one per whole second since the limit was put in force: however slow
    // this machine, the limit may only admit what that time earned.
    long seconds = (System.nanoTime() - start) / 1_000_000_000L;
    assertThat(ok).as("calls admitted in %d s", seconds).isBetween(2, 2 + (int) seconds);
  }

  // ---- Mesh TLS: the peer workload is an InboundTerminator (mesh-runtime's own) on 127.0.0.6 in
  // front of secureApp; the destination names the identity its endpoints must prove.

  /** A fresh terminator, so that its counts are this test's alone. */
  private InboundTerminator terminator() throws Exception {
    return InboundTerminator.start(
        InboundTerminator.Options.of(
            new InetSocketAddress("127.0.0.6", 0), new InetSocketAddress(secureApp.ip(), secureApp.port())),
        serverTls,
        AuthorizationPolicy::allAuthenticated,
        new InboundStats(io.jmesh.runtime.telemetry.MeshMetrics.noop().server("unknown")));
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
  void reachesAMeshTlsPeerAsThisWorkload() throws Exception {
    try (InboundTerminator t = terminator()) {
      secureService("secure", t, SERVER_ID);
      int before = secureApp.requests();

      if (!options().meshTls()) {
        // Fails closed: a refusal that says why, and nothing reaches the peer, in plaintext or not.
        assertThatThrownBy(() -> get("http://secure:8080/hello"))
            .satisfies(e -> assertThat(messages(e)).contains("mesh TLS"));
        assertThat(secureApp.requests()).isEqualTo(before);
        assertThat(serverRefusals.count(TlsRefusals.Reason.PLAINTEXT)).isZero();
        return;
      }
      Response r = get("http://secure:8080/hello");

      assertThat(r.status()).as(r.body()).isEqualTo(200);
      assertThat(r.instance()).isEqualTo("secure-app");
      // Only a mutually authenticated handshake lets the terminator name the caller.
      assertThat(r.field("client")).isEqualTo(CLIENT_ID.toString());
      assertThat(r.body()).contains(" host=secure:8080 ").contains(" path=/hello ");
      assertThat(t.stats().requests()).isEqualTo(1);
    }
  }

  @Test
  void multiplexesConcurrentCallsOnOneTlsConnection() throws Exception {
    assumeTrue(options().meshTls() && options().http2(), "see the client's Options");
    ExecutorService callers = Executors.newFixedThreadPool(8);
    try (InboundTerminator t = terminator()) {
      secureService("multiplexed", t, SERVER_ID);
      // One call first: before a connection has negotiated h2, concurrent calls may each open one.
      assertThat(get("http://multiplexed:8080/first").status()).isEqualTo(200);

      List<Future<Response>> calls = new ArrayList<>();
      for (int i = 0; i < 16; i++) {
        String path = "/c" + i;
        calls.add(callers.submit(() -> get("http://multiplexed:8080" + path)));
      }
      for (Future<Response> f : calls) {
        Response r = f.get(30, TimeUnit.SECONDS);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.field("client")).isEqualTo(CLIENT_ID.toString());
      }

      assertThat(t.stats().requests()).isEqualTo(17);
      assertThat(t.stats().connections()).as("TLS connections the peer accepted").isEqualTo(1);
    } finally {
      callers.shutdownNow();
    }
  }

  @Test
  void refusesAPeerThatProvesAnotherIdentity() throws Exception {
    try (InboundTerminator t = terminator()) {
      // The terminator holds SERVER_ID's certificate; the control plane expects someone else.
      secureService("imposter", t, SpiffeId.of("cluster.local", "default", "someone-else"));
      long wrongBefore = clientRefusals.count(TlsRefusals.Reason.WRONG_IDENTITY);
      int before = secureApp.requests();

      assertThatThrownBy(() -> get("http://imposter:8080/secret"))
          .satisfies(
              e ->
                  assertThat(messages(e))
                      .contains(options().meshTls() ? "is not one of [spiffe://cluster.local/ns/default/sa/someone-else]" : "mesh TLS"));

      if (options().meshTls()) {
        assertThat(clientRefusals.count(TlsRefusals.Reason.WRONG_IDENTITY)).isGreaterThan(wrongBefore);
      }
      // Never sent in plaintext instead: the peer saw no request and no plaintext connection.
      assertThat(secureApp.requests()).isEqualTo(before);
      assertThat(t.stats().requests()).isZero();
      assertThat(serverRefusals.count(TlsRefusals.Reason.PLAINTEXT)).isZero();
    }
  }

  @Test
  void theNextHopSeesTheClientSpanAsItsParent() throws Exception {
    InMemorySpanExporter exported = InMemorySpanExporter.create();
    Tracing previous =
        io.jmesh.agent.tooling.AgentTestHooks.installTracing(
            Tracing.create(
                TraceSettings.from(Map.of("OTEL_TRACES_EXPORTER", "otlp")::get, k -> null, "conformance"),
                SimpleSpanProcessor.create(exported),
                Ticker.system()));
    try {
      service("traced", "", "", endpoint(v1b));

      // No context from the application: jmesh's client span starts the trace.
      String seen = get("http://traced:8080/first").field("traceparent");
      SpanData first = awaitSpan(exported, "/first");
      assertThat(first.getKind()).isEqualTo(SpanKind.CLIENT);
      assertThat(first.getParentSpanContext().isValid()).isFalse();
      assertThat(seen).startsWith("00-" + first.getTraceId() + "-" + first.getSpanId() + "-");

      // The application's own context (its OpenTelemetry, or a header it forwards): jmesh's span
      // is its child, and replaces it as the next hop's parent.
      String appTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
      String appSpan = "00f067aa0ba902b7";
      seen =
          send(new Request("GET", URI.create("http://traced:8080/second"),
                  Map.of("traceparent", "00-" + appTrace + "-" + appSpan + "-01")))
              .field("traceparent");
      SpanData second = awaitSpan(exported, "/second");
      assertThat(second.getTraceId()).isEqualTo(appTrace);
      assertThat(second.getParentSpanId()).isEqualTo(appSpan);
      assertThat(seen).isEqualTo("00-" + appTrace + "-" + second.getSpanId() + "-01");
      assertThat(second.getAttributes().get(AttributeKey.longKey("http.response.status_code"))).isEqualTo(200L);
      assertThat(second.getEvents()).extracting(EventData::getName).containsExactly("jmesh.attempt");
    } finally {
      io.jmesh.agent.tooling.AgentTestHooks.installTracing(previous).close();
    }
  }

  /** The one finished span of the call to {@code path}; the adapter may end it just after answering. */
  private static SpanData awaitSpan(InMemorySpanExporter exported, String path) {
    return await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                exported.getFinishedSpanItems().stream()
                    .filter(s -> String.valueOf(s.getAttributes().get(AttributeKey.stringKey("url.full"))).endsWith(path))
                    .findFirst()
                    .orElse(null),
            java.util.Objects::nonNull);
  }

  @Test
  void aRouteMirrorGetsACopyOfEachRequestAndTheOriginalIsUntouched() throws Exception {
    mesh(
        "services:",
        "  - name: hello",
        "    ports: [8080]",
        "    endpoints:",
        "      - {address: 127.0.0.2, port: " + v1a.port() + "}",
        "    routes:",
        "      - name: mirrored",
        "        mirror: {service: shadow}",
        "        backends: [{}]",
        "  - name: shadow",
        "    ports: [8080]",
        "    endpoints:",
        "      - {address: 127.0.0.5, port: " + shadow.port() + "}");
    int before = v1a.requests();

    Response r = send(new Request("GET", URI.create("http://hello:8080/look?x=1"), Map.of("x-canary", "copy-me")));

    // The application's answer is the destination's; the copy went to the mirror, by the
    // runtime, with Envoy's -shadow host and the application's headers.
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    assertThat(r.instance()).isEqualTo("v1-a");
    assertThat(shadow.nextRequest(10))
        .startsWith("GET /look?x=1 host=hello-shadow:8080 ")
        .contains(" canary=copy-me ");

    // A body goes along where the client can read it twice; otherwise that copy is skipped.
    Response posted =
        send(new Request("POST", URI.create("http://hello:8080/post"), Map.of("Content-Type", "text/plain"), "payload"));
    assertThat(posted.status()).as(posted.body()).isEqualTo(200);
    if (options().mirrorsBodies()) {
      assertThat(shadow.nextRequest(10)).startsWith("POST /post host=hello-shadow:8080 ").endsWith(" body=payload");
    }

    // A failing mirror changes nothing of the original.
    shadow.answerWith(500);
    Response after = send(new Request("GET", URI.create("http://hello:8080/after"), Map.of()));
    assertThat(after.status()).as(after.body()).isEqualTo(200);
    assertThat(after.instance()).isEqualTo("v1-a");
    assertThat(shadow.nextRequest(10)).startsWith("GET /after ");
    assertThat(v1a.requests() - before).as("the originals, each sent once").isEqualTo(3);
  }

  @Test
  void aPlaintextDestinationStaysPlaintextWhileTheWorkloadHasAnIdentity() throws Exception {
    Response r = get("http://hello:8080/plain");

    assertThat(r.status()).isEqualTo(200);
    // Straight to the server, no terminator in between: nobody named the caller.
    assertThat(r.field("client")).isEqualTo("null");
  }
}
