package io.jmesh.smoke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.jmesh.smoke.apps.HelloServer;
import io.jmesh.smoke.support.ControllerProcess;
import io.jmesh.smoke.support.Jvm;
import io.jmesh.smoke.support.Ports;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The controller's port over TLS with real JVMs: an agent verifies the controller with the trust
 * anchors it was given out of band and presents its workload certificate on its xDS stream (the
 * controller shows whose stream it is); a controller of another CA on the same address is refused,
 * once in the log, and the agent keeps the last good config; an agent given neither anchors nor
 * the insecure switch refuses to connect and says which setting is missing.
 */
class ControllerTlsSmokeTest {
  private static final String HELLO_ID = "spiffe://cluster.local/ns/default/sa/hello";
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final Pattern VERSION = Pattern.compile("\"version\": ?\"([^\"]+)\"");
  private static final String MESH =
      """
      services:
        - name: hello
          ports: [8080]
          endpoints:
            - {address: 127.0.0.1, port: 18080}
      """;

  private final List<AutoCloseable> toClose = new ArrayList<>();

  @TempDir Path dir;

  @AfterEach
  void stop() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  @Test
  void theAgentTrustsOnlyTheAnchorsItWasGivenAndKeepsItsConfigWhenRefusing() throws Exception {
    Path configA = dir.resolve("a.yaml");
    String versionA = ControllerProcess.write(configA, MESH);
    ControllerProcess a =
        new ControllerProcess(configA, null).withArgs("--ca-dir", dir.resolve("ca-a").toString()).start();
    toClose.add(a);
    String token = ControllerProcess.token(dir.resolve("ca-a"), "default", "hello", "1h");

    // 1. Anchors of A: the agent gets its identity, and its stream presents it (mTLS).
    int adminPort = Ports.unused(); // fixed, so that it can be asked after A is gone
    String agentAdmin = "127.0.0.1:" + adminPort;
    Jvm hello = start(Jvm.builder("hello")
        .withAgent()
        .jvmArg("-Djmesh.admin.port=" + adminPort)
        .env(a.agentEnv())
        .env("JMESH_SERVICE", "hello")
        .env("JMESH_BOOTSTRAP_TOKEN", token)
        .env("JMESH_XDS_RECONNECT_MAX_MS", "250")
        .env("JMESH_LOG_LEVEL", "debug")
        .main(HelloServer.class.getName(), "--name", "hello", "--bind", "127.0.0.1", "--port", "0"));
    AtomicReference<String> agents = new AtomicReference<>("");
    awaitTrue(() -> {
      agents.set(a.get("/agents").body());
      return agents.get().contains("\"identity\": \"" + HELLO_ID + "\"");
    }, "controller A shows the agent's stream with its identity; last /agents: " + agents);
    awaitTrue(() -> versionA.equals(agentVersion(agentAdmin)), "the agent applied A's version " + versionA);

    // 2. A stops; B, with a CA of its own, takes A's address. The agent refuses it.
    a.kill();
    Path configB = dir.resolve("b.yaml");
    ControllerProcess.write(configB, MESH.replace("18080", "18099"));
    ControllerProcess b = new ControllerProcess(configB, null)
        .withArgs("--ca-dir", dir.resolve("ca-b").toString())
        .onXdsPortOf(a)
        .start();
    toClose.add(b);
    awaitOutput(hello, 3, l -> l.contains("TLS handshake refused: ")
        && l.contains("(expected: a controller certificate that chains to the trust anchors in "
            + a.trustAnchorsFile() + " and names the host dialled)"),
        "three refused handshakes with B");
    // Logged once at WARN per series of reconnects; the rest at DEBUG.
    assertThat(hello.lines().stream()
            .filter(l -> l.contains(" jmesh WARN ") && l.contains("TLS handshake refused: ")))
        .hasSize(1);
    assertThat(agentVersion(agentAdmin)).isEqualTo(versionA);
    assertThat(b.get("/agents").body()).contains("\"agentCount\": 0");

    // 3. Neither anchors nor the insecure switch: no connection, and the setting is named.
    Jvm bare = start(Jvm.builder("bare")
        .withAgent()
        .jvmArg("-Djmesh.admin.port=0")
        .env("JMESH_CONTROLLER", b.xdsAddress())
        .env("JMESH_SERVICE", "bare")
        .main(HelloServer.class.getName(), "--name", "bare", "--bind", "127.0.0.1", "--port", "0"));
    awaitOutput(bare, 1, l -> l.contains(" jmesh WARN controller mode refused: JMESH_CONTROLLER is set"
            + " but no trust anchors verify the controller (expected: JMESH_TRUST_ANCHORS_FILE"),
        "the agent names the missing setting");
    awaitOutput(bare, 1, l -> l.startsWith("READY "), "the application still starts");
    assertThat(b.get("/agents").body()).contains("\"agentCount\": 0");
  }

  private Jvm start(Jvm.Builder builder) throws Exception {
    Jvm jvm = builder.start();
    toClose.add(jvm);
    return jvm;
  }

  /** The version the agent's admin endpoint says it runs, or null. */
  private static String agentVersion(String adminAddress) throws Exception {
    HttpResponse<String> r = HTTP.send(
        HttpRequest.newBuilder(URI.create("http://" + adminAddress + "/config"))
            .timeout(Duration.ofSeconds(5)).build(),
        HttpResponse.BodyHandlers.ofString());
    Matcher m = VERSION.matcher(r.body());
    return r.statusCode() == 200 && m.find() ? m.group(1) : null;
  }

  private static void awaitTrue(java.util.concurrent.Callable<Boolean> condition, String what) {
    try {
      await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(condition);
    } catch (ConditionTimeoutException e) {
      throw new AssertionError("not within 30 s: " + what, e);
    }
  }

  private static void awaitOutput(Jvm jvm, int count, Predicate<String> match, String what) {
    try {
      await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> {
        long found = jvm.lines().stream().filter(match).count();
        if (found < count && !jvm.isAlive()) {
          throw new IllegalStateException("the JVM exited before: " + what);
        }
        return found >= count;
      });
    } catch (ConditionTimeoutException e) {
      throw new AssertionError("not within 30 s: " + what + "; output:\n" + jvm.output(), e);
    }
  }
}
