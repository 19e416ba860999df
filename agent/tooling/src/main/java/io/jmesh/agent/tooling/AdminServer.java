package io.jmesh.agent.tooling;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.jmesh.bridge.AgentLog;
import io.jmesh.runtime.MeshRuntime;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * The agent's admin endpoint (Linkerd's proxy admin port, 4191 by default): {@code /metrics}
 * (Prometheus text), {@code /live}, {@code /ready}, and for loopback callers only {@code /config}
 * (the snapshot in force, JSON) and {@code /endpoints} (per destination, each endpoint's load and
 * breaker state, JSON).
 *
 * <p>Built on the JDK's {@code com.sun.net.httpserver}: it is in the platform class loader, so it
 * needs nothing in the agent jar, never clashes with the application's own libraries, and does not
 * load Netty in file mode, where nothing else would. A scrape every few seconds needs no more.
 *
 * <p>Threading: one daemon thread serves every request, one at a time; the runtime reference is
 * read per request, so the endpoint can start before the runtime exists.
 */
final class AdminServer implements AutoCloseable {
  private final HttpServer server;
  private final ExecutorService executor;

  private AdminServer(HttpServer server, ExecutorService executor) {
    this.server = server;
    this.executor = executor;
  }

  /**
   * Binds {@code address:port} and serves. Never throws: a bind failure (port in use, address not
   * local) logs one warning and returns {@code null}; the application runs without admin endpoint.
   *
   * @param runtime the runtime once started, else null (then /config and /endpoints answer 503)
   * @param readiness what keeps the agent from being ready, or an empty list when it is
   */
  static AdminServer start(
      String address,
      int port,
      PrometheusMeterRegistry registry,
      Supplier<MeshRuntime> runtime,
      Supplier<List<String>> readiness) {
    ExecutorService executor = null;
    try {
      HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getByName(address), port), 16);
      executor =
          Executors.newSingleThreadExecutor(
              r -> {
                Thread t = new Thread(r, "jmesh-admin");
                t.setDaemon(true); // No agent thread keeps a JVM alive.
                return t;
              });
      server.setExecutor(executor);
      AdminServer admin = new AdminServer(server, executor);
      server.createContext("/", exchange -> admin.handle(exchange, registry, runtime, readiness));
      // The server's own dispatcher thread inherits daemon status from the thread that starts it.
      Thread starter = new Thread(server::start, "jmesh-admin-start");
      starter.setDaemon(true);
      starter.start();
      starter.join(5_000);
      return admin;
    } catch (IOException | RuntimeException e) {
      if (executor != null) {
        executor.shutdownNow();
      }
      AgentLog.warn(
          "no admin endpoint: cannot listen on " + address + ":" + port + " (" + e
              + "); set " + AgentConfig.ADMIN_PORT.env() + " to a free port, or 0 to turn it off");
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  /** The bound port (useful with port 0). */
  int port() {
    return server.getAddress().getPort();
  }

  private void handle(
      HttpExchange exchange,
      PrometheusMeterRegistry registry,
      Supplier<MeshRuntime> runtime,
      Supplier<List<String>> readiness)
      throws IOException {
    try (exchange) {
      String path = exchange.getRequestURI().getPath();
      if (!exchange.getRequestMethod().equals("GET") && !exchange.getRequestMethod().equals("HEAD")) {
        send(exchange, 405, "text/plain", "jmesh admin: " + exchange.getRequestMethod() + " " + path
            + " is not allowed (expected: GET)\n");
        return;
      }
      switch (path) {
        case "/metrics":
          send(exchange, 200, "text/plain; version=0.0.4; charset=utf-8", registry.scrape());
          return;
        case "/live":
          send(exchange, 200, "text/plain", "live\n");
          return;
        case "/ready":
          List<String> missing = readiness.get();
          if (missing.isEmpty()) {
            send(exchange, 200, "text/plain", "ready\n");
          } else {
            send(exchange, 503, "text/plain", "not ready: " + String.join("; ", missing) + "\n");
          }
          return;
        case "/config":
        case "/endpoints":
          if (!exchange.getRemoteAddress().getAddress().isLoopbackAddress()) {
            // The snapshot names every service, endpoint and policy of the mesh: not for the
            // network, as Envoy's admin /config_dump is not.
            send(exchange, 403, "text/plain", "jmesh admin: " + path + " is served to loopback callers only"
                + " (this request came from " + exchange.getRemoteAddress().getAddress().getHostAddress()
                + "); ask from the workload's own host, e.g. curl http://127.0.0.1:" + port() + path + "\n");
            return;
          }
          MeshRuntime r = runtime.get();
          if (r == null) {
            send(exchange, 503, "text/plain", "jmesh admin: the runtime has not started yet\n");
            return;
          }
          Object body;
          if (path.equals("/config")) {
            Map<String, Object> config = new LinkedHashMap<>();
            config.put("version", r.snapshot().version());
            config.put("snapshot", r.snapshot());
            body = config;
          } else {
            body = r.endpointStatus();
          }
          send(exchange, 200, "application/json", Json.write(body) + "\n");
          return;
        default:
          send(exchange, 404, "text/plain", "jmesh admin: no page " + path
              + " (expected: /metrics, /ready, /live, /config, /endpoints)\n");
      }
    } catch (RuntimeException e) {
      AgentLog.warn("admin endpoint: " + exchange.getRequestURI() + " failed", e);
    }
  }

  private static void send(HttpExchange exchange, int status, String type, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", type);
    boolean head = exchange.getRequestMethod().equals("HEAD");
    exchange.sendResponseHeaders(status, head ? -1 : bytes.length);
    if (!head) {
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(bytes);
      }
    }
  }

  /** Stops serving at once. Idempotent. */
  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
