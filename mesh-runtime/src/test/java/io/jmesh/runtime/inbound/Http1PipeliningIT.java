package io.jmesh.runtime.inbound;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import io.jmesh.runtime.identity.MeshTls;
import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.identity.TestIdentities;
import io.jmesh.runtime.identity.TlsRefusals;
import io.jmesh.runtime.telemetry.MeshMetrics;
import io.jmesh.runtime.trace.Tracing;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Pipelined HTTP/1.1 over real mesh TLS: a caller writes several requests in one write, the first
 * to a path the application holds (a latch, released by the test once the application has it),
 * and the answers come back in request order whoever writes them: the application, or the
 * listener's own refusals (403, 400), a refusal that closes closing after the earlier answers. A
 * flood of pipelined requests is bounded ({@link Http1Sequencer#MAX_READ_AHEAD}), answered 503
 * in its turn and closed, while another connection is served.
 */
class Http1PipeliningIT {
  private static final String TD = "cluster.local";
  private static final SpiffeId SERVER = SpiffeId.of(TD, "default", "hello");
  private static final SpiffeId CLIENT = SpiffeId.of(TD, "shop", "web");

  private final TestIdentities mesh = TestIdentities.mesh("mesh");
  private final InboundStats stats = new InboundStats(MeshMetrics.noop().server("hello.default"));
  private final ExecutorService appThreads = Executors.newFixedThreadPool(8);
  private final ExecutorService writer = Executors.newSingleThreadExecutor();
  private final List<String> seen = new CopyOnWriteArrayList<>();
  private final CountDownLatch releaseHeld = new CountDownLatch(1);
  /** Anyone of the mesh, but nobody {@code /admin}. */
  private final AuthorizationPolicy policy =
      new AuthorizationPolicy(
          "hello-authz",
          AuthorizationPolicy.Mode.ENFORCE,
          AuthorizationPolicy.Default.ALL_AUTHENTICATED,
          List.of(new AuthorizationPolicy.Rule("no-admin", false, List.of(), List.of("shop"), List.of(), "/admin", List.of())));
  private HttpServer app;
  private InboundTerminator terminator;
  private MeshTls clientTls;

  @BeforeEach
  void setUp() throws Exception {
    app = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
    app.setExecutor(appThreads);
    app.createContext(
        "/",
        exchange -> {
          exchange.getRequestBody().readAllBytes();
          seen.add(exchange.getRequestURI().getPath());
          if (exchange.getRequestURI().getPath().startsWith("/held")) {
            try {
              releaseHeld.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
          byte[] body = ("ok " + exchange.getRequestURI()).getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, body.length);
          try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
          }
        });
    app.start();
    clientTls = mesh.tls(CLIENT, new TlsRefusals());
    terminator =
        InboundTerminator.start(
            InboundTerminator.Options.of(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                new InetSocketAddress(InetAddress.getLoopbackAddress(), app.getAddress().getPort())),
            mesh.tls(SERVER, new TlsRefusals()),
            () -> policy,
            stats,
            Tracing.disabled());
  }

  @AfterEach
  void tearDown() {
    releaseHeld.countDown();
    writer.shutdownNow();
    terminator.close();
    app.stop(0);
    appThreads.shutdownNow();
  }

  @Test
  void aDenialPipelinedBehindAHeldRequestIsAnsweredAfterIt() throws Exception {
    try (SSLSocket s = tlsSocket()) {
      write(s,
          get("/held/1")
              + get("/admin/users") // denied, no body: the connection stays
              + "GET /items/3 HTTP/1.1\r\nHost: hello.default\r\nConnection: close\r\n\r\n");
      await().atMost(Duration.ofSeconds(10)).until(() -> seen.contains("/held/1"));
      releaseHeld.countDown();

      InputStream in = s.getInputStream();
      assertThat(ProbePathsIT.readResponse(in)).startsWith("HTTP/1.1 200 OK").endsWith("ok /held/1");
      assertThat(ProbePathsIT.readResponse(in))
          .startsWith("HTTP/1.1 403 Forbidden")
          .endsWith("jmesh: denied by authorization policy hello-authz/no-admin: " + CLIENT + " may not GET /admin/users\n");
      assertThat(ProbePathsIT.readResponse(in)).startsWith("HTTP/1.1 200 OK").endsWith("ok /items/3");
      assertThat(closed(in)).isTrue();
    }
    assertThat(seen).containsExactly("/held/1", "/items/3");
    assertThat(stats.denied()).isEqualTo(1);
  }

  @Test
  void aDenialThatClosesClosesOnlyAfterTheEarlierAnswer() throws Exception {
    try (SSLSocket s = tlsSocket()) {
      write(s,
          get("/held/1")
              + "POST /admin/upload HTTP/1.1\r\nHost: hello.default\r\nContent-Length: 5\r\n\r\nhello"
              + get("/items/3")); // after the close: never answered
      await().atMost(Duration.ofSeconds(10)).until(() -> seen.contains("/held/1"));
      releaseHeld.countDown();

      InputStream in = s.getInputStream();
      assertThat(ProbePathsIT.readResponse(in)).startsWith("HTTP/1.1 200 OK").endsWith("ok /held/1");
      String refused = ProbePathsIT.readResponse(in);
      assertThat(refused).startsWith("HTTP/1.1 403 Forbidden").contains("may not POST /admin/upload");
      assertThat(refused.toLowerCase(Locale.ROOT)).contains("connection: close\r\n");
      assertThat(closed(in)).isTrue();
    }
    assertThat(seen).containsExactly("/held/1");
  }

  @Test
  void aMalformedRequestPipelinedBehindAHeldOneIsRefusedAfterItsAnswer() throws Exception {
    try (SSLSocket s = tlsSocket()) {
      write(s, get("/held/1") + "GET /items/2 HTTP/1.1\r\nHost: hello.default\r\nContent-Length: ten\r\n\r\n");
      await().atMost(Duration.ofSeconds(10)).until(() -> seen.contains("/held/1"));
      releaseHeld.countDown();

      InputStream in = s.getInputStream();
      assertThat(ProbePathsIT.readResponse(in)).startsWith("HTTP/1.1 200 OK").endsWith("ok /held/1");
      String refused = ProbePathsIT.readResponse(in);
      assertThat(refused).startsWith("HTTP/1.1 400 Bad Request").contains("jmesh: request refused");
      assertThat(refused.toLowerCase(Locale.ROOT)).contains("connection: close\r\n");
      assertThat(closed(in)).isTrue();
    }
    assertThat(seen).containsExactly("/held/1");
    assertThat(stats.refusals(InboundStats.Refusal.BAD_REQUEST)).isEqualTo(1);
  }

  @Test
  void pipelinedAnswersFromTheApplicationKeepRequestOrder() throws Exception {
    try (SSLSocket s = tlsSocket()) {
      // Before the sequencer the second went to the application on a connection of its own
      // and its answer overtook the first one's.
      write(s, get("/held/1") + get("/items/2"));
      await().atMost(Duration.ofSeconds(10)).until(() -> seen.contains("/held/1"));
      releaseHeld.countDown();

      InputStream in = s.getInputStream();
      assertThat(ProbePathsIT.readResponse(in)).endsWith("ok /held/1");
      assertThat(ProbePathsIT.readResponse(in)).endsWith("ok /items/2");
    }
  }

  @Test
  void aPipeliningFloodIsBoundedAnswered503InItsTurnAndClosed() throws Exception {
    int flood = 10_000;
    StringBuilder requests = new StringBuilder(flood * 40);
    for (int i = 0; i < flood; i++) {
      requests.append(get("/items/" + i));
    }
    List<String> statuses = new ArrayList<>();
    try (SSLSocket s = tlsSocket()) {
      // The write blocks once the listener stops reading, so it gets a thread of its own; it
      // ends when the listener closes.
      CompletableFuture<Void> written =
          CompletableFuture.runAsync(
              () -> {
                try {
                  write(s, requests.toString());
                } catch (IOException closedUnderIt) {
                  // expected: the listener closed after its 503
                }
              },
              writer);
      InputStream in = s.getInputStream();
      for (int i = 0; i <= Http1Sequencer.MAX_READ_AHEAD + 1; i++) { // bounded: one beyond the bound
        statuses.add(ProbePathsIT.readResponse(in).lines().findFirst().orElseThrow());
      }
      assertThat(closed(in)).isTrue();
      written.get(10, TimeUnit.SECONDS);
    }
    // One answered, MAX_READ_AHEAD held behind it and answered in turn, then the 503 and the close.
    assertThat(statuses.subList(0, Http1Sequencer.MAX_READ_AHEAD + 1)).containsOnly("HTTP/1.1 200 OK");
    assertThat(statuses.get(Http1Sequencer.MAX_READ_AHEAD + 1)).isEqualTo("HTTP/1.1 503 Service Unavailable");
    assertThat(stats.refusals(InboundStats.Refusal.PIPELINE_FULL)).isEqualTo(1);
    assertThat(seen).hasSize(Http1Sequencer.MAX_READ_AHEAD + 1);
    for (int i = 0; i < seen.size(); i++) {
      assertThat(seen.get(i)).isEqualTo("/items/" + i); // in request order, one at a time
    }
    aNormalRequestSucceeds();
  }

  private static String get(String path) {
    return "GET " + path + " HTTP/1.1\r\nHost: hello.default\r\n\r\n";
  }

  private static void write(SSLSocket s, String requests) throws IOException {
    s.getOutputStream().write(requests.getBytes(StandardCharsets.US_ASCII)); // one write
    s.getOutputStream().flush();
  }

  private void aNormalRequestSucceeds() throws Exception {
    HttpClient client =
        HttpClient.newBuilder()
            .sslContext(clientTls.clientContext("hello.default", Set.of(SERVER)))
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .build();
    HttpResponse<String> r =
        client.send(
            HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + terminator.port() + "/orders"))
                .timeout(Duration.ofSeconds(10))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.body()).isEqualTo("ok /orders");
  }

  private SSLSocket tlsSocket() throws IOException {
    return InboundLimitsIT.tlsSocket(clientTls, terminator.port(), "http/1.1");
  }

  /** Whether the server closed: end of stream (or a reset) rather than more bytes. */
  private static boolean closed(InputStream in) throws IOException {
    try {
      return in.read() == -1;
    } catch (SocketException | SSLException reset) {
      return true;
    }
  }
}
