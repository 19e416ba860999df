package io.jmesh.injector.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Secret's files swapped under load, as the kubelet swaps them: no request fails, a new
 * connection gets the new certificate, an open one finishes with its own. The poll is called by
 * the test (the scheduler's tick), not by a timer.
 */
class CertificateRotationIT {
  private static final int MAX_REQUESTS = 600;
  private static final Duration MAX_TIME = Duration.ofSeconds(90);

  @TempDir Path tlsDir;
  private final TestCerts certs = new TestCerts("jmesh test ca");

  @Test
  void rotationUnderRequestsFailsNoneAndNewConnectionsSeeTheNewCertificate() throws Exception {
    certs.write(tlsDir, certs.leaf());
    ServerTls tls = ServerTls.load(tlsDir, Clock.systemUTC());
    try (WebhookServer server =
        WebhookServer.start(
            WebhookServer.Options.defaults().withAddress("127.0.0.1", 0),
            tls,
            NamespaceLookup.NONE,
            Reviews.admission())) {
      ApiServerClient client = new ApiServerClient(certs.clientContext(), server.port(), HttpClient.Version.HTTP_1_1);
      BigInteger firstSerial = tls.certificate().getSerialNumber();

      // A kept-alive connection opened before any swap.
      SSLSocket early = client.socket();
      assertThat(serial(early)).isEqualTo(firstSerial);
      assertThat(readyOn(early)).startsWith("HTTP/1.1 200 OK");

      // Two callers: one reusing its connections (HTTP/1.1 pool), one opening a new client (and
      // so a new connection and handshake) for every request, HTTP/2 for variety.
      AtomicBoolean stop = new AtomicBoolean();
      AtomicInteger sent = new AtomicInteger();
      ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
      long deadline = System.nanoTime() + MAX_TIME.toNanos();
      ExecutorService callers = Executors.newFixedThreadPool(2);
      List<Future<?>> running = new ArrayList<>();
      for (int caller = 0; caller < 2; caller++) {
        boolean fresh = caller == 1;
        running.add(callers.submit(() -> {
          ApiServerClient pooled = client;
          while (!stop.get() && sent.get() < MAX_REQUESTS && System.nanoTime() < deadline) {
            int n = sent.incrementAndGet();
            try {
              ApiServerClient c = fresh
                  ? new ApiServerClient(certs.clientContext(), server.port(), HttpClient.Version.HTTP_2)
                  : pooled;
              HttpResponse<String> answer = c.post("/inject", Reviews.podCreate("uid-" + n, "shop", "{\"jmesh.io/inject\":\"enabled\"}"));
              if (answer.statusCode() != 200 || !Reviews.response(answer.body()).get("allowed").asBoolean()) {
                failures.add(n + ": " + answer.statusCode() + " " + answer.body());
              }
            } catch (Exception e) {
              failures.add(n + ": " + e);
            }
          }
          return null;
        }));
      }

      // Three rotations, each after some requests have gone through the current certificate.
      List<BigInteger> serials = new ArrayList<>(List.of(firstSerial));
      for (int rotation = 0; rotation < 3; rotation++) {
        int before = sent.get();
        await().atMost(MAX_TIME).until(() -> sent.get() >= before + 30 || sent.get() >= MAX_REQUESTS);
        TestCerts.Leaf next = certs.leaf();
        certs.swap(tlsDir, next);
        assertThat(tls.poll()).isTrue();
        serials.add(next.serial());
      }
      int atLastSwap = sent.get();
      await().atMost(MAX_TIME).until(() -> sent.get() >= atLastSwap + 30 || sent.get() >= MAX_REQUESTS);
      stop.set(true);
      for (Future<?> f : running) {
        f.get();
      }
      callers.shutdown();

      assertThat(failures).isEmpty();
      assertThat(sent.get()).isGreaterThanOrEqualTo(120);
      assertThat(tls.reloads()).isEqualTo(3);
      // A new connection is served the last certificate...
      try (SSLSocket late = client.socket()) {
        assertThat(serial(late)).isEqualTo(serials.get(3));
      }
      // ...while the connection opened first still answers, with the certificate it began with.
      assertThat(readyOn(early)).startsWith("HTTP/1.1 200 OK");
      assertThat(serial(early)).isEqualTo(firstSerial);
      early.close();
    }
  }

  private static BigInteger serial(SSLSocket socket) throws Exception {
    return ((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSerialNumber();
  }

  private static String readyOn(SSLSocket socket) throws Exception {
    OutputStream out = socket.getOutputStream();
    out.write("GET /ready HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    out.flush();
    InputStream in = socket.getInputStream();
    return ApiServerClient.readResponse(in);
  }
}
