package io.jmesh.controller;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.config.Service;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The controller's admin HTTP server, on the JDK's {@code com.sun.net.httpserver} (no
 * dependency): {@code /ready}, {@code /live}, {@code /metrics}, {@code /snapshot}, {@code
 * /agents} and {@code /ca}, all {@code GET} (or {@code HEAD}). Bound to loopback by default: it
 * has no authentication, and {@code /agents} shows node metadata.
 *
 * <p>Thread-safety: requests are served on two daemon threads; {@link #close} may be called from
 * any thread.
 */
final class AdminServer implements AutoCloseable {
  private static final Logger LOG = System.getLogger("io.jmesh.controller.admin");
  static final String PATHS = "/ready, /live, /metrics, /snapshot, /services/<name>, /agents, /ca";
  private static final String JSON = "application/json; charset=utf-8";
  private static final String TEXT = "text/plain; charset=utf-8";
  private static final String PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8";

  private final HttpServer server;
  private final ExecutorService executor;
  private final AdminModel model;

  private AdminServer(HttpServer server, ExecutorService executor, AdminModel model) {
    this.server = server;
    this.executor = executor;
    this.model = model;
  }

  /**
   * Starts serving on {@code host:port} (port 0: an ephemeral one, see {@link #port}).
   *
   * @throws IOException if the address cannot be bound; the message names it
   */
  static AdminServer start(String host, int port, AdminModel model) throws IOException {
    InetSocketAddress address = new InetSocketAddress(host, port);
    HttpServer server;
    try {
      server = HttpServer.create(address, 0);
    } catch (IOException e) {
      throw new IOException(
          "admin address: " + host + ":" + port + ": cannot listen: " + e.getMessage(), e);
    }
    AtomicInteger threads = new AtomicInteger();
    ExecutorService executor =
        Executors.newFixedThreadPool(
            2,
            r -> {
              Thread t = new Thread(r, "jmesh-admin-" + threads.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    AdminServer admin = new AdminServer(server, executor, model);
    server.createContext("/", admin::handle);
    server.setExecutor(executor);
    server.start();
    return admin;
  }

  int port() {
    return server.getAddress().getPort();
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      String method = exchange.getRequestMethod();
      if (!method.equals("GET") && !method.equals("HEAD")) {
        exchange.getResponseHeaders().set("Allow", "GET, HEAD");
        send(exchange, 405, TEXT, "method: " + method + " (expected: GET or HEAD)\n");
        return;
      }
      String path = exchange.getRequestURI().getPath();
      try {
        route(exchange, path);
      } catch (RuntimeException e) {
        LOG.log(Level.ERROR, "admin " + path + " failed", e);
        send(exchange, 500, TEXT, path + ": internal error: " + oneLine(e.toString()) + "\n");
      }
    }
  }

  private void route(HttpExchange exchange, String path) throws IOException {
    switch (path) {
      case "/ready":
        Optional<String> reason = model.notReadyReason();
        if (reason.isPresent()) {
          send(exchange, 503, TEXT, "not ready: " + oneLine(reason.get()) + "\n");
        } else {
          send(exchange, 200, TEXT, "ready\n");
        }
        break;
      case "/live":
        send(exchange, 200, TEXT, "live\n");
        break;
      case "/metrics":
        send(exchange, 200, PROMETHEUS, model.scrape());
        break;
      case "/snapshot":
        send(exchange, 200, JSON, AdminJson.write(AdminJson.snapshot(model.snapshot())));
        break;
      case "/agents":
        send(exchange, 200, JSON, AdminJson.write(AdminJson.agents(model.agents())));
        break;
      case "/ca":
        send(exchange, 200, JSON, AdminJson.write(AdminJson.ca(model.ca())));
        break;
      default:
        if (path.startsWith("/services/")) {
          service(exchange, path.substring("/services/".length()));
          return;
        }
        send(exchange, 404, TEXT, "path: " + path + " (expected one of: " + PATHS + ")\n");
    }
  }

  /** {@code hello} finds the first service of that name in any namespace; {@code hello.prod} one. */
  private void service(HttpExchange exchange, String name) throws IOException {
    MeshSnapshot applied = model.snapshot().applied();
    if (applied != null) {
      for (Service service : applied.services()) {
        if (service.qualifiedName().equals(name) || service.name().equals(name)) {
          send(exchange, 200, JSON, AdminJson.write(AdminJson.service(service, applied.version())));
          return;
        }
      }
    }
    send(
        exchange,
        404,
        TEXT,
        "service: \"" + name + "\" is not in the snapshot served"
            + (applied == null ? " (there is none yet)" : " (version " + applied.version() + ")")
            + " (expected: a name that /snapshot lists, e.g. hello or hello.default)\n");
  }

  private static void send(HttpExchange exchange, int status, String contentType, String body)
      throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", contentType);
    // Every answer describes this moment; a cached /ready or /agents would mislead.
    exchange.getResponseHeaders().set("Cache-Control", "no-store");
    boolean head = exchange.getRequestMethod().equals("HEAD");
    exchange.sendResponseHeaders(status, head ? -1 : bytes.length);
    if (!head) {
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(bytes);
      }
    }
  }

  /** Readiness probes and log scrapers read one line; exception messages may span several. */
  static String oneLine(String s) {
    return s.replace("\r\n", " ").replace('\n', ' ').replace('\r', ' ');
  }

  /** Stops at once: in-flight admin requests are cut, which no caller relies on. Idempotent. */
  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
