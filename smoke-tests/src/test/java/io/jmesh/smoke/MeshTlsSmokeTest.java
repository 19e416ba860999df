package io.jmesh.smoke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.jmesh.smoke.apps.HelloServer;
import io.jmesh.smoke.apps.TrafficClient;
import io.jmesh.smoke.bench.TcpTable;
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
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mesh TLS between real JVMs, all with the agent in controller mode: a controller that is also
 * the CA (leaves of 6 s, so that every agent renews every few seconds), two HelloServers (plain
 * HTTP/1.1 applications, made slow so that requests overlap) behind their agents' inbound
 * listeners, and a TrafficClient (HTTP/1.1, {@code java.net.http}) calling {@code http://hello:8080/}.
 *
 * <ol>
 *   <li>Calls reach both servers over mTLS: each server sees the client's SPIFFE identity.
 *   <li>Between the client JVM and each server JVM there is one TCP connection, carrying the
 *       overlapping requests as HTTP/2 streams.
 *   <li>Through at least three renewals on every side, no call fails.
 *   <li>Plaintext to an inbound port is refused.
 * </ol>
 */
class MeshTlsSmokeTest {
  private static final int RPS = 40;
  private static final String CLIENT_ID = "spiffe://cluster.local/ns/default/sa/web";
  private final List<AutoCloseable> toClose = new ArrayList<>();

  @TempDir Path dir;

  @AfterEach
  void stopAll() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  @Test
  void http11ApplicationsTalkMutualTlsOverOneHttp2ConnectionThroughRenewals() throws Exception {
    Path caDir = dir.resolve("ca");
    int meshA = Ports.unused();
    int meshB = Ports.unused();
    int appA = Ports.unused();
    int appB = Ports.unused();
    int adminA = Ports.unused(); // hello-a's admin endpoint; the other agents need none
    Path config = dir.resolve("mesh.yaml");
    ControllerProcess.write(config, """
        services:
          - name: hello
            ports: [8080]
            identities: [spiffe://cluster.local/ns/default/sa/hello]
            endpoints:
              - {address: 127.0.0.2, port: %d}
              - {address: 127.0.0.3, port: %d}
        """.formatted(meshA, meshB));
    ControllerProcess controller =
        new ControllerProcess(config, null)
            .withArgs("--ca-dir", caDir.toString(), "--max-leaf-lifetime", "6s")
            .start();
    toClose.add(controller);
    String helloToken = ControllerProcess.token(caDir, "default", "hello", "1h");
    String webToken = ControllerProcess.token(caDir, "default", "web", "1h");

    for (String[] s : new String[][] {{"a", "127.0.0.2", "" + meshA, "" + appA}, {"b", "127.0.0.3", "" + meshB, "" + appB}}) {
      Jvm server = start(Jvm.builder("hello-" + s[0])
          .withAgent()
          .env(controller.agentEnv())
          .env("JMESH_SERVICE", "hello")
          .env("JMESH_BOOTSTRAP_TOKEN", helloToken)
          .env("JMESH_INBOUND_ADDRESS", s[1])
          .env("JMESH_INBOUND_PORT", s[2])
          .env("JMESH_APP_PORT", s[3])
          .env("JMESH_ADMIN_ADDRESS", "127.0.0.1")
          .env("JMESH_ADMIN_PORT", s[0].equals("a") ? Integer.toString(adminA) : "0")
          .main(HelloServer.class.getName(), "--name", s[0], "--bind", "127.0.0.1", "--port", s[3],
              "--delay-ms", "200"));
      // The agent's line and the application's READY come in either order.
      await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() ->
          server.lines().stream().anyMatch(l -> l.contains("mesh inbound listener on " + s[1] + ":" + s[2]))
              && server.lines().stream().anyMatch(l -> l.startsWith("READY ")));
    }
    Jvm client = start(Jvm.builder("web")
        .withAgent()
        .env(controller.agentEnv())
        .env("JMESH_SERVICE", "web")
        .env("JMESH_BOOTSTRAP_TOKEN", webToken)
        .env("JMESH_ADMIN_PORT", "0")
        .main(TrafficClient.class.getName(), "--url", "http://hello:8080/",
            "--rps", Integer.toString(RPS), "--seconds", "120", "--timeout-ms", "5000"));

    // 1. Both servers answer, over mTLS (their agents accept nothing else).
    ControllerSmokeTest.awaitSeconds(client, 2, s -> s.count("a") > 0 && s.count("b") > 0, 60_000);
    double issuedBefore = issued(controller);

    // 2. One open connection from the client to each server's mesh port, however many requests
    //    overlap (200 ms each at 40/s: about 4 in flight per server). The first burst of calls
    //    may open a few at once before HTTP/2 is agreed; the client keeps one and closes the rest.
    ControllerSmokeTest.awaitSeconds(client, 3, s -> s.count("a") > 0 && s.count("b") > 0, 20_000);
    await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
      assertThat(TcpTable.establishedPeerPorts(meshA)).as("open connections to hello-a's mesh port").hasSize(1);
      assertThat(TcpTable.establishedPeerPorts(meshB)).as("open connections to hello-b's mesh port").hasSize(1);
    });
    java.util.Set<Integer> connectionA = TcpTable.establishedPeerPorts(meshA);
    ControllerSmokeTest.awaitSeconds(client, 3, s -> s.count("a") > 0 && s.count("b") > 0, 20_000);
    assertThat(TcpTable.establishedPeerPorts(meshA)).as("the same connection keeps carrying calls").isEqualTo(connectionA);

    // 3. Renewals everywhere (three agents, a leaf every 3 s): keep going, with no error, until
    //    the CA has issued at least 9 more certificates.
    //    Each poll reads one more second of traffic, which must have no error.
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() -> {
      ControllerSmokeTest.awaitSeconds(client, 1, s -> s.count("a") + s.count("b") > 0, 20_000);
      return issued(controller) >= issuedBefore + 9;
    });
    ControllerSmokeTest.awaitSeconds(client, 2, s -> s.count("a") > 0 && s.count("b") > 0, 20_000);
    assertThat(client.lines()).anyMatch(l -> l.contains("identity renewed: " + CLIENT_ID));

    // The servers saw who called: the inbound side passes the proven identity on.
    assertThat(client.lines()).anyMatch(l -> l.startsWith("FIRST ") && l.contains(" client=" + CLIENT_ID));

    // 4. Plaintext to a strict mesh port: refused.
    HttpClient plain = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    assertThatThrownBy(() -> plain.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.2:" + meshA + "/")).timeout(Duration.ofSeconds(5)).build(),
            HttpResponse.BodyHandlers.ofString()))
        .isInstanceOf(IOException.class);

    // 5. hello-a's metrics: the refusal counted by reason, the calls it served by the caller's
    //    proven identity, and when its own certificate expires.
    await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
      String metrics = plain.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminA + "/metrics")).build(),
              HttpResponse.BodyHandlers.ofString())
          .body();
      assertThat(sample(metrics, "jmesh_tls_refusals_total", "reason=\"plaintext\"")).isGreaterThanOrEqualTo(1);
      assertThat(sample(metrics, "http_server_request_duration_seconds_count", "jmesh_peer_identity=\"" + CLIENT_ID + "\""))
          .isGreaterThan(0);
      assertThat(sample(metrics, "jmesh_identity_certificate_expiration_timestamp_seconds", "jmesh_peer_identity=\"spiffe://cluster.local/ns/default/sa/hello\""))
          .isGreaterThan(System.currentTimeMillis() / 1000.0);
    });
  }

  /** The sum of the samples of {@code name} whose labels contain {@code label}; -1 for none. */
  private static double sample(String exposition, String name, String label) {
    double sum = -1;
    for (String line : exposition.split("\n")) {
      if (line.startsWith(name + "{") && line.contains(label)) {
        sum = Math.max(sum, 0) + Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return sum;
  }

  private double issued(ControllerProcess controller) throws Exception {
    String body = controller.get("/metrics").body();
    Matcher m = Pattern.compile("(?m)^jmesh_ca_certificates_issued_total(?:\\{[^}]*})? ([0-9.E+]+)$").matcher(body);
    return m.find() ? Double.parseDouble(m.group(1)) : 0;
  }

  private Jvm start(Jvm.Builder builder) throws Exception {
    Jvm jvm = builder.start();
    toClose.add(jvm);
    return jvm;
  }
}
