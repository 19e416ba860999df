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
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The terminator against hostile callers, over real sockets and real mesh TLS: each limit of
 * {@link InboundTerminator.Limits} holds, is counted by reason, and a well-behaved caller on
 * another connection is served throughout. Timeouts are configured short and waited for with
 * bounded reads, never sleeps.
 */
class InboundLimitsIT {
  private static final String TD = "cluster.local";
  private static final SpiffeId SERVER = SpiffeId.of(TD, "default", "hello");
  private static final SpiffeId CLIENT = SpiffeId.of(TD, "shop", "web");
  private static final int SIXTEEN_MIB = 16 << 20;

  private final TestIdentities mesh = TestIdentities.mesh("mesh");
  private final InboundStats stats = new InboundStats(MeshMetrics.noop().server("hello.default"));
  private final ExecutorService appThreads = Executors.newFixedThreadPool(8);
  private final ScheduledExecutorService trickle = Executors.newSingleThreadScheduledExecutor();
  private final AtomicInteger appRequests = new AtomicInteger();
  private final CountDownLatch releaseBlocked = new CountDownLatch(1);
  /** Who may call: anyone of the mesh, but nobody {@code /admin}. */
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
          appRequests.incrementAndGet();
          exchange.getRequestBody().readAllBytes();
          if (exchange.getRequestURI().getPath().startsWith("/block")) {
            try {
              releaseBlocked.await(10, TimeUnit.SECONDS);
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
  }

  @AfterEach
  void tearDown() {
    releaseBlocked.countDown();
    trickle.shutdownNow();
    if (terminator != null) {
      terminator.close();
    }
    app.stop(0);
    appThreads.shutdownNow();
  }

  private void start(InboundTerminator.Limits limits) throws Exception {
    start(limits, 64);
  }

  private void start(InboundTerminator.Limits limits, int connectionsToApplication) throws Exception {
    InboundTerminator.Options options =
        new InboundTerminator.Options(
            new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
            new InetSocketAddress(InetAddress.getLoopbackAddress(), app.getAddress().getPort()),
            InboundTerminator.Mode.STRICT,
            SIXTEEN_MIB,
            connectionsToApplication,
            limits);
    terminator =
        InboundTerminator.start(options, mesh.tls(SERVER, new TlsRefusals()), () -> policy, stats, Tracing.disabled());
  }

  private HttpClient client(HttpClient.Version version) {
    return HttpClient.newBuilder()
        .sslContext(clientTls.clientContext("hello.default", Set.of(SERVER)))
        .version(version)
        .connectTimeout(Duration.ofSeconds(10))
        .build();
  }

  private URI uri(String path) {
    return URI.create("https://127.0.0.1:" + terminator.port() + path);
  }

  /** A well-behaved request on a connection of its own: it must be served whatever else goes on. */
  private void aNormalRequestSucceeds() throws Exception {
    HttpResponse<String> r =
        client(HttpClient.Version.HTTP_2)
            .send(HttpRequest.newBuilder(uri("/items/1")).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("ok /items/1");
  }

  /** Mesh TLS over a plain socket, with ALPN {@code protocol}. */
  private SSLSocket tlsSocket(String protocol) throws IOException {
    return tlsSocket(clientTls, terminator.port(), protocol);
  }

  /** Mesh TLS as {@code tls}'s holder to hello.default's listener on {@code port}; reads bounded. */
  static SSLSocket tlsSocket(MeshTls tls, int port, String protocol) throws IOException {
    SSLSocket s =
        (SSLSocket) tls.clientContext("hello.default", Set.of(SERVER)).getSocketFactory()
            .createSocket(InetAddress.getLoopbackAddress(), port);
    s.setSoTimeout(10_000); // every read below is bounded
    SSLParameters p = s.getSSLParameters();
    p.setProtocols(new String[] {"TLSv1.3"});
    p.setApplicationProtocols(new String[] {protocol});
    s.setSSLParameters(p);
    s.startHandshake();
    return s;
  }

  /** Reads until the server closes; what it sent. A reset counts as closed. */
  private static String readUntilClosed(Socket s) throws IOException {
    StringBuilder seen = new StringBuilder();
    InputStream in = s.getInputStream();
    try {
      for (int b; (b = in.read()) != -1; ) {
        seen.append((char) b);
      }
    } catch (java.net.SocketException | javax.net.ssl.SSLException reset) {
      // closed by the server without a goodbye: closed all the same
    }
    return seen.toString();
  }

  private static Http2Headers request(String method, String path) {
    return new DefaultHttp2Headers().method(method).scheme("https").authority("hello.default").path(path);
  }

  @Test
  void anHttp11UploadToADeniedPathIsRefusedOnItsHeadersBeforeAnyBodyIsRead() throws Exception {
    start(InboundTerminator.Limits.defaults());
    try (SSLSocket s = tlsSocket("http/1.1")) {
      // Announce 16 MiB and send none of it: the answer must not wait for the body.
      s.getOutputStream().write(
          ("POST /admin/upload HTTP/1.1\r\nHost: hello.default\r\nContent-Length: " + SIXTEEN_MIB + "\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();

      String answer = readUntilClosed(s); // and the connection is closed rather than read on

      assertThat(answer).startsWith("HTTP/1.1 403 Forbidden\r\n");
      assertThat(answer.toLowerCase()).contains("connection: close\r\n");
      assertThat(answer).endsWith("jmesh: denied by authorization policy hello-authz/no-admin: " + CLIENT + " may not POST /admin/upload\n");
    }
    assertThat(stats.denied()).isEqualTo(1);
    assertThat(appRequests).hasValue(0);
    aNormalRequestSucceeds();
  }

  @Test
  void anHttp2UploadToADeniedPathIsRefusedOnItsHeadersAndItsStreamReset() throws Exception {
    start(InboundTerminator.Limits.defaults());
    try (RawHttp2Connection c = new RawHttp2Connection(clientTls.clientContext("hello.default", Set.of(SERVER)), terminator.port())) {
      assertThat(c.alpn()).isEqualTo("h2");
      c.headers(1, request("POST", "/admin/upload").setLong("content-length", SIXTEEN_MIB), false).flush();

      // The 403's headers and body come back, then RST_STREAM NO_ERROR: stop sending.
      RawHttp2Connection.Frame f;
      while ((f = c.read()) != null && !(f.type() == RawHttp2Connection.RST_STREAM && f.streamId() == 1)) {
        if (f.type() == RawHttp2Connection.DATA && f.streamId() == 1) {
          assertThat(new String(f.payload(), StandardCharsets.UTF_8)).startsWith("jmesh: denied by authorization policy hello-authz/no-admin");
        }
      }
      assertThat(f).isNotNull();
      assertThat(f.errorCode()).isZero();
      aNormalRequestSucceeds(); // the connection itself stays up for the caller's other streams
    }
    assertThat(stats.denied()).isEqualTo(1);
    assertThat(appRequests).hasValue(1);
  }

  @Test
  void rapidResetIsAnsweredWithGoAway() throws Exception {
    start(InboundTerminator.Limits.defaults().withMaxResetsPerWindow(20, Duration.ofSeconds(30)));
    try (RawHttp2Connection c = new RawHttp2Connection(clientTls.clientContext("hello.default", Set.of(SERVER)), terminator.port())) {
      // CVE-2023-44487: open a stream and cancel it at once, forty times, in one write.
      for (int i = 0; i < 40; i++) {
        int stream = 2 * i + 1;
        c.headers(stream, request("GET", "/items/" + i), true).rst(stream, 0x8 /* CANCEL */);
      }
      c.flush();

      RawHttp2Connection.Frame goAway = c.readUntilGoAway();

      assertThat(goAway).isNotNull();
      assertThat(goAway.errorCode()).isEqualTo(RawHttp2Connection.ENHANCE_YOUR_CALM);
      assertThat(c.read()).isNull(); // and closed
    }
    assertThat(stats.refusals(InboundStats.Refusal.HTTP2_FLOOD)).isEqualTo(1);
    aNormalRequestSucceeds();
  }

  @Test
  void aStreamFloodIsRefusedBeyondTheLimitThenAnsweredWithGoAway() throws Exception {
    start(InboundTerminator.Limits.defaults().withMaxConcurrentStreams(10).withMaxResetsPerWindow(20, Duration.ofSeconds(30)));
    try (RawHttp2Connection c = new RawHttp2Connection(clientTls.clientContext("hello.default", Set.of(SERVER)), terminator.port())) {
      // Sixty uploads that never send their body: ten streams are taken, the rest refused.
      for (int i = 0; i < 60; i++) {
        c.headers(2 * i + 1, request("POST", "/items/" + i), false);
      }
      c.flush();

      int refused = 0;
      RawHttp2Connection.Frame f;
      while ((f = c.read()) != null && f.type() != RawHttp2Connection.GOAWAY) {
        if (f.type() == RawHttp2Connection.RST_STREAM) {
          assertThat(f.errorCode()).isEqualTo(RawHttp2Connection.REFUSED_STREAM);
          assertThat(f.streamId()).isGreaterThan(2 * 10 - 1); // none of the first ten
          refused++;
        }
      }

      assertThat(f).isNotNull();
      assertThat(f.errorCode()).isEqualTo(RawHttp2Connection.ENHANCE_YOUR_CALM);
      assertThat(refused).isBetween(20, 21); // Netty's bound: the 21st reset may be the one it refuses
      assertThat(stats.refusals(InboundStats.Refusal.HTTP2_STREAM_LIMIT)).isEqualTo(refused);
    }
    assertThat(stats.refusals(InboundStats.Refusal.HTTP2_FLOOD)).isEqualTo(1);
    assertThat(appRequests).hasValue(0); // no body ever came: nothing was forwarded
    aNormalRequestSucceeds();
  }

  @Test
  void aSlowHeaderIsClosedAtItsTimeoutHoweverSteadilyItTrickles() throws Exception {
    // The idle timeout is long: only the header deadline can end this connection.
    start(InboundTerminator.Limits.defaults().withRequestHeaderTimeout(Duration.ofSeconds(1)).withIdleTimeout(Duration.ofMinutes(5)));
    byte[] header = ("GET /items/1 HTTP/1.1\r\nHost: hello.default\r\nX-Slow: " + "a".repeat(500) + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    AtomicInteger sent = new AtomicInteger();
    try (SSLSocket s = tlsSocket("http/1.1")) {
      OutputStream out = s.getOutputStream();
      // One byte every 20 ms, bounded by the header's length (10 s): a write after the close fails.
      trickle.scheduleAtFixedRate(
          () -> {
            int i = sent.get();
            if (i < header.length) {
              try {
                out.write(header[i]);
                out.flush();
                sent.incrementAndGet();
              } catch (IOException closed) {
                throw new RuntimeException(closed); // ends the schedule
              }
            }
          },
          0,
          20,
          TimeUnit.MILLISECONDS);
      aNormalRequestSucceeds(); // while the trickle goes on

      assertThat(readUntilClosed(s)).isEmpty(); // closed, and never answered
    }
    assertThat(sent.get()).isLessThan(header.length);
    assertThat(stats.refusals(InboundStats.Refusal.REQUEST_HEADER_TIMEOUT)).isEqualTo(1);
    assertThat(appRequests).hasValue(1); // the normal request only
  }

  @Test
  void aConnectionThatSendsNothingIsClosedAtTheHeaderTimeout() throws Exception {
    start(InboundTerminator.Limits.defaults().withRequestHeaderTimeout(Duration.ofMillis(200)));
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), terminator.port())) {
      s.setSoTimeout(10_000);
      assertThat(readUntilClosed(s)).isEmpty();
    }
    assertThat(stats.refusals(InboundStats.Refusal.REQUEST_HEADER_TIMEOUT)).isEqualTo(1);
  }

  @Test
  void anIdleKeepAliveConnectionIsClosedAtTheIdleTimeout() throws Exception {
    start(InboundTerminator.Limits.defaults().withIdleTimeout(Duration.ofMillis(200)));
    try (SSLSocket s = tlsSocket("http/1.1")) {
      s.getOutputStream().write("GET /items/1 HTTP/1.1\r\nHost: hello.default\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();

      String seen = readUntilClosed(s); // the answer, then nothing until the idle close

      assertThat(seen).startsWith("HTTP/1.1 200 OK\r\n").endsWith("ok /items/1");
    }
    assertThat(stats.refusals(InboundStats.Refusal.IDLE_TIMEOUT)).isEqualTo(1);
    assertThat(stats.refusals(InboundStats.Refusal.REQUEST_HEADER_TIMEOUT)).isZero();
  }

  @Test
  void anIdleOpaqueConnectionOutlivesTheIdleTimeout() throws Exception {
    // Opaque TCP (a database behind jmesh gateway) is the application's to close: a pool keeps
    // its connections idle for as long as it likes.
    try (java.net.ServerSocket echo = new java.net.ServerSocket(0, 4, InetAddress.getLoopbackAddress())) {
      CompletableFuture<Void> echoing =
          CompletableFuture.runAsync(
              () -> {
                try (Socket s = echo.accept()) {
                  s.setSoTimeout(10_000);
                  for (int i = 0; i < 2; i++) {
                    s.getOutputStream().write(s.getInputStream().readNBytes(5));
                    s.getOutputStream().flush();
                  }
                } catch (IOException e) {
                  throw new java.io.UncheckedIOException(e);
                }
              },
              appThreads);
      InboundTerminator.Options options =
          new InboundTerminator.Options(
              new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
              new InetSocketAddress(InetAddress.getLoopbackAddress(), echo.getLocalPort()),
              InboundTerminator.Mode.STRICT,
              SIXTEEN_MIB,
              64,
              InboundTerminator.Limits.defaults().withIdleTimeout(Duration.ofMillis(200)));
      terminator =
          InboundTerminator.start(options, mesh.tls(SERVER, new TlsRefusals()), () -> policy, stats, Tracing.disabled());

      try (SSLSocket opaque =
          (SSLSocket) clientTls.clientContext("db.default", Set.of(SERVER)).getSocketFactory()
              .createSocket(InetAddress.getLoopbackAddress(), terminator.port())) {
        opaque.setSoTimeout(10_000);
        opaque.setEnabledProtocols(new String[] {"TLSv1.3"});
        opaque.getOutputStream().write("first".getBytes(StandardCharsets.US_ASCII));
        opaque.getOutputStream().flush();
        assertThat(new String(opaque.getInputStream().readNBytes(5), StandardCharsets.US_ASCII)).isEqualTo("first");

        // A silent HTTP connection opened after it is closed at the idle timeout: by then the
        // opaque connection has been idle for longer than that.
        try (SSLSocket silent = tlsSocket("http/1.1")) {
          assertThat(readUntilClosed(silent)).isEmpty();
        }
        assertThat(stats.refusals(InboundStats.Refusal.IDLE_TIMEOUT)).isEqualTo(1);

        opaque.getOutputStream().write("again".getBytes(StandardCharsets.US_ASCII));
        opaque.getOutputStream().flush();
        assertThat(new String(opaque.getInputStream().readNBytes(5), StandardCharsets.US_ASCII)).isEqualTo("again");
      }
      echoing.get(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void aRequestBeyondThePendingQueueGetsA503AtOnce() throws Exception {
    // One connection to the application and one waiting place per event loop.
    start(InboundTerminator.Limits.defaults().withMaxPendingRequests(2), 2);
    HttpClient client = client(HttpClient.Version.HTTP_2);
    client.send(HttpRequest.newBuilder(uri("/warm")).build(), HttpResponse.BodyHandlers.ofString());

    CompletableFuture<HttpResponse<String>> first =
        client.sendAsync(HttpRequest.newBuilder(uri("/block/1")).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    await().atMost(Duration.ofSeconds(10)).until(() -> appRequests.get() == 2); // it holds the connection
    CompletableFuture<HttpResponse<String>> second =
        client.sendAsync(HttpRequest.newBuilder(uri("/block/2")).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    await().atMost(Duration.ofSeconds(10)).until(() -> terminator.pendingRequests() == 1); // it waits

    HttpResponse<String> third =
        client.send(HttpRequest.newBuilder(uri("/items/3")).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());

    assertThat(third.statusCode()).isEqualTo(503);
    assertThat(third.body()).contains("maxPendingRequests");
    assertThat(stats.refusals(InboundStats.Refusal.PENDING_FULL)).isEqualTo(1);
    releaseBlocked.countDown();
    assertThat(first.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
    assertThat(second.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
  }

  @Test
  void anHttp11HeaderSectionAboveTheLimitGets431AndIsClosed() throws Exception {
    start(InboundTerminator.Limits.defaults().withMaxHeaderListBytes(4096));
    try (SSLSocket s = tlsSocket("http/1.1")) {
      s.getOutputStream().write(
          ("GET /items/1 HTTP/1.1\r\nHost: hello.default\r\nX-Big: " + "b".repeat(8192) + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();

      assertThat(readUntilClosed(s)).startsWith("HTTP/1.1 431 Request Header Fields Too Large\r\n");
    }
    assertThat(stats.refusals(InboundStats.Refusal.HEADERS_TOO_LARGE)).isEqualTo(1);
    assertThat(appRequests).hasValue(0);
  }

  @Test
  void anHttp2HeaderListAboveTheLimitGets431AndTheConnectionServesOn() throws Exception {
    start(InboundTerminator.Limits.defaults().withMaxHeaderListBytes(4096));
    try (RawHttp2Connection c = new RawHttp2Connection(clientTls.clientContext("hello.default", Set.of(SERVER)), terminator.port())) {
      // Above the limit, below the quarter more where Netty's codec gives up on the connection.
      c.headers(1, request("GET", "/items/1").set("x-big", "b".repeat(4600)), true).flush();

      RawHttp2Connection.Frame f;
      while ((f = c.read()) != null && !(f.type() == RawHttp2Connection.HEADERS && f.streamId() == 1)) {
        assertThat(f.type()).isNotEqualTo(RawHttp2Connection.GOAWAY);
      }
      assertThat(f).isNotNull();
      assertThat(new io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder(false)
              .decodeHeaders(1, io.netty.buffer.Unpooled.wrappedBuffer(f.payload())).status().toString())
          .isEqualTo("431");
    }
    assertThat(stats.refusals(InboundStats.Refusal.HEADERS_TOO_LARGE)).isEqualTo(1);
    assertThat(appRequests).hasValue(0);
    aNormalRequestSucceeds();
  }

  @Test
  void aDeniedHttp11RequestWithoutABodyKeepsItsConnection() throws Exception {
    start(InboundTerminator.Limits.defaults());
    try (SSLSocket s = tlsSocket("http/1.1")) {
      OutputStream out = s.getOutputStream();
      out.write("GET /admin HTTP/1.1\r\nHost: hello.default\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      String denied = readResponse(s.getInputStream());
      assertThat(denied).startsWith("HTTP/1.1 403 Forbidden\r\n");
      assertThat(denied.toLowerCase()).doesNotContain("connection: close");

      // Nothing of it is left to read: the same connection serves the next request.
      out.write("GET /items/2 HTTP/1.1\r\nHost: hello.default\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      assertThat(readResponse(s.getInputStream())).startsWith("HTTP/1.1 200 OK\r\n").endsWith("ok /items/2");
    }
    assertThat(stats.connections()).isEqualTo(1);
    assertThat(stats.denied()).isEqualTo(1);
  }

  /** One HTTP/1.1 response with a content-length, read whole (bounded by the socket's timeout). */
  private static String readResponse(InputStream in) throws IOException {
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int b = in.read();
      assertThat(b).as("the connection closed in the middle of a response: " + head).isNotEqualTo(-1);
      head.append((char) b);
    }
    int length = 0;
    for (String line : head.toString().split("\r\n")) {
      if (line.toLowerCase().startsWith("content-length:")) {
        length = Integer.parseInt(line.substring("content-length:".length()).trim());
      }
    }
    return head + new String(in.readNBytes(length), StandardCharsets.UTF_8);
  }
}
