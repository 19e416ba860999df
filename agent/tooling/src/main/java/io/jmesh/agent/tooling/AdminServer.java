package io.jmesh.agent.tooling;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.jmesh.bridge.AgentLog;
import io.jmesh.runtime.MeshRuntime;
import io.jmesh.runtime.telemetry.MeshTap;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * The agent's admin endpoint (Linkerd's proxy admin port, 4191 by default): {@code /metrics}
 * (Prometheus text), {@code /live}, {@code /ready}, and for loopback callers only {@code /config}
 * (the snapshot in force, JSON), {@code /endpoints} (per destination, each endpoint's load and
 * breaker state, JSON) and {@code /tap} (a live stream of finished calls, JSON lines; see {@link
 * TapStream}). "Loopback" means both ends: the request came from a loopback address and was
 * received on one, so that a widened bind ({@code jmesh.admin.address=0.0.0.0}) never serves them
 * to a relay on the host that forwards network traffic from its own loopback address.
 *
 * <p>Built on the JDK's {@code com.sun.net.httpserver}: it is in the platform class loader, so it
 * needs nothing in the agent jar, never clashes with the application's own libraries, and does not
 * load Netty in file mode, where nothing else would. A scrape every few seconds needs no more.
 *
 * <p>Threading: {@value #WORKERS} daemon threads serve requests; the runtime reference is read per
 * request, so the endpoint can start before the runtime exists. The JDK server reads a request's
 * headers on the worker thread, blocking, and has no per-server timeout (its {@code
 * sun.net.httpserver.*} properties are JVM-wide and would change the application's servers too),
 * so each request is guarded: one that is not done {@code requestTimeoutMillis} after a worker
 * took it up (once its first bytes arrived: slow headers, a slow reader of the answer) has its
 * worker interrupted, which closes the connection. Idle connections hold no worker: the JDK keeps them in its selector and closes
 * them after its idle interval. Each {@code /tap} stream gets a daemon thread of its own, at most
 * {@value #MAX_TAPS} at once, so that a long tap never holds up a scrape, nor is cut by the timeout.
 */
final class AdminServer implements AutoCloseable {
  /** Taps served at once; a tap costs a thread and a queue, and a few suffice to debug. */
  static final int MAX_TAPS = 4;
  /** Events one tap holds while its client reads too slowly; beyond, they are dropped. */
  static final int TAP_QUEUE = 1024;
  /** How often an idle tap writes an empty line, to notice a client that went away. */
  static final long TAP_HEARTBEAT_MILLIS = 1000;
  /** Threads serving requests: a slow client holds one at most until its request times out. */
  static final int WORKERS = 4;
  /** How long one request may hold a worker: reading its headers, answering, writing the answer. */
  static final long REQUEST_TIMEOUT_MILLIS = 10_000;

  private final HttpServer server;
  private final ExecutorService executor;
  private final ScheduledExecutorService timeouts;
  private final Set<Thread> taps = ConcurrentHashMap.newKeySet();
  private final AtomicInteger tapIds = new AtomicInteger();

  private AdminServer(HttpServer server, ExecutorService executor, ScheduledExecutorService timeouts) {
    this.server = server;
    this.executor = executor;
    this.timeouts = timeouts;
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
      MeshTap tap,
      Supplier<MeshRuntime> runtime,
      Supplier<List<String>> readiness) {
    return start(address, port, REQUEST_TIMEOUT_MILLIS, registry, tap, runtime, readiness);
  }

  /** As above, with the request timeout given (tests shorten it). */
  static AdminServer start(
      String address,
      int port,
      long requestTimeoutMillis,
      PrometheusMeterRegistry registry,
      MeshTap tap,
      Supplier<MeshRuntime> runtime,
      Supplier<List<String>> readiness) {
    ThreadPoolExecutor workers = null;
    ScheduledThreadPoolExecutor timeouts = null;
    try {
      InetSocketAddress bindAddress = new InetSocketAddress(InetAddress.getByName(address), port);
      HttpServer server;
      // The agent's own listener: inbound capture must leave it where it is.
      try (AgentBinds.Claim claim = AgentBinds.claim(List.of(bindAddress))) {
        server = HttpServer.create(bindAddress, 16);
      }
      AtomicInteger ids = new AtomicInteger();
      ThreadFactory daemons =
          r -> {
            Thread t = new Thread(r, "jmesh-admin-" + ids.incrementAndGet());
            t.setDaemon(true); // No agent thread keeps a JVM alive.
            return t;
          };
      timeouts = new ScheduledThreadPoolExecutor(1, daemons);
      timeouts.setRemoveOnCancelPolicy(true); // most requests end long before their timeout
      ScheduledThreadPoolExecutor timer = timeouts;
      // The queue holds requests whose first bytes arrived while every worker was busy; each
      // worker is freed within the timeout, so the queue drains. Bounding it instead would make
      // the JDK server drop the connection without closing it.
      workers =
          new ThreadPoolExecutor(WORKERS, WORKERS, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(), daemons) {
            @Override
            public void execute(Runnable exchange) {
              super.execute(new Guarded(exchange, timer, requestTimeoutMillis));
            }
          };
      server.setExecutor(workers);
      AdminServer admin = new AdminServer(server, workers, timeouts);
      server.createContext(
          "/", exchange -> admin.handle(exchange, registry, tap, runtime, readiness));
      // The server's own dispatcher thread inherits daemon status from the thread that starts it.
      Thread starter = new Thread(server::start, "jmesh-admin-start");
      starter.setDaemon(true);
      starter.start();
      starter.join(5_000);
      return admin;
    } catch (IOException | RuntimeException e) {
      if (workers != null) {
        workers.shutdownNow();
      }
      if (timeouts != null) {
        timeouts.shutdownNow();
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

  /**
   * One request on a worker (the JDK server's exchange: it reads the headers, calls {@link
   * #handle}, writes the answer), interrupted when it outlasts the timeout. Interrupting a thread
   * blocked on a socket channel closes that channel, which ends the exchange.
   */
  private static final class Guarded implements Runnable {
    private final Runnable exchange;
    private final ScheduledExecutorService timer;
    private final long timeoutMillis;
    private Thread worker; // guarded by this; null once the exchange is done

    Guarded(Runnable exchange, ScheduledExecutorService timer, long timeoutMillis) {
      this.exchange = exchange;
      this.timer = timer;
      this.timeoutMillis = timeoutMillis;
    }

    @Override
    public void run() {
      synchronized (this) {
        worker = Thread.currentThread();
      }
      Future<?> expiry;
      try {
        expiry = timer.schedule(this::expire, timeoutMillis, TimeUnit.MILLISECONDS);
      } catch (RejectedExecutionException e) {
        return; // closing
      }
      try {
        exchange.run();
      } finally {
        expiry.cancel(false);
        synchronized (this) {
          worker = null;
        }
        // An expiry that came after the exchange's last blocking call must not reach the next one.
        Thread.interrupted();
      }
    }

    private synchronized void expire() {
      if (worker != null) {
        worker.interrupt();
      }
    }
  }

  /** The bound port (useful with port 0). */
  int port() {
    return server.getAddress().getPort();
  }

  private void handle(
      HttpExchange exchange,
      PrometheusMeterRegistry registry,
      MeshTap tap,
      Supplier<MeshRuntime> runtime,
      Supplier<List<String>> readiness)
      throws IOException {
    if (exchange.getRequestURI().getPath().equals("/tap")
        && exchange.getRequestMethod().equals("GET")
        && fromLoopback(exchange)) {
      // The tap thread owns the exchange from here and closes it.
      tap(exchange, tap, runtime);
      return;
    }
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
        case "/tap":
          if (!fromLoopback(exchange)) {
            // The snapshot names every service, endpoint and policy of the mesh, and a tap shows
            // each request's path: not for the network, as Envoy's admin /config_dump is not.
            send(exchange, 403, "text/plain", "jmesh admin: " + path + " is served to loopback callers only"
                + " (this request came from " + exchange.getRemoteAddress().getAddress().getHostAddress()
                + " to " + exchange.getLocalAddress().getAddress().getHostAddress()
                + "; expected: both loopback); ask from the workload's own host, e.g. curl http://127.0.0.1:"
                + port() + path + "\n");
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
              + " (expected: /metrics, /ready, /live, /config, /endpoints, /tap)\n");
      }
    } catch (RuntimeException e) {
      AgentLog.warn("admin endpoint: " + exchange.getRequestURI() + " failed", e);
    }
  }

  /**
   * Whether the request both came from and was received on a loopback address. The peer's address
   * alone is not enough: a proxy or port forward on the host connects from loopback on behalf of
   * the network, and it reaches a widened bind on the host's other addresses.
   */
  private static boolean fromLoopback(HttpExchange exchange) {
    return exchange.getRemoteAddress().getAddress().isLoopbackAddress()
        && exchange.getLocalAddress().getAddress().isLoopbackAddress();
  }

  /**
   * {@code GET /tap?destination=<service>&max=<n>}: answers at once with a chunked stream of JSON
   * lines, written by a thread of its own until {@code max} events (no limit without it) or the
   * client disconnects.
   */
  private void tap(HttpExchange exchange, MeshTap tap, Supplier<MeshRuntime> runtime)
      throws IOException {
    String destination = "";
    long max = 0;
    String query = exchange.getRequestURI().getRawQuery();
    try {
      if (query != null) {
        for (String pair : query.split("&")) {
          int eq = pair.indexOf('=');
          String key = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
          String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
          if (key.equals("destination")) {
            destination = value;
          } else if (key.equals("max")) {
            max = Long.parseLong(value);
            if (max < 0) {
              throw new IllegalArgumentException();
            }
          }
        }
      }
    } catch (IllegalArgumentException e) {
      try (exchange) {
        send(exchange, 400, "text/plain", "jmesh admin: /tap?" + query
            + ": bad query (expected: destination=<service>&max=<n >= 0>)\n");
      }
      return;
    }
    if (taps.size() >= MAX_TAPS) {
      try (exchange) {
        send(exchange, 503, "text/plain", "jmesh admin: " + MAX_TAPS
            + " taps are running already (expected: at most " + MAX_TAPS + " at once); stop one\n");
      }
      return;
    }
    TapStream stream =
        new TapStream(
            destination,
            max,
            TAP_QUEUE,
            d -> {
              MeshRuntime r = runtime.get();
              return r != null && r.requiresMeshTls(d);
            });
    Thread thread =
        new Thread(
            () -> {
              try (exchange;
                  MeshTap.Subscription subscription = tap.subscribe(stream)) {
                exchange.getResponseHeaders().set("Content-Type", "application/x-ndjson; charset=utf-8");
                exchange.getResponseHeaders().set("Cache-Control", "no-store");
                exchange.sendResponseHeaders(200, 0); // chunked: the length is unknown
                try (OutputStream out = exchange.getResponseBody()) {
                  stream.run(out, TAP_HEARTBEAT_MILLIS);
                }
              } catch (IOException e) {
                // The client went away: that ends a tap, as Ctrl-C on `jmesh tap` should.
              } catch (InterruptedException e) {
                // The admin endpoint is closing.
              } catch (RuntimeException e) {
                AgentLog.warn("admin endpoint: /tap failed", e);
              } finally {
                taps.remove(Thread.currentThread());
              }
            },
            "jmesh-tap-" + tapIds.incrementAndGet());
    thread.setDaemon(true); // No agent thread keeps a JVM alive.
    taps.add(thread);
    thread.start();
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
    timeouts.shutdownNow();
    taps.forEach(Thread::interrupt);
  }
}
