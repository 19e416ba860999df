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
 * line {@code instance=<name> host=<Host> path=<path> method=<method> canary=<x-canary>}.
 */
public final class LoopbackServer implements AutoCloseable {
  static {
    // Small responses otherwise wait for the client's delayed ACK (about 40 ms each).
    if (System.getProperty("sun.net.httpserver.nodelay") == null) {
      System.setProperty("sun.net.httpserver.nodelay", "true");
    }
  }

  private final String name;
  private final HttpServer server;
  private final ExecutorService executor = Executors.newFixedThreadPool(4);
  private final AtomicInteger requests = new AtomicInteger();

  public LoopbackServer(String name, String ip) throws IOException {
    this.name = name;
    this.server = HttpServer.create(new InetSocketAddress(ip, 0), 128);
    server.setExecutor(executor);
    server.createContext(
        "/",
        exchange -> {
          try (exchange) {
            exchange.getRequestBody().readAllBytes();
            requests.incrementAndGet();
            byte[] body =
                ("instance=" + name
                        + " host=" + exchange.getRequestHeaders().getFirst("Host")
                        + " path=" + exchange.getRequestURI().getPath()
                        + " method=" + exchange.getRequestMethod()
                        + " canary=" + exchange.getRequestHeaders().getFirst("x-canary")
                        + "\n")
                    .getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("x-instance", name);
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
              out.write(body);
            }
          }
        });
    server.start();
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

  /** Requests answered so far. */
  public int requests() {
    return requests.get();
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
