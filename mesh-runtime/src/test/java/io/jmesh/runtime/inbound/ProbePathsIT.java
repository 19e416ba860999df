package io.jmesh.runtime.inbound;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.identity.TestIdentities;
import io.jmesh.runtime.identity.TlsRefusals;
import io.jmesh.runtime.time.FakeTicker;
import io.jmesh.runtime.trace.Tracing;
import java.io.ByteArrayOutputStream;
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
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The health-check exemption of strict mode, with real sockets: a plaintext HTTP/1.1 GET or HEAD
 * of a declared probe path reaches the application, without identity and whatever the policy;
 * anything else in plaintext is refused and counted, and mesh TLS callers are served as ever.
 */
class ProbePathsIT {
  private static final String TD = "cluster.local";
  private static final SpiffeId SERVER = SpiffeId.of(TD, "default", "hello");
  private static final SpiffeId CLIENT = SpiffeId.of(TD, "shop", "web");

  private final TestIdentities mesh = TestIdentities.mesh("mesh");
  private final TlsRefusals refusals = new TlsRefusals();
  private final InboundStats stats = new InboundStats(io.jmesh.runtime.telemetry.MeshMetrics.noop().server("unknown"));
  private final List<String> seen = new CopyOnWriteArrayList<>();
  private final ExecutorService appThreads = Executors.newFixedThreadPool(4);
  private final CountDownLatch releaseHeld = new CountDownLatch(1);
  private HttpServer app;
  private InboundTerminator terminator;
  /** Only TLS callers of namespace shop: a caller without identity could never meet it. */
  private final AuthorizationPolicy policy =
      new AuthorizationPolicy(
          "hello-authz",
          AuthorizationPolicy.Mode.ENFORCE,
          AuthorizationPolicy.Default.DENY,
          List.of(new AuthorizationPolicy.Rule("shop", true, List.of(), List.of("shop"), List.of(), "/", List.of())));

  @BeforeEach
  void setUp() throws Exception {
    app = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
    app.setExecutor(appThreads);
    app.createContext(
        "/",
        exchange -> {
          exchange.getRequestBody().readAllBytes();
          String line =
              exchange.getRequestMethod() + " " + exchange.getRequestURI() + " client="
                  + exchange.getRequestHeaders().getFirst(InboundTerminator.CLIENT_ID_HEADER);
          seen.add(line);
          if ("hold".equals(exchange.getRequestURI().getQuery())) {
            try {
              releaseHeld.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
          byte[] body = line.getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, exchange.getRequestMethod().equals("HEAD") ? -1 : body.length);
          try (OutputStream out = exchange.getResponseBody()) {
            if (!exchange.getRequestMethod().equals("HEAD")) {
              out.write(body);
            }
          }
        });
    app.start();
    terminator =
        InboundTerminator.start(
            InboundTerminator.Options.of(
                    new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                    new InetSocketAddress(InetAddress.getLoopbackAddress(), app.getAddress().getPort()))
                .withProbePaths(List.of("/healthz", "/ready")),
            mesh.tls(SERVER, refusals),
            () -> policy,
            stats,
            Tracing.disabled(),
            new FakeTicker());
  }

  @AfterEach
  void tearDown() {
    releaseHeld.countDown();
    terminator.close();
    app.stop(0);
    appThreads.shutdownNow();
  }

  /** One request on a plaintext connection of its own; the answer up to the close. */
  private String plaintext(String request) throws IOException {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), terminator.port())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      return new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
    }
  }

  @Test
  void aPlaintextGetOfAProbePathIsServedWithoutIdentityWhateverThePolicy() throws Exception {
    HttpClient plain = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    HttpResponse<String> r =
        plain.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + terminator.port() + "/healthz?verbose=1"))
                .header(InboundTerminator.CLIENT_ID_HEADER, "spiffe://cluster.local/ns/shop/sa/web") // forged: dropped
                .timeout(Duration.ofSeconds(10))
                .build(),
            HttpResponse.BodyHandlers.ofString());

    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("GET /healthz?verbose=1 client=null");
    assertThat(refusals.count(TlsRefusals.Reason.PLAINTEXT)).isZero();
    assertThat(stats.succeeded()).isEqualTo(1);
  }

  @Test
  void aPlaintextHeadOfAProbePathIsServed() throws Exception {
    String answer = plaintext("HEAD /ready HTTP/1.1\r\nHost: hello\r\nConnection: close\r\n\r\n");

    assertThat(answer).startsWith("HTTP/1.1 200 OK");
    assertThat(seen).containsExactly("HEAD /ready client=null");
  }

  @Test
  void aPlaintextGetOfAnotherPathIsRefusedAndCounted() throws Exception {
    String answer = plaintext("GET /admin HTTP/1.1\r\nHost: hello\r\n\r\n"); // keep-alive asked: closed anyway

    assertThat(answer)
        .startsWith("HTTP/1.1 403 Forbidden")
        .endsWith("jmesh: plaintext GET /admin refused (strict mTLS; expected: mesh TLS, or GET or HEAD of one of"
            + " this workload's probe paths, without a body)\n");
    assertThat(refusals.count(TlsRefusals.Reason.PLAINTEXT)).isEqualTo(1);
    assertThat(seen).isEmpty();
  }

  @Test
  void aPathThatOnlyStartsLikeAProbePathIsRefused() throws Exception {
    assertThat(plaintext("GET /healthz/../admin HTTP/1.1\r\nHost: hello\r\n\r\n")).startsWith("HTTP/1.1 403 Forbidden");
    assertThat(plaintext("GET /healthzz HTTP/1.1\r\nHost: hello\r\n\r\n")).startsWith("HTTP/1.1 403 Forbidden");
    assertThat(plaintext("GET http://hello/healthz HTTP/1.1\r\nHost: hello\r\n\r\n")).startsWith("HTTP/1.1 403 Forbidden");

    assertThat(refusals.count(TlsRefusals.Reason.PLAINTEXT)).isEqualTo(3);
    assertThat(seen).isEmpty();
  }

  @Test
  void aPostToAProbePathIsRefusedBeforeItsBodyIsRead() throws Exception {
    String answer =
        plaintext("POST /healthz HTTP/1.1\r\nHost: hello\r\nContent-Length: 5\r\n\r\nhello");
    String bodyOnGet =
        plaintext("GET /healthz HTTP/1.1\r\nHost: hello\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");

    assertThat(answer).startsWith("HTTP/1.1 403 Forbidden").contains("plaintext POST /healthz refused");
    assertThat(bodyOnGet).startsWith("HTTP/1.1 403 Forbidden").contains("plaintext GET /healthz refused");
    assertThat(refusals.count(TlsRefusals.Reason.PLAINTEXT)).isEqualTo(2);
    assertThat(seen).isEmpty();
  }

  @Test
  void afterAProbeTheSameConnectionIsStillRefusedAnythingElse() throws Exception {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), terminator.port())) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      InputStream in = s.getInputStream();
      out.write("GET /healthz HTTP/1.1\r\nHost: hello\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      assertThat(readResponse(in)).startsWith("HTTP/1.1 200 OK").endsWith("GET /healthz client=null");

      out.write("GET /admin HTTP/1.1\r\nHost: hello\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      assertThat(new String(in.readAllBytes(), StandardCharsets.ISO_8859_1)).startsWith("HTTP/1.1 403 Forbidden");
    }
    assertThat(seen).containsExactly("GET /healthz client=null");
    assertThat(refusals.count(TlsRefusals.Reason.PLAINTEXT)).isEqualTo(1);
  }

  @Test
  void aRefusalPipelinedBehindAProbeIsWrittenAfterTheProbesAnswerThenClosed() throws Exception {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), terminator.port())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write( // one write: the probe the application holds, then a refused path
          ("GET /healthz?hold HTTP/1.1\r\nHost: hello\r\n\r\nGET /admin HTTP/1.1\r\nHost: hello\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      await().atMost(Duration.ofSeconds(10)).until(() -> seen.contains("GET /healthz?hold client=null"));
      releaseHeld.countDown();

      InputStream in = s.getInputStream();
      assertThat(readResponse(in)).startsWith("HTTP/1.1 200 OK").endsWith("GET /healthz?hold client=null");
      assertThat(readResponse(in)).startsWith("HTTP/1.1 403 Forbidden").contains("plaintext GET /admin refused");
      assertThat(in.read()).isEqualTo(-1); // closed after the refusal, not before the probe's answer
    }
    assertThat(refusals.count(TlsRefusals.Reason.PLAINTEXT)).isEqualTo(1);
  }

  @Test
  void somethingThatIsNotHttpIsRefused() throws Exception {
    String answer = plaintext("\u0016garbage that is no request line\r\n\r\n");

    assertThat(answer).startsWith("HTTP/1.1 403 Forbidden").contains("an unparsable request");
    assertThat(refusals.count(TlsRefusals.Reason.PLAINTEXT)).isEqualTo(1);
  }

  @Test
  void meshTlsCallersAreServedAsEver() throws Exception {
    HttpClient client =
        HttpClient.newBuilder()
            .sslContext(mesh.tls(CLIENT, refusals).clientContext("hello.default", Set.of(SERVER)))
            .version(HttpClient.Version.HTTP_2)
            .build();

    HttpResponse<String> r =
        client.send(
            HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + terminator.port() + "/orders")).build(),
            HttpResponse.BodyHandlers.ofString());

    assertThat(r.body()).isEqualTo("GET /orders client=" + CLIENT);
  }

  /** One response with a Content-Length, read exactly. */
  static String readResponse(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("closed before the end of the header: " + head);
      }
      head.write(b);
    }
    String h = head.toString(StandardCharsets.ISO_8859_1);
    int at = h.toLowerCase(java.util.Locale.ROOT).indexOf("content-length:");
    int length = Integer.parseInt(h.substring(at + 15, h.indexOf("\r\n", at)).strip());
    return h + new String(in.readNBytes(length), StandardCharsets.ISO_8859_1);
  }
}
