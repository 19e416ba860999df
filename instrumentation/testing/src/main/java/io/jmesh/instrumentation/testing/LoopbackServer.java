package io.jmesh.instrumentation.testing;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real HTTP server on one loopback address, in the test JVM: answers every request with one
 * line {@code instance=<name> host=<Host> path=<path> method=<method> canary=<x-canary>
 * deadline=<x-jmesh-deadline-ms> client=<x-jmesh-client-id> traceparent=<traceparent>
 * env=<x-env> tag=<x-tag> debug=<x-debug> query=<raw query>} (the last three headers with every
 * value, comma-joined), with the response headers {@code x-instance: <name>}, and {@code
 * x-resp-env: server}, {@code x-resp-tag: server}, {@code x-resp-debug: on} for routes to edit. Tests make it fail ({@link #answerWith}) or slow ({@link
 * #delay}) to exercise the mesh's policies.
 */
public final class LoopbackServer implements AutoCloseable {
  static {
    // Small responses otherwise wait for the client's delayed ACK (about 40 ms each). Only the
    // JVM's first HttpServer reads it: where the agent's admin endpoint starts first, the suites
    // set it on the command line (see the client modules' failsafe argLine).
    if (System.getProperty("sun.net.httpserver.nodelay") == null) {
      System.setProperty("sun.net.httpserver.nodelay", "true");
    }
  }

  private final String name;
  private final HttpServer server;
  private final ExecutorService executor = Executors.newFixedThreadPool(16);
  private final AtomicInteger requests = new AtomicInteger();
  private final java.util.concurrent.BlockingQueue<String> seen = new java.util.concurrent.LinkedBlockingQueue<>();
  private volatile int status = 200;
  private volatile long delayMillis;

  public LoopbackServer(String name, String ip) throws IOException {
    this.name = name;
    this.server = HttpServer.create(new InetSocketAddress(ip, 0), 128);
    server.setExecutor(executor);
    server.createContext(
        "/",
        exchange -> {
          try (exchange) {
            byte[] requestBody = exchange.getRequestBody().readAllBytes();
            seen.add(
                exchange.getRequestMethod() + " " + exchange.getRequestURI()
                    + " host=" + exchange.getRequestHeaders().getFirst("Host")
                    + " traceparent=" + exchange.getRequestHeaders().getFirst("traceparent")
                    + " canary=" + exchange.getRequestHeaders().getFirst("x-canary")
                    + " body=" + new String(requestBody, StandardCharsets.UTF_8));
            requests.incrementAndGet();
            long delay = delayMillis;
            if (delay > 0) {
              // A slow endpoint, as the test asked: a real wait on the server's own thread.
              try {
                Thread.sleep(delay);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
              }
            }
            byte[] body =
                ("instance=" + name
                        + " host=" + exchange.getRequestHeaders().getFirst("Host")
                        + " path=" + exchange.getRequestURI().getPath()
                        + " method=" + exchange.getRequestMethod()
                        + " canary=" + exchange.getRequestHeaders().getFirst("x-canary")
                        + " deadline=" + exchange.getRequestHeaders().getFirst("x-jmesh-deadline-ms")
                        // The caller's identity, as an inbound terminator in front of this server
                        // adds it: shows that a call came over mesh TLS, and from whom.
                        + " client=" + exchange.getRequestHeaders().getFirst("x-jmesh-client-id")
                        + " traceparent=" + exchange.getRequestHeaders().getFirst("traceparent")
                        // Route header edits: every value, in order, comma-joined.
                        + " env=" + all(exchange.getRequestHeaders().get("x-env"))
                        + " tag=" + all(exchange.getRequestHeaders().get("x-tag"))
                        + " debug=" + all(exchange.getRequestHeaders().get("x-debug"))
                        + " query=" + exchange.getRequestURI().getRawQuery()
                        + "\n")
                    .getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("x-instance", name);
            // For routes' response header edits to act on.
            exchange.getResponseHeaders().set("x-resp-env", "server");
            exchange.getResponseHeaders().set("x-resp-tag", "server");
            exchange.getResponseHeaders().set("x-resp-debug", "on");
            exchange.sendResponseHeaders(status, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
              out.write(body);
            }
          }
        });
    server.start();
  }

  private static String all(java.util.List<String> values) {
    return values == null ? null : String.join(",", values);
  }

  public String name() {
    return name;
  }

  public String ip() {
    return server.getAddress().getAddress().getHostAddress();
  }

  public int port() {
    return server.getAddress().getPort();
  }

  /** Answers every later request with {@code status} (200 restores health). */
  public void answerWith(int status) {
    this.status = status;
  }

  /** Holds every later request for {@code millis} before answering (0: no delay). */
  public void delay(long millis) {
    this.delayMillis = millis;
  }

  /** Back to answering 200 at once. */
  public void reset() {
    seen.clear();
    status = 200;
    delayMillis = 0;
  }

  /**
   * The next request received, oldest first, as {@code METHOD uri host=.. traceparent=..
   * canary=.. body=..}; waits at most {@code seconds}, {@code null} when none came.
   */
  public String nextRequest(long seconds) throws InterruptedException {
    return seen.poll(seconds, java.util.concurrent.TimeUnit.SECONDS);
  }

  /** Requests received so far. */
  public int requests() {
    return requests.get();
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
