package io.jmesh.runtime.inbound;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import io.jmesh.runtime.identity.MeshTls;
import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.identity.TestIdentities;
import io.jmesh.runtime.identity.TlsRefusals;
import io.jmesh.runtime.time.FakeTicker;
import io.jmesh.runtime.trace.Tracing;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The inbound terminator with real sockets: a JDK HttpServer as the application on loopback, the
 * JDK HttpClient as a meshed caller holding a certificate of the same mesh (TLS 1.3, ALPN h2 or
 * http/1.1), plaintext and foreign callers refused and counted.
 */
class InboundTerminatorIT {
  private static final String TD = "cluster.local";
  private static final SpiffeId SERVER = SpiffeId.of(TD, "default", "hello");
  private static final SpiffeId CLIENT = SpiffeId.of(TD, "shop", "web");

  private final TestIdentities mesh = TestIdentities.mesh("mesh");
  private final TlsRefusals serverRefusals = new TlsRefusals();
  private final TlsRefusals clientRefusals = new TlsRefusals();
  private final InboundStats stats = new InboundStats(io.jmesh.runtime.telemetry.MeshMetrics.noop().server("unknown"));
  /** The terminator's time: only the application's {@code /slow} moves it. */
  private final FakeTicker ticker = new FakeTicker();
  private final Set<String> appClients = ConcurrentHashMap.newKeySet();
  private final ExecutorService appThreads = Executors.newFixedThreadPool(8);
  private HttpServer app;
  private InboundTerminator terminator;
  private MeshTls serverTls;
  private volatile AuthorizationPolicy policy = AuthorizationPolicy.allAuthenticated();

  @BeforeEach
  void setUp() throws Exception {
    app = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
    app.setExecutor(appThreads);
    app.createContext(
        "/",
        exchange -> {
          byte[] in = exchange.getRequestBody().readAllBytes();
          if (exchange.getRequestURI().getPath().startsWith("/slow")) {
            ticker.advance(Duration.ofMillis(40)); // the application takes 40 ms to answer
          }
          appClients.add(exchange.getRemoteAddress().toString());
          String id = exchange.getRequestHeaders().getFirst(InboundTerminator.CLIENT_ID_HEADER);
          byte[] body =
              (exchange.getRequestMethod() + " " + exchange.getRequestURI() + " from " + id
                      + " over " + exchange.getProtocol() + " body=" + new String(in, StandardCharsets.UTF_8))
                  .getBytes(StandardCharsets.UTF_8);
          if (exchange.getRequestURI().getPath().startsWith("/close")) {
            exchange.getResponseHeaders().set("Connection", "close");
          }
          exchange.sendResponseHeaders(200, body.length);
          try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
          }
        });
    app.start();
    serverTls = mesh.tls(SERVER, serverRefusals);
  }

  @AfterEach
  void tearDown() {
    if (terminator != null) {
      terminator.close();
    }
    app.stop(0);
    appThreads.shutdownNow();
  }

  private InboundTerminator start(InboundTerminator.Mode mode, int appPort) throws Exception {
    return start(
        InboundTerminator.Options.of(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                new InetSocketAddress(InetAddress.getLoopbackAddress(), appPort))
            .withMode(mode));
  }

  private InboundTerminator start(InboundTerminator.Options options) throws Exception {
    terminator = InboundTerminator.start(options, serverTls, () -> policy, stats, Tracing.disabled(), ticker);
    return terminator;
  }

  private HttpClient client(MeshTls tls, HttpClient.Version version) {
    return HttpClient.newBuilder()
        .sslContext(tls.clientContext("hello.default", Set.of(SERVER)))
        .version(version)
        .connectTimeout(Duration.ofSeconds(10))
        .build();
  }

  private URI uri(String path) {
    return URI.create("https://127.0.0.1:" + terminator.port() + path);
  }

  @Test
  void http2CarriesConcurrentRequestsOnOneConnectionToAnHttp11Application() throws Exception {
    start(InboundTerminator.Mode.STRICT, app.getAddress().getPort());
    HttpClient client = client(mesh.tls(CLIENT, clientRefusals), HttpClient.Version.HTTP_2);
    // One request first, so that the next ones find the connection (the JDK client opens one per
    // origin, but only once the first handshake is done).
    HttpResponse<String> first = client.send(HttpRequest.newBuilder(uri("/warm")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(first.version()).isEqualTo(HttpClient.Version.HTTP_2);

    List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      calls.add(
          client.sendAsync(
              HttpRequest.newBuilder(uri("/items/" + i + "?q=1")).timeout(Duration.ofSeconds(10)).build(),
              HttpResponse.BodyHandlers.ofString()));
    }
    for (int i = 0; i < 20; i++) {
      HttpResponse<String> r = calls.get(i).get(10, TimeUnit.SECONDS);
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_2);
      assertThat(r.body()).isEqualTo("GET /items/" + i + "?q=1 from " + CLIENT + " over HTTP/1.1 body=");
    }

    assertThat(stats.connections()).isEqualTo(1);
    assertThat(stats.succeeded()).isEqualTo(21);
    assertThat(serverRefusals.total()).isZero();
  }

  @Test
  void latencyIsTheTimeTheTickerMovedWhileTheRequestWasForwarded() throws Exception {
    start(InboundTerminator.Mode.STRICT, app.getAddress().getPort());
    HttpClient client = client(mesh.tls(CLIENT, clientRefusals), HttpClient.Version.HTTP_2);

    HttpResponse<String> r = client.send(HttpRequest.newBuilder(uri("/slow")).build(), HttpResponse.BodyHandlers.ofString());

    assertThat(r.statusCode()).isEqualTo(200);
    // Recorded before the answer is written; a bounded wait only for the counters' visibility.
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(stats.succeeded()).isEqualTo(1);
      assertThat(stats.latencyNanosTotal()).isEqualTo(TimeUnit.MILLISECONDS.toNanos(40));
    });
  }

  @Test
  void http11CallerWithABody() throws Exception {
    start(InboundTerminator.Mode.STRICT, app.getAddress().getPort());
    HttpClient client = client(mesh.tls(CLIENT, clientRefusals), HttpClient.Version.HTTP_1_1);

    HttpResponse<String> r =
        client.send(
            HttpRequest.newBuilder(uri("/orders"))
                .header(InboundTerminator.CLIENT_ID_HEADER, "spiffe://evil/ns/x/sa/y") // forged: dropped
                .POST(HttpRequest.BodyPublishers.ofString("{\"n\":1}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());

    assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_1_1);
    assertThat(r.body()).isEqualTo("POST /orders from " + CLIENT + " over HTTP/1.1 body={\"n\":1}");
  }

  @Test
  void http11ChosenByAlpn() throws Exception {
    start(InboundTerminator.Mode.STRICT, app.getAddress().getPort());
    MeshTls tls = mesh.tls(CLIENT, clientRefusals);

    try (SSLSocket s =
        (SSLSocket) tls.clientContext("hello.default", Set.of(SERVER)).getSocketFactory()
            .createSocket(InetAddress.getLoopbackAddress(), terminator.port())) {
      s.setSoTimeout(10_000);
      javax.net.ssl.SSLParameters params = s.getSSLParameters();
      params.setApplicationProtocols(new String[] {"http/1.1"});
      s.setSSLParameters(params);
      s.getOutputStream().write("GET /raw HTTP/1.1\r\nHost: hello\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);

      assertThat(s.getApplicationProtocol()).isEqualTo("http/1.1");
      assertThat(answer).startsWith("HTTP/1.1 200 OK").endsWith("GET /raw from " + CLIENT + " over HTTP/1.1 body=");
    }
  }

  @Test
  void plaintextIsRefusedAndCountedInStrictMode() throws Exception {
    start(InboundTerminator.Mode.STRICT, app.getAddress().getPort());
    HttpClient plain = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    assertThatThrownBy(
            () ->
                plain.send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + terminator.port() + "/")).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString()))
        .isInstanceOf(IOException.class);

    // (The JDK client retries a GET once on a closed connection: one or two refusals.)
    await().atMost(Duration.ofSeconds(10)).until(() -> serverRefusals.count(TlsRefusals.Reason.PLAINTEXT) >= 1);
    assertThat(appClients).isEmpty();
  }

  @Test
  void permissiveModeServesPlaintextUnderItsOwnPolicy() throws Exception {
    start(InboundTerminator.Mode.PERMISSIVE, app.getAddress().getPort());
    HttpClient plain = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + terminator.port() + "/legacy")).build();

    // The default policy (all-authenticated) still refuses a caller without identity...
    HttpResponse<String> denied = plain.send(request, HttpResponse.BodyHandlers.ofString());
    assertThat(denied.statusCode()).isEqualTo(403);
    assertThat(denied.body())
        .isEqualTo("jmesh: denied by authorization policy default/default:all-authenticated: a plaintext caller may not GET /legacy\n");

    // ...and a policy that allows all lets it through, without an identity header.
    policy = new AuthorizationPolicy("migrating", AuthorizationPolicy.Mode.ENFORCE, AuthorizationPolicy.Default.ALL, List.of());
    HttpResponse<String> ok = plain.send(request, HttpResponse.BodyHandlers.ofString());
    assertThat(ok.statusCode()).isEqualTo(200);
    assertThat(ok.body()).isEqualTo("GET /legacy from null over HTTP/1.1 body=");
    // TLS callers are still served over TLS on the same port.
    HttpResponse<String> tls =
        client(mesh.tls(CLIENT, clientRefusals), HttpClient.Version.HTTP_2).send(HttpRequest.newBuilder(uri("/x")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(tls.body()).isEqualTo("GET /x from " + CLIENT + " over HTTP/1.1 body=");
  }

  @Test
  void aCallerThePolicyDoesNotAllowGets403NamingThePolicy() throws Exception {
    policy =
        new AuthorizationPolicy(
            "hello-authz",
            AuthorizationPolicy.Mode.ENFORCE,
            AuthorizationPolicy.Default.DENY,
            List.of(new AuthorizationPolicy.Rule("shop-reads", true, List.of(), List.of("shop"), List.of(), "/items", List.of("GET"))));
    start(InboundTerminator.Mode.STRICT, app.getAddress().getPort());
    HttpClient client = client(mesh.tls(CLIENT, clientRefusals), HttpClient.Version.HTTP_2);

    assertThat(client.send(HttpRequest.newBuilder(uri("/items/1")).build(), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
    HttpResponse<String> r =
        client.send(HttpRequest.newBuilder(uri("/admin?x=1")).DELETE().build(), HttpResponse.BodyHandlers.ofString());

    assertThat(r.statusCode()).isEqualTo(403);
    assertThat(r.body())
        .isEqualTo("jmesh: denied by authorization policy hello-authz/default:deny: " + CLIENT + " may not DELETE /admin\n");
    assertThat(stats.denied()).isEqualTo(1);
    assertThat(stats.succeeded()).isEqualTo(1);
  }

  @Test
  void anAuditPolicyLetsThroughAndCounts() throws Exception {
    policy = new AuthorizationPolicy("rollout", AuthorizationPolicy.Mode.AUDIT, AuthorizationPolicy.Default.DENY, List.of());
    start(InboundTerminator.Mode.STRICT, app.getAddress().getPort());

    HttpResponse<String> r =
        client(mesh.tls(CLIENT, clientRefusals), HttpClient.Version.HTTP_2)
            .send(HttpRequest.newBuilder(uri("/a")).build(), HttpResponse.BodyHandlers.ofString());

    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(stats.audited()).isEqualTo(1);
    assertThat(stats.denied()).isZero();
  }

  @Test
  void aCallerFromAnotherMeshIsRefusedAtTheHandshake() throws Exception {
    start(InboundTerminator.Mode.STRICT, app.getAddress().getPort());
    // A client of another mesh that (wrongly) trusts nothing but would present its own leaf: its
    // own trust check fails first, so give it the server's view by calling with a raw socket.
    MeshTls foreign = TestIdentities.mesh("other").tls(CLIENT, clientRefusals);
    HttpClient client = client(foreign, HttpClient.Version.HTTP_2);

    assertThatThrownBy(() -> client.send(HttpRequest.newBuilder(uri("/")).build(), HttpResponse.BodyHandlers.ofString()))
        .isInstanceOf(IOException.class);

    // The client refused the server (another CA), and nothing reached the application.
    assertThat(clientRefusals.count(TlsRefusals.Reason.UNTRUSTED_CHAIN)).isEqualTo(1);
    assertThat(appClients).isEmpty();
  }

  @Test
  void requestsBeyondThePoolWaitForAConnectionOfTheirLoop() throws Exception {
    // Two connections to the application in all, one per event loop: the twenty concurrent
    // streams of one HTTP/2 connection (one loop) share a single connection to the application,
    // one request at a time, and none is lost.
    start(
        new InboundTerminator.Options(
            new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
            new InetSocketAddress(InetAddress.getLoopbackAddress(), app.getAddress().getPort()),
            InboundTerminator.Mode.STRICT,
            1 << 20,
            2));
    HttpClient client = client(mesh.tls(CLIENT, clientRefusals), HttpClient.Version.HTTP_2);
    client.send(HttpRequest.newBuilder(uri("/warm")).build(), HttpResponse.BodyHandlers.ofString());

    List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      calls.add(
          client.sendAsync(
              HttpRequest.newBuilder(uri("/items/" + i)).timeout(Duration.ofSeconds(10)).build(),
              HttpResponse.BodyHandlers.ofString()));
    }
    for (int i = 0; i < 20; i++) {
      assertThat(calls.get(i).get(10, TimeUnit.SECONDS).body()).startsWith("GET /items/" + i + " from ");
    }
    assertThat(appClients).hasSize(1);
    assertThat(stats.succeeded()).isEqualTo(21);
  }

  @Test
  void aConnectionTheApplicationClosesIsReplacedForTheNextRequest() throws Exception {
    start(InboundTerminator.Mode.STRICT, app.getAddress().getPort());
    HttpClient client = client(mesh.tls(CLIENT, clientRefusals), HttpClient.Version.HTTP_2);

    // The application answers and closes ("Connection: close"): the pool must not hand that
    // connection out again.
    for (int i = 0; i < 3; i++) {
      HttpResponse<String> r =
          client.send(HttpRequest.newBuilder(uri("/close/" + i)).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
    }
    HttpResponse<String> after =
        client.send(HttpRequest.newBuilder(uri("/after")).build(), HttpResponse.BodyHandlers.ofString());

    assertThat(after.statusCode()).isEqualTo(200);
    assertThat(appClients).hasSize(4); // a new connection for each request after a close
    assertThat(stats.unreachable()).isZero();
  }

  @Test
  void anApplicationThatIsDownGives502() throws Exception {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closedPort = s.getLocalPort();
    }
    start(InboundTerminator.Mode.STRICT, closedPort);

    HttpResponse<String> r =
        client(mesh.tls(CLIENT, clientRefusals), HttpClient.Version.HTTP_2)
            .send(HttpRequest.newBuilder(uri("/")).build(), HttpResponse.BodyHandlers.ofString());

    assertThat(r.statusCode()).isEqualTo(502);
    assertThat(r.body()).startsWith("jmesh: the application on 127.0.0.1:" + closedPort + " did not answer: ");
    assertThat(stats.unreachable()).isEqualTo(1);
  }

  @Test
  void withoutAlpnTheConnectionIsRelayedAsBytes() throws Exception {
    try (ServerSocket echo = new ServerSocket(0, 4, InetAddress.getLoopbackAddress())) {
      CompletableFuture<Void> echoing =
          CompletableFuture.runAsync(
              () -> {
                try (Socket s = echo.accept()) {
                  s.setSoTimeout(10_000);
                  InputStream in = s.getInputStream();
                  byte[] line = in.readNBytes(5);
                  s.getOutputStream().write(("echo:" + new String(line, StandardCharsets.US_ASCII)).getBytes(StandardCharsets.US_ASCII));
                  s.getOutputStream().flush();
                } catch (IOException e) {
                  throw new RuntimeException(e);
                }
              },
              appThreads);
      start(InboundTerminator.Mode.STRICT, echo.getLocalPort());
      MeshTls tls = mesh.tls(CLIENT, clientRefusals);

      try (SSLSocket s =
          (SSLSocket) tls.clientContext("db.default", Set.of(SERVER)).getSocketFactory()
              .createSocket(InetAddress.getLoopbackAddress(), terminator.port())) {
        s.setSoTimeout(10_000);
        s.setEnabledProtocols(new String[] {"TLSv1.3"});
        s.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        assertThat(new String(s.getInputStream().readNBytes(10), StandardCharsets.US_ASCII)).isEqualTo("echo:hello");
      }
      echoing.get(10, TimeUnit.SECONDS);
      assertThat(stats.opaqueConnections()).isEqualTo(1);
    }
  }

  @Test
  void oneListenerServesOnePortOnSeveralAddresses() throws Exception {
    // The agent's inbound capture: the port of the application, on each of the workload's addresses.
    InetAddress first = InetAddress.getByName("127.0.0.2");
    InetAddress second = InetAddress.getByName("127.0.0.3");
    start(
        InboundTerminator.Options.of(
            new InetSocketAddress(first, 0), new InetSocketAddress(InetAddress.getLoopbackAddress(), app.getAddress().getPort())));
    int port = terminator.port();
    assertThat(terminator.listenAlso(new InetSocketAddress(second, port)))
        .isEqualTo(new InetSocketAddress(second, port));
    HttpClient client = client(mesh.tls(CLIENT, clientRefusals), HttpClient.Version.HTTP_2);

    for (InetAddress address : List.of(first, second)) {
      HttpResponse<String> r =
          client.send(
              HttpRequest.newBuilder(URI.create("https://" + address.getHostAddress() + ":" + port + "/a")).build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(r.body()).isEqualTo("GET /a from " + CLIENT + " over HTTP/1.1 body=");
    }
    // Closing the listener closes every address.
    terminator.close();
    terminator = null;
    for (InetAddress address : List.of(first, second)) {
      try (java.net.ServerSocket again = new java.net.ServerSocket(port, 1, address)) {
        assertThat(again.getLocalPort()).isEqualTo(port);
      }
    }
  }
}
