package io.jmesh.runtime.mirror;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.jmesh.runtime.MeshRuntime;
import io.jmesh.runtime.OutboundCall;
import io.jmesh.runtime.OutboundRequest;
import io.jmesh.runtime.RequestCopy;
import io.jmesh.runtime.call.BlockingCall;
import io.jmesh.runtime.call.CallDriver;
import io.jmesh.runtime.call.Outcomes;
import io.jmesh.runtime.config.Backend;
import io.jmesh.runtime.config.HeaderModifier;
import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.config.RequestMirror;
import io.jmesh.runtime.config.Route;
import io.jmesh.runtime.config.RouteFilters;
import io.jmesh.runtime.config.RouteMatch;
import io.jmesh.runtime.config.RoutePolicy;
import io.jmesh.runtime.config.Service;
import io.jmesh.runtime.config.ServiceEndpoint;
import io.jmesh.runtime.config.UrlRewrite;
import io.jmesh.runtime.telemetry.MeshMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Request mirroring over real sockets, the runtime used as a library: the application's calls go
 * to {@code hello} on 127.0.0.2, the route mirrors them to {@code shadow} on 127.0.0.3, and the
 * runtime's own sender carries the copies. What the original call returns never depends on the
 * mirror; the mirror's counters say what happened to each copy.
 */
class RequestMirrorIT {
  private static final String TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final BlockingQueue<Copy> received = new LinkedBlockingQueue<>();
  private final CountDownLatch mirrorMayAnswer = new CountDownLatch(1);
  private final ExecutorService mirrorThreads = Executors.newFixedThreadPool(8);
  private volatile boolean mirrorSlow;
  private volatile int mirrorStatus = 200;
  private HttpServer primary;
  private HttpServer mirror;
  private MeshRuntime runtime;

  /** What the mirror server saw of one copy. */
  record Copy(String method, String path, String host, String traceparent, String test, String body) {}

  @BeforeEach
  void servers() throws IOException {
    primary = HttpServer.create(new InetSocketAddress("127.0.0.2", 0), 16);
    primary.createContext("/", x -> answer(x, 200, "primary " + x.getRequestURI().getPath()));
    primary.setExecutor(Executors.newFixedThreadPool(2));
    primary.start();
    mirror = HttpServer.create(new InetSocketAddress("127.0.0.3", 0), 16);
    mirror.createContext(
        "/",
        x -> {
          try (InputStream in = x.getRequestBody()) {
            received.add(
                new Copy(
                    x.getRequestMethod(),
                    x.getRequestURI().toString(),
                    x.getRequestHeaders().getFirst("Host"),
                    x.getRequestHeaders().getFirst("traceparent"),
                    x.getRequestHeaders().getFirst("x-test"),
                    new String(in.readAllBytes(), StandardCharsets.UTF_8)));
          }
          if (mirrorSlow) {
            try {
              mirrorMayAnswer.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
          answer(x, mirrorStatus, "mirror");
        });
    mirror.setExecutor(mirrorThreads);
    mirror.start();
  }

  @AfterEach
  void stop() {
    mirrorMayAnswer.countDown();
    if (runtime != null) {
      runtime.close();
    }
    primary.stop(0);
    mirror.stop(0);
    mirrorThreads.shutdownNow();
  }

  private static void answer(HttpExchange x, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    x.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = x.getResponseBody()) {
      out.write(bytes);
    }
  }

  /** A runtime whose route {@code api} of {@code hello} mirrors {@code percent} to {@code shadow} at {@code mirrorPort}. */
  private MeshRuntime runtime(double percent, int mirrorPort, int maxInFlight) {
    Route api =
        new Route(
            "api",
            List.of(RouteMatch.ANY),
            List.of(Backend.all()),
            RoutePolicy.DEFAULT,
            new RouteFilters(HeaderModifier.NONE, HeaderModifier.NONE, UrlRewrite.NONE, new RequestMirror("shadow", "default", percent)));
    MeshSnapshot snapshot =
        new MeshSnapshot(
            "t",
            List.of(
                new Service("hello", "default", List.of(8080),
                    List.of(new ServiceEndpoint("127.0.0.2", primary.getAddress().getPort(), 1, Map.of())), List.of(api)),
                new Service("shadow", "default", List.of(8080),
                    List.of(new ServiceEndpoint("127.0.0.3", mirrorPort, 1, Map.of())), List.of())));
    runtime =
        MeshRuntime.builder()
            .snapshot(snapshot)
            .metrics(new MeshMetrics(registry, "client"))
            .random(new SplittableRandom(7)::nextLong)
            .mirrorLimits(new MirrorSender.Limits(maxInFlight, 1 << 20, Duration.ofSeconds(10), 4))
            .build();
    return runtime;
  }

  /** One call through the runtime's call driver, as an adapter makes it; returns the answer's body. */
  private String call(String path, String body, boolean replayable) throws IOException {
    OutboundCall call = runtime.route(OutboundRequest.of("http", "hello", 8080, "POST", path, h -> null));
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    return BlockingCall.run(
        call,
        replayable,
        bytes.length,
        new CallDriver.Sender<String>() {
          @Override
          public void send(CallDriver.Attempt<String> attempt) throws Exception {
            InetSocketAddress to = attempt.endpoint().socketAddress();
            HttpURLConnection c =
                (HttpURLConnection) URI.create("http://127.0.0.2:" + to.getPort() + path).toURL().openConnection();
            c.setRequestMethod("POST");
            c.setDoOutput(true);
            try (OutputStream out = c.getOutputStream()) {
              out.write(bytes);
            }
            int status = c.getResponseCode();
            try (InputStream in = c.getInputStream()) {
              attempt.succeeded(new String(in.readAllBytes(), StandardCharsets.UTF_8), Outcomes.of(status), status);
            }
          }

          @Override
          public RequestCopy mirrorCopy() {
            String[] headers = {"x-test", path, "Host", "hello:8080", "Content-Length", "999"};
            return new RequestCopy("POST", path, headers, replayable ? bytes : null, new String[] {"traceparent", TRACEPARENT});
          }
        },
        CallDriver.Observer.NONE,
        refusal -> "refused " + refusal.status());
  }

  private double count(String outcome) {
    Counter c =
        registry.find(MeshMetrics.MIRRORS).tag("jmesh.destination.service", "shadow.default").tag("outcome", outcome).counter();
    return c == null ? 0 : c.count();
  }

  @Test
  void theMirrorGetsACopyOfEachRequestWithTheShadowHost() throws Exception {
    runtime(100, mirror.getAddress().getPort(), 64);

    for (int i = 0; i < 5; i++) {
      assertThat(call("/api/" + i + "?q=" + i, "body " + i, true)).isEqualTo("primary /api/" + i);
    }

    // Each copy: same method, path and query, body and trace context; Host with -shadow; the
    // application's own framing headers not copied.
    for (int i = 0; i < 5; i++) {
      Copy copy = received.poll(10, TimeUnit.SECONDS);
      assertThat(copy).isNotNull();
      assertThat(copy.host()).isEqualTo("hello-shadow:8080");
      assertThat(copy.method()).isEqualTo("POST");
      assertThat(copy.traceparent()).isEqualTo(TRACEPARENT);
      assertThat(copy.body()).isEqualTo("body " + copy.path().substring(5, 6));
      assertThat(copy.path()).isEqualTo(copy.test());
    }
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(count(MirrorSender.ANSWERED)).isEqualTo(5));
    assertThat(runtime.mirrorsInFlight("shadow.default")).isZero();
  }

  @Test
  void aSlowMirrorChangesNothingOfTheOriginalAndTheCapDropsAndCounts() throws Exception {
    mirrorSlow = true;
    runtime(100, mirror.getAddress().getPort(), 2);

    // Two copies hang at the mirror; every original still gets its own answer, and the copies
    // beyond the cap of 2 are dropped, not queued.
    assertThat(call("/a", "x", true)).isEqualTo("primary /a");
    assertThat(call("/b", "x", true)).isEqualTo("primary /b");
    await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 2);
    for (int i = 0; i < 6; i++) {
      assertThat(call("/c" + i, "x", true)).isEqualTo("primary /c" + i);
    }
    assertThat(count(MirrorSender.DROPPED)).isEqualTo(6);
    assertThat(runtime.mirrorsInFlight("shadow.default")).isEqualTo(2);

    // The mirror answers at last: the two copies end as answered, and the slots are free again.
    mirrorMayAnswer.countDown();
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(count(MirrorSender.ANSWERED)).isEqualTo(2));
    assertThat(runtime.mirrorsInFlight("shadow.default")).isZero();
    assertThat(call("/d", "x", true)).isEqualTo("primary /d");
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(count(MirrorSender.ANSWERED)).isEqualTo(3));
  }

  @Test
  void aFailingMirrorChangesNothingOfTheOriginal() throws Exception {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.3"))) {
      closedPort = s.getLocalPort(); // closed again: connecting is refused
    }
    runtime(100, closedPort, 64);

    for (int i = 0; i < 4; i++) {
      assertThat(call("/f" + i, "x", true)).isEqualTo("primary /f" + i);
    }
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(count(MirrorSender.FAILED)).isEqualTo(4));
    assertThat(count(MirrorSender.ANSWERED)).isZero();
  }

  @Test
  void aMirrorAnswering5xxIsStillJustAnAnsweredCopy() throws Exception {
    mirrorStatus = 503;
    runtime(100, mirror.getAddress().getPort(), 64);

    assertThat(call("/g", "x", true)).isEqualTo("primary /g");
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(count(MirrorSender.ANSWERED)).isEqualTo(1));
  }

  @Test
  void aBodyThatCannotBeReplayedIsNotMirroredAndIsCounted() throws Exception {
    runtime(100, mirror.getAddress().getPort(), 64);

    assertThat(call("/once", "stream", false)).isEqualTo("primary /once");
    assertThat(count(MirrorSender.SKIPPED)).isEqualTo(1);
    // A client that hands over no copy at all (gRPC's): skipped and counted too.
    OutboundCall grpcLike = runtime.route(OutboundRequest.of("http", "hello", 8080, "POST", "/rpc", h -> null));
    grpcLike.mirror(null);
    grpcLike.finish();
    assertThat(count(MirrorSender.SKIPPED)).isEqualTo(2);
    // The next copy is the first the mirror sees.
    assertThat(call("/twice", "x", true)).isEqualTo("primary /twice");
    assertThat(received.poll(10, TimeUnit.SECONDS).path()).isEqualTo("/twice");
  }

  @Test
  void thePercentIsHonouredStatistically() throws Exception {
    runtime(25, mirror.getAddress().getPort(), 1000);
    OutboundRequest request = OutboundRequest.of("http", "hello", 8080, "GET", "/p", h -> null);

    // 400 routed calls, each handed its copy; a quarter of them, give or take, are sent.
    int calls = 400;
    for (int i = 0; i < calls; i++) {
      OutboundCall call = runtime.route(request);
      call.mirror(new RequestCopy("GET", "/p", new String[0], new byte[0], null));
      call.finish();
    }
    await().atMost(Duration.ofSeconds(20))
        .untilAsserted(() -> assertThat(runtime.mirrorsInFlight("shadow.default")).isZero());
    double sent = count(MirrorSender.ANSWERED) + count(MirrorSender.FAILED);
    assertThat(count(MirrorSender.FAILED)).isZero();
    // Binomial(400, 0.25): mean 100, standard deviation 8.7; 60..140 is beyond 4.5 of them.
    assertThat(sent).isBetween(60.0, 140.0);
    assertThat(received).hasSize((int) sent);
  }

  @Test
  void theShadowHostKeepsThePort() {
    assertThat(MirrorSender.shadow("hello.default:8080")).isEqualTo("hello.default-shadow:8080");
    assertThat(MirrorSender.shadow("hello")).isEqualTo("hello-shadow");
    assertThat(MirrorSender.shadow("[::1]:80")).isEqualTo("[::1]-shadow:80");
  }
}
