package io.jmesh.smoke.apps;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Executors;

/**
 * A small HTTP service for smoke tests, the demo and benchmarks: answers every path with one line
 * naming the instance, its version and what it received (Host, path, x-canary), padded to
 * {@code --body-bytes} when asked. Prints {@code READY <port>} once it listens.
 *
 * <p>Usage: {@code HelloServer --name v1-a --version v1 --bind 127.0.0.2 --port 18081
 * [--body-bytes 1024] [--delay-ms 200] [--fail-every 2] [--tls-keystore server.p12 --tls-password changeit]
 * [--forward-to http://other:8080/]}. With {@code --forward-to} each request first calls that URL
 * (with {@code HttpURLConnection}), passing on the request's {@code traceparent} and {@code
 * tracestate} as an application with its own tracing would, and names the answer's status in
 * {@code downstream=}.
 */
public final class HelloServer {
  private HelloServer() {}

  public static void main(String[] args) throws IOException {
    // Without TCP_NODELAY the JDK server's small responses meet the client's delayed ACK and
    // every call waits about 40 ms. Read when HttpServer's configuration class loads: set first.
    if (System.getProperty("sun.net.httpserver.nodelay") == null) {
      System.setProperty("sun.net.httpserver.nodelay", "true");
    }
    Map<String, String> opts = parse(args);
    String name = opts.getOrDefault("name", "hello");
    String version = opts.getOrDefault("version", "v1");
    String bind = opts.getOrDefault("bind", "127.0.0.1");
    int port = Integer.parseInt(opts.getOrDefault("port", "0"));
    int bodyBytes = Integer.parseInt(opts.getOrDefault("body-bytes", "0"));
    // A slow application (its work takes this long), so that requests overlap in flight.
    long delayMs = Long.parseLong(opts.getOrDefault("delay-ms", "0"));
    // A flaky application, deterministically: with N, requests 1, 1 + N, 1 + 2N, ... get a 503,
    // so that a sequential client's retries (and the mesh's metrics of them) can be counted.
    long failEvery = Long.parseLong(opts.getOrDefault("fail-every", "0"));
    java.util.concurrent.atomic.AtomicLong received = new java.util.concurrent.atomic.AtomicLong();
    String forwardTo = opts.get("forward-to");
    // Prints "REQUEST <method> <uri> host=<Host>" per request, for tests that count who got what
    // (a route's mirror).
    boolean logRequests = Boolean.parseBoolean(opts.getOrDefault("log-requests", "false"));

    String keystore = opts.get("tls-keystore");
    HttpServer server;
    if (keystore == null) {
      server = HttpServer.create(new InetSocketAddress(bind, port), 1024);
    } else {
      HttpsServer https = HttpsServer.create(new InetSocketAddress(bind, port), 1024);
      https.setHttpsConfigurator(new HttpsConfigurator(tls(keystore, opts.getOrDefault("tls-password", "changeit"))));
      server = https;
    }
    server.setExecutor(Executors.newFixedThreadPool(Integer.parseInt(opts.getOrDefault("threads", "16"))));
    server.createContext(
        "/",
        exchange -> {
          try {
            if (delayMs > 0) {
              Thread.sleep(delayMs);
            }
            long n = received.incrementAndGet();
            if (logRequests) {
              System.out.println("REQUEST " + exchange.getRequestMethod() + " " + exchange.getRequestURI()
                  + " host=" + exchange.getRequestHeaders().getFirst("Host"));
              System.out.flush();
            }
            if (failEvery > 0 && (n - 1) % failEvery == 0) {
              exchange.getRequestBody().readAllBytes();
              exchange.sendResponseHeaders(503, -1);
              return;
            }
            String downstream = forwardTo == null ? null : forward(forwardTo, exchange);
            respond(exchange, name, version, bodyBytes, downstream);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          } finally {
            exchange.close();
          }
        });
    server.start();
    System.out.println("READY " + server.getAddress().getPort());
    System.out.flush();
  }

  /** A server TLS context from a PKCS#12 key store. */
  static SSLContext tls(String keystore, String password) throws IOException {
    try {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      try (InputStream in = Files.newInputStream(Path.of(keystore))) {
        ks.load(in, password.toCharArray());
      }
      KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, password.toCharArray());
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(kmf.getKeyManagers(), null, null);
      return context;
    } catch (GeneralSecurityException e) {
      throw new IOException("key store " + keystore + " is unusable: " + e, e);
    }
  }

  /** Calls {@code url} as part of serving {@code exchange}; returns the status, or the error. */
  private static String forward(String url, HttpExchange exchange) {
    try {
      java.net.HttpURLConnection c = (java.net.HttpURLConnection) java.net.URI.create(url).toURL().openConnection();
      c.setConnectTimeout(5_000);
      c.setReadTimeout(10_000);
      for (String h : new String[] {"traceparent", "tracestate"}) {
        String v = exchange.getRequestHeaders().getFirst(h);
        if (v != null) {
          c.setRequestProperty(h, v);
        }
      }
      int status = c.getResponseCode();
      (status < 400 ? c.getInputStream() : c.getErrorStream()).readAllBytes();
      return Integer.toString(status);
    } catch (IOException | RuntimeException e) {
      return e.getClass().getSimpleName();
    }
  }

  private static void respond(HttpExchange exchange, String name, String version, int bodyBytes, String downstream)
      throws IOException {
    exchange.getRequestBody().readAllBytes();
    String line =
        "instance="
            + name
            + " version="
            + version
            + " host="
            + exchange.getRequestHeaders().getFirst("Host")
            + " path="
            + exchange.getRequestURI().getPath()
            + " method="
            + exchange.getRequestMethod()
            + " canary="
            + exchange.getRequestHeaders().getFirst("x-canary")
            + " client="
            + exchange.getRequestHeaders().getFirst("x-jmesh-client-id")
            + (downstream == null ? "" : " downstream=" + downstream);
    StringBuilder body = new StringBuilder(Math.max(bodyBytes, line.length() + 1)).append(line);
    while (body.length() < bodyBytes - 1) {
      body.append('.');
    }
    body.append('\n');
    byte[] bytes = body.toString().getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "text/plain");
    exchange.getResponseHeaders().set("x-instance", name);
    exchange.sendResponseHeaders(200, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  /** {@code --key value} pairs. */
  static Map<String, String> parse(String[] args) {
    Map<String, String> out = new HashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (!args[i].startsWith("--")) {
        throw new IllegalArgumentException("argument " + args[i] + " (expected: --key value)");
      }
      String key = args[i].substring(2);
      if (i + 1 >= args.length) {
        throw new IllegalArgumentException("argument --" + key + " has no value");
      }
      out.put(key, args[++i]);
    }
    return out;
  }
}
