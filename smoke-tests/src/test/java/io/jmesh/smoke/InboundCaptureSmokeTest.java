package io.jmesh.smoke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.jmesh.smoke.apps.CaptureCaller;
import io.jmesh.smoke.apps.CaptureServers;
import io.jmesh.smoke.support.ControllerProcess;
import io.jmesh.smoke.support.Jvm;
import io.jmesh.smoke.support.Ports;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Inbound capture without iptables, on real servers started unmodified under the agent: one JVM
 * ({@link CaptureServers}) binds the JDK {@code HttpServer}, a Netty server on NIO and one on native
 * epoll (the Netty relocated in grpc-netty-shaded), an embedded Jetty 12, a Netty 4.2 server on
 * native epoll under its own names, and a gRPC server, all to {@code 0.0.0.0}; the
 * workload's address is 127.0.0.2. A meshed caller (a real agent JVM with its own identity from
 * the controller's CA) reaches each port on 127.0.0.2 through the mesh listener, and each
 * application sees the caller's proven identity; plaintext with a forged {@code x-jmesh-client-id}
 * to 127.0.0.2 is refused (strict); the applications still answer on 127.0.0.1; the agent's own
 * admin endpoint, bound on the workload address, is not captured.
 */
class InboundCaptureSmokeTest {
  private static final String CALLER_ID = "spiffe://cluster.local/ns/default/sa/web";
  /** The HTTP servers, then gRPC last (its caller is a gRPC channel, not a URL). */
  private static final String[] KINDS = {"jdk", "nio", "epoll", "jetty", "netty-epoll", "grpc"};
  private static final int HTTP = KINDS.length - 1;
  private final List<AutoCloseable> toClose = new ArrayList<>();

  @TempDir Path dir;

  @AfterEach
  void stopAll() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  @Test
  void theApplicationsOwnPortsAreReachableFromOutsideOnlyThroughTheMeshListener() throws Exception {
    int[] port = new int[KINDS.length];
    StringBuilder services = new StringBuilder("services:\n");
    for (int i = 0; i < KINDS.length; i++) {
      port[i] = Ports.unused();
      services.append("""
            - name: cap-%s
              ports: [8080]
              identities: [spiffe://cluster.local/ns/default/sa/capture]
              endpoints:
                - {address: 127.0.0.2, port: %d}
          """.formatted(KINDS[i], port[i]));
    }
    int admin = Ports.unused();
    Path caDir = dir.resolve("ca");
    Path config = dir.resolve("mesh.yaml");
    ControllerProcess.write(config, services.toString());
    ControllerProcess controller =
        new ControllerProcess(config, null).withArgs("--ca-dir", caDir.toString()).start();
    toClose.add(controller);

    Jvm servers = start(Jvm.builder("capture")
        .classPath(Jvm.appClassPath("grpc") + java.io.File.pathSeparator + libs("capture"))
        .withAgent()
        .env(controller.agentEnv()) // the controller and its trust anchors file
        .env("JMESH_SERVICE", "capture")
        .env("JMESH_BOOTSTRAP_TOKEN", ControllerProcess.token(caDir, "default", "capture", "1h"))
        .env("JMESH_INBOUND_WORKLOAD_ADDRESSES", "127.0.0.2")
        // The agent's own listener on a workload address: capture must leave it there.
        .env("JMESH_ADMIN_ADDRESS", "127.0.0.2")
        .env("JMESH_ADMIN_PORT", Integer.toString(admin))
        .main(CaptureServers.class.getName(), "--bind", "0.0.0.0", "--jdk", "" + port[0], "--nio", "" + port[1],
            "--epoll", "" + port[2], "--jetty", "" + port[3], "--netty-epoll", "" + port[4], "--grpc", "" + port[5]));
    servers.awaitLine(l -> l.equals("READY"), 60_000);
    for (int p : port) {
      assertThat(servers.lines())
          .as("the capture of port %d", p)
          .anyMatch(l -> l.contains("inbound capture: the application's port " + p
              + " is on 127.0.0.1; mesh inbound listener on 127.0.0.2:" + p + " (strict mTLS)"));
    }

    // 1. A meshed caller reaches every port on the workload's address, over mTLS, and each
    //    application sees who called.
    StringBuilder urls = new StringBuilder();
    for (int i = 0; i < HTTP; i++) {
      urls.append(i == 0 ? "" : ",").append("http://cap-").append(KINDS[i]).append(":8080/");
    }
    Jvm caller = start(Jvm.builder("web")
        .classPath(Jvm.appClassPath("grpc"))
        .withAgent()
        .env(controller.agentEnv()) // the controller and its trust anchors file
        .env("JMESH_SERVICE", "web")
        .env("JMESH_BOOTSTRAP_TOKEN", ControllerProcess.token(caDir, "default", "web", "1h"))
        .env("JMESH_ADMIN_PORT", "0")
        // Each call is the first to its service: on a loaded machine its routes may take longer
        // than the default 2 s to arrive (seen at load average 9).
        .env("JMESH_XDS_FIRST_USE_TIMEOUT_MS", "20000")
        .main(CaptureCaller.class.getName(), "--urls", urls.toString(), "--grpc", "cap-grpc:8080"));
    caller.awaitLine(l -> l.equals("DONE"), 60_000);
    for (String kind : KINDS) {
      assertThat(caller.lines())
          .as("the %s server, through the mesh", kind)
          .anyMatch(l -> l.startsWith("RESULT ") && l.endsWith("server=" + kind + " client=" + CALLER_ID));
    }
    assertThat(caller.lines()).noneMatch(l -> l.startsWith("ERROR "));

    HttpClient plain =
        HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2)).build();
    for (int i = 0; i < KINDS.length; i++) {
      // 2. Plaintext to the workload's address, forging the caller's identity: refused (strict).
      URI workload = URI.create("http://127.0.0.2:" + port[i] + "/");
      assertThatThrownBy(() -> plain.send(forged(workload), HttpResponse.BodyHandlers.ofString()))
          .as("plaintext to %s", workload)
          .isInstanceOf(IOException.class);
    }
    for (int i = 0; i < HTTP; i++) {
      // 3. The application still answers on loopback, which no other host can reach.
      HttpResponse<String> local =
          plain.send(forged(URI.create("http://127.0.0.1:" + port[i] + "/")), HttpResponse.BodyHandlers.ofString());
      assertThat(local.body()).isEqualTo("server=" + KINDS[i] + " client=spiffe://cluster.local/ns/default/sa/forged");
    }

    // 4. The agent's admin endpoint stays where the agent bound it: plain HTTP on 127.0.0.2.
    await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100)).untilAsserted(() ->
        assertThat(plain.send(HttpRequest.newBuilder(URI.create("http://127.0.0.2:" + admin + "/live")).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode())
            .isEqualTo(200));
    assertThat(servers.lines()).noneMatch(l -> l.contains("mesh inbound listener on 127.0.0.2:" + admin));
  }

  /** The jars of a library set, for a class path. */
  private static String libs(String set) throws IOException {
    Path dir = Path.of(System.getProperty("jmesh.apps.libs", "smoke-tests/target/libs")).resolve(set);
    try (java.util.stream.Stream<Path> jars = java.nio.file.Files.list(dir)) {
      return jars.map(Path::toString).filter(p -> p.endsWith(".jar")).sorted()
          .collect(java.util.stream.Collectors.joining(java.io.File.pathSeparator));
    }
  }

  private static HttpRequest forged(URI uri) {
    return HttpRequest.newBuilder(uri)
        .header("x-jmesh-client-id", "spiffe://cluster.local/ns/default/sa/forged")
        .timeout(Duration.ofSeconds(5))
        .build();
  }

  private Jvm start(Jvm.Builder builder) throws Exception {
    Jvm jvm = builder.start();
    toClose.add(jvm);
    return jvm;
  }
}
