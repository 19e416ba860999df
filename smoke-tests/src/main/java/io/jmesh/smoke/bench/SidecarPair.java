package io.jmesh.smoke.bench;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The sidecar model built from HAProxy, for comparison with jmesh: {@code client → outbound proxy
 * (plaintext HTTP on loopback) → mutual TLS 1.3 → inbound proxy → server (plaintext)}, each proxy
 * its own process as a sidecar would be.
 *
 * <ul>
 *   <li>Certificates come from a {@link ThrowawayCa} made for this run: the outbound proxy presents
 *       {@value #OUTBOUND_IDENTITY}, the inbound one {@value #INBOUND_IDENTITY}; each side requires
 *       and verifies the other's chain ({@code verify required}), and the outbound side also checks
 *       the inbound proxy's name, as a mesh checks the destination's identity.
 *   <li>Between the proxies the connection speaks HTTP/2 (ALPN {@code h2}): sidecar meshes
 *       (Linkerd, Istio) multiplex requests between proxies over few connections.
 *   <li>{@code mode http} with {@code http-reuse always} on both proxies, so connections are kept
 *       and shared; {@code nbthread 1} per proxy, because a sidecar gets about one core in practice
 *       (and this machine has two in all).
 * </ul>
 *
 * <p>{@link #start} returns when both ports accept and one request has come back through the whole
 * path with status 200. {@link #close} stops both processes and deletes the directory holding the
 * keys and configs. Not thread-safe.
 *
 * <p>{@link #startTcpRelay} starts the other shape this class knows: one HAProxy in {@code mode
 * tcp}, plaintext, copying bytes to the server. It is the floor of every design that forwards on
 * the server's side, as jmesh's inbound terminator does (DESIGN.md, "Inbound"): one more process
 * hop with no TLS, no HTTP parsing and no policy.
 */
final class SidecarPair implements AutoCloseable {
  static final String OUTBOUND_IDENTITY = "client-sidecar.bench.jmesh";
  static final String INBOUND_IDENTITY = "server-sidecar.bench.jmesh";

  private static final String LOOPBACK = "127.0.0.1";
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(5);

  private final Path dir;
  private final List<Proxy> proxies = new ArrayList<>();
  private int outboundPort;

  private SidecarPair(Path dir) {
    this.dir = dir;
  }

  /** One HAProxy process and the file it writes its output to. */
  private record Proxy(String name, Process process, Path log) {
    String output() {
      try {
        return Files.readString(log, StandardCharsets.UTF_8);
      } catch (IOException e) {
        return "(cannot read " + log + ": " + e + ")";
      }
    }
  }

  /**
   * The {@code haproxy} executable on {@code PATH}.
   *
   * @throws IllegalStateException naming the package to install when there is none
   */
  static Path haproxyBinary() {
    String path = System.getenv("PATH");
    if (path != null) {
      for (String dir : path.split(File.pathSeparator)) {
        if (dir.isEmpty()) {
          continue;
        }
        Path candidate = Path.of(dir, "haproxy");
        if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
          return candidate;
        }
      }
    }
    throw new IllegalStateException(
        "haproxy not found on PATH (expected: Debian package haproxy; apt-get install -y haproxy)");
  }

  /**
   * Starts the pair in front of {@code serverHost:serverPort} and waits until a request passes
   * through it, at most {@code readyTimeout}.
   */
  static SidecarPair start(String serverHost, int serverPort, Duration readyTimeout)
      throws IOException, InterruptedException {
    Path haproxy = haproxyBinary();
    SidecarPair pair = new SidecarPair(Files.createTempDirectory("jmesh-sidecar-pair"));
    try {
      pair.writeCertificates();
      int outbound = freePort();
      int inbound = freePort();
      pair.outboundPort = outbound;
      Path outboundCfg = pair.dir.resolve("outbound.cfg");
      Path inboundCfg = pair.dir.resolve("inbound.cfg");
      Files.writeString(outboundCfg, pair.outboundConfig(outbound, inbound), StandardCharsets.UTF_8);
      Files.writeString(inboundCfg, pair.inboundConfig(inbound, serverHost, serverPort), StandardCharsets.UTF_8);
      // Inbound first, so the outbound proxy's first connection finds it listening.
      pair.launch(haproxy, "inbound", inboundCfg);
      pair.launch(haproxy, "outbound", outboundCfg);
      long deadline = System.nanoTime() + readyTimeout.toNanos();
      pair.awaitListening(pair.proxies.get(0), inbound, deadline);
      pair.awaitListening(pair.proxies.get(1), outbound, deadline);
      pair.awaitFirstResponse(deadline);
      return pair;
    } catch (IOException | InterruptedException | RuntimeException e) {
      pair.close();
      throw e;
    }
  }

  /**
   * Starts one plaintext TCP relay in front of {@code serverHost:serverPort} and waits until a
   * request passes through it, at most {@code readyTimeout}.
   */
  static SidecarPair startTcpRelay(String serverHost, int serverPort, Duration readyTimeout)
      throws IOException, InterruptedException {
    Path haproxy = haproxyBinary();
    SidecarPair relay = new SidecarPair(Files.createTempDirectory("jmesh-tcp-relay"));
    try {
      int port = freePort();
      relay.outboundPort = port;
      Path cfg = relay.dir.resolve("relay.cfg");
      Files.writeString(cfg, relayConfig(port, serverHost, serverPort), StandardCharsets.UTF_8);
      relay.launch(haproxy, "relay", cfg);
      long deadline = System.nanoTime() + readyTimeout.toNanos();
      relay.awaitListening(relay.proxies.get(0), port, deadline);
      relay.awaitFirstResponse(deadline);
      return relay;
    } catch (IOException | InterruptedException | RuntimeException e) {
      relay.close();
      throw e;
    }
  }

  /** The URL a client calls to reach the server through the pair. */
  String url() {
    return "http://" + LOOPBACK + ":" + outboundPort + "/";
  }

  /** Process ids of the two proxies (inbound, outbound), for CPU and memory accounting. */
  List<Long> pids() {
    return proxies.stream().map(p -> p.process().pid()).toList();
  }

  private void writeCertificates() throws IOException {
    try {
      ThrowawayCa ca = new ThrowawayCa("jmesh benchmark throwaway CA");
      Files.writeString(dir.resolve("ca.pem"), ca.caPem(), StandardCharsets.US_ASCII);
      Files.writeString(dir.resolve("outbound.pem"), ca.issueCertAndKeyPem(OUTBOUND_IDENTITY), StandardCharsets.US_ASCII);
      Files.writeString(dir.resolve("inbound.pem"), ca.issueCertAndKeyPem(INBOUND_IDENTITY), StandardCharsets.US_ASCII);
    } catch (GeneralSecurityException e) {
      throw new IOException("sidecar pair: cannot make the throwaway CA and certificates in " + dir, e);
    }
  }

  /** The start of every config: one core and the same connection cap for every proxy. */
  private static String global() {
    return String.join(
        "\n",
        "# Generated by the jmesh benchmark harness (SidecarPair) for one run; deleted after it.",
        "global",
        // One core per sidecar: what a mesh typically grants a proxy, and half of this machine.
        "    nbthread 1",
        "    maxconn 4096",
        "");
  }

  /** Settings both proxies of the pair share. */
  private static String common(String name) {
    return global() + String.join(
        "\n",
        // TLS 1.3 only, on both the listening and the connecting side.
        "    ssl-default-bind-options ssl-min-ver TLSv1.3",
        "    ssl-default-server-options ssl-min-ver TLSv1.3",
        "defaults",
        "    mode http",
        "    option http-keep-alive",
        // Share idle server connections between client connections, as a sidecar does.
        "    http-reuse always",
        "    timeout connect 5s",
        "    timeout client 30s",
        "    timeout server 30s",
        "    timeout http-keep-alive 60s",
        "    timeout http-request 10s",
        "",
        "# " + name,
        "");
  }

  private String outboundConfig(int listen, int inboundPort) {
    return common("outbound sidecar: plaintext from the local client, mTLS to the remote sidecar")
        + String.join(
            "\n",
            "frontend outbound",
            "    bind " + LOOPBACK + ":" + listen,
            "    default_backend remote_sidecar",
            "backend remote_sidecar",
            "    server inbound " + LOOPBACK + ":" + inboundPort
                + " ssl verify required ca-file " + dir.resolve("ca.pem")
                + " crt " + dir.resolve("outbound.pem")
                + " sni str(" + INBOUND_IDENTITY + ") verifyhost " + INBOUND_IDENTITY
                + " alpn h2",
            "");
  }

  private String inboundConfig(int listen, String serverHost, int serverPort) {
    return common("inbound sidecar: mTLS from the remote sidecar, plaintext to the local server")
        + String.join(
            "\n",
            "frontend inbound",
            "    bind " + LOOPBACK + ":" + listen
                + " ssl crt " + dir.resolve("inbound.pem")
                + " ca-file " + dir.resolve("ca.pem") + " verify required alpn h2,http/1.1",
            "    default_backend local_server",
            "backend local_server",
            "    server app " + serverHost + ":" + serverPort,
            "");
  }

  private static String relayConfig(int listen, String serverHost, int serverPort) {
    return global() + String.join(
        "\n",
        "defaults",
        // Bytes only: no HTTP parsing, so this is the cheapest relay HAProxy can be.
        "    mode tcp",
        "    timeout connect 5s",
        "    timeout client 60s",
        "    timeout server 60s",
        "",
        "# a plaintext TCP relay: the floor of any server-side hop",
        "frontend relay",
        "    bind " + LOOPBACK + ":" + listen,
        "    default_backend local_server",
        "backend local_server",
        "    server app " + serverHost + ":" + serverPort,
        "");
  }

  private void launch(Path haproxy, String name, Path cfg) throws IOException {
    Path log = dir.resolve(name + ".log");
    // -db: stay in the foreground, so the process we hold is the proxy itself.
    Process p =
        new ProcessBuilder(haproxy.toString(), "-db", "-f", cfg.toString())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    proxies.add(new Proxy(name, p, log));
  }

  /** Bounded poll until {@code port} accepts; fails at once with the proxy's output if it exits. */
  private void awaitListening(Proxy proxy, int port, long deadline) throws InterruptedException {
    for (int attempt = 1; ; attempt++) {
      if (!proxy.process().isAlive()) {
        throw new IllegalStateException(
            "sidecar pair: " + proxy.name() + " haproxy exited with " + proxy.process().exitValue()
                + " before listening on " + LOOPBACK + ":" + port + "; its output:\n" + proxy.output());
      }
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress(LOOPBACK, port), 200);
        return;
      } catch (IOException notYet) {
        // Not listening yet: try again until the deadline.
      }
      if (System.nanoTime() - deadline > 0) {
        throw new IllegalStateException(
            "sidecar pair: " + proxy.name() + " haproxy not listening on " + LOOPBACK + ":" + port + " after "
                + attempt + " attempts (expected: within the ready timeout); its output:\n" + proxy.output());
      }
      // The pause between attempts, which also returns early if the proxy dies.
      proxy.process().waitFor(50, TimeUnit.MILLISECONDS);
    }
  }

  /**
   * One request through the whole path: proves that both proxies accept each other's certificates
   * before any measurement, so a TLS mistake is reported here with both logs, not as load errors.
   */
  private void awaitFirstResponse(long deadline) throws InterruptedException {
    // HTTP/1.1 like the load client: the JDK's default (an h2c upgrade attempt) is not what is measured.
    HttpClient http =
        HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2)).build();
    String last = "no attempt";
    for (int attempt = 1; System.nanoTime() - deadline < 0; attempt++) {
      try {
        HttpResponse<String> r =
            http.send(
                HttpRequest.newBuilder(URI.create(url())).timeout(Duration.ofSeconds(2)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200) {
          return;
        }
        last = String.format(Locale.ROOT, "attempt %d: status %d, body %s", attempt, r.statusCode(), r.body().strip());
      } catch (IOException e) {
        last = "attempt " + attempt + ": " + e;
      }
      proxies.get(proxies.size() - 1).process().waitFor(100, TimeUnit.MILLISECONDS);
    }
    StringBuilder logs = new StringBuilder();
    for (Proxy p : proxies) {
      logs.append("\n--- ").append(p.name()).append(" haproxy (alive: ").append(p.process().isAlive()).append(")\n")
          .append(p.output());
    }
    throw new IllegalStateException(
        "sidecar pair: GET " + url() + " did not answer 200 within the ready timeout (last: " + last + ")" + logs);
  }

  private static int freePort() throws IOException {
    // The port is free now; another process could take it before haproxy binds, which the
    // readiness check then reports with haproxy's own error.
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(LOOPBACK))) {
      return s.getLocalPort();
    }
  }

  @Override
  public void close() {
    for (Proxy p : proxies) {
      p.process().destroy(); // SIGTERM: haproxy stops at once.
    }
    for (Proxy p : proxies) {
      try {
        if (!p.process().waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
          p.process().destroyForcibly().waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        p.process().destroyForcibly();
      }
    }
    deleteRecursively(dir);
  }

  private static void deleteRecursively(Path root) {
    try (Stream<Path> files = Files.walk(root)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("sidecar pair: cannot delete " + root + " (holds throwaway keys)", e);
    }
  }
}
