package io.jmesh.smoke.bench;

import io.jmesh.smoke.support.ControllerProcess;
import io.jmesh.smoke.support.Jvm;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * jmesh's own mTLS path for the sidecar comparison, set up as {@code MeshTlsSmokeTest} does with
 * real JVMs: a controller JVM that is also the CA ({@code --ca-dir}, default 24 h leaves) watching a
 * mesh file in which service {@value #SERVICE} has identity {@value #SERVER_IDENTITY} and one
 * endpoint, the server agent's mesh inbound port; the server JVM with the agent (its own port on
 * loopback, the inbound listener on the harness's address); the load client with the agent,
 * calling {@value #URL}. Between the JVMs: TLS 1.3 with both identities checked, HTTP/2.
 *
 * <p>The controller is the control plane (as istiod is for Istio): the route names it in {@link
 * Scenario.Route#controlPlanePids}, not in {@link Scenario.Route#pids}. {@link #close} stops it and
 * deletes its directory (CA key, mesh file). Not thread-safe.
 */
final class MeshTlsPath implements Scenario.Run {
  static final String SERVICE = "hello";
  static final String SERVER_IDENTITY = "spiffe://cluster.local/ns/default/sa/hello";
  static final String URL = "http://" + SERVICE + ":8080/";
  /** The gRPC channel target of the same service, for the gRPC comparison. */
  static final String TARGET = SERVICE + ":8080";
  private static final String CLIENT_SERVICE = "load";
  /** The server application's own address: the inbound listener forwards to loopback. */
  private static final String APP_HOST = "127.0.0.1";

  private final Path dir;
  private final String inboundHost;
  private final int inboundPort;
  private final int appPort;
  private final Duration readyTimeout;
  private ControllerProcess controller;
  private String serverToken;
  private String clientToken;

  private MeshTlsPath(Path dir, String inboundHost, int inboundPort, int appPort, Duration readyTimeout) {
    this.dir = dir;
    this.inboundHost = inboundHost;
    this.inboundPort = inboundPort;
    this.appPort = appPort;
    this.readyTimeout = readyTimeout;
  }

  /**
   * Starts the controller on a mesh file that maps {@value #SERVICE} to {@code inboundHost} and a
   * free port, and mints both bootstrap tokens; the server starts next, with {@link #server}.
   */
  static MeshTlsPath open(String inboundHost, Duration readyTimeout) throws Exception {
    Path dir = Files.createTempDirectory("jmesh-bench-mtls");
    MeshTlsPath path = new MeshTlsPath(dir, inboundHost, freePort(inboundHost), freePort(APP_HOST), readyTimeout);
    try {
      path.startControlPlane();
      return path;
    } catch (Exception | Error e) {
      path.close();
      throw e;
    }
  }

  private void startControlPlane() throws Exception {
    Path config = dir.resolve("mesh.yaml");
    ControllerProcess.write(config, """
        services:
          - name: %s
            ports: [8080]
            identities: [%s]
            endpoints:
              - {address: %s, port: %d}
        """.formatted(SERVICE, SERVER_IDENTITY, inboundHost, inboundPort));
    Path caDir = dir.resolve("ca");
    controller = new ControllerProcess(config, null).withArgs("--ca-dir", caDir.toString()).start();
    serverToken = ControllerProcess.token(caDir, "default", SERVICE, "1h");
    clientToken = ControllerProcess.token(caDir, "default", CLIENT_SERVICE, "1h");
  }

  @Override
  public String serverBind(String harnessHost) {
    return APP_HOST;
  }

  @Override
  public int serverPort() {
    return appPort;
  }

  @Override
  public void server(Jvm.Builder b) {
    b.withAgent()
        .env(controller.agentEnv())
        .env("JMESH_SERVICE", SERVICE)
        .env("JMESH_BOOTSTRAP_TOKEN", serverToken)
        .env("JMESH_INBOUND_ADDRESS", inboundHost)
        .env("JMESH_INBOUND_PORT", Integer.toString(inboundPort))
        .env("JMESH_APP_PORT", Integer.toString(appPort));
  }

  /** Waits, boundedly, for the server agent's inbound listener; READY alone does not imply it. */
  @Override
  public Scenario.Route route(Jvm server, String host, int port) throws Exception {
    String listening = "mesh inbound listener on " + inboundHost + ":" + inboundPort;
    long deadline = System.nanoTime() + readyTimeout.toNanos();
    while (server.lines().stream().noneMatch(l -> l.contains(listening))) {
      if (!server.isAlive() || System.nanoTime() > deadline) {
        throw new IllegalStateException("server agent: no '" + listening + "' within " + readyTimeout.toSeconds()
            + " s (expected: the agent's inbound listener); server output:\n" + server.output()
            + "\ncontroller output:\n" + controller.jvm().output());
      }
      Thread.sleep(100); // polling a real process's output: bounded by the deadline above
    }
    long controllerPid = controller.jvm().pid();
    return new Scenario.Route() {
      @Override
      public String url() {
        return URL;
      }

      @Override
      public void client(Jvm.Builder b) {
        b.withAgent()
            .env(controller.agentEnv())
            .env("JMESH_SERVICE", CLIENT_SERVICE)
            .env("JMESH_BOOTSTRAP_TOKEN", clientToken)
            // The server's agent has the admin endpoint's default port on this host; the load
            // client needs none (it would only log that the port is taken).
            .env("JMESH_ADMIN_PORT", "0");
      }

      @Override
      public List<Long> controlPlanePids() {
        return List.of(controllerPid);
      }
    };
  }

  @Override
  public void close() {
    if (controller != null) {
      controller.close();
    }
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      System.out.println("  (could not delete " + dir + ": " + e + ")");
    }
  }

  private static int freePort(String host) throws IOException {
    try (ServerSocket s = new ServerSocket()) {
      s.bind(new InetSocketAddress(InetAddress.getByName(host), 0));
      return s.getLocalPort();
    }
  }
}
