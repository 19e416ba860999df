package io.jmesh.smoke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.jmesh.smoke.apps.HelloServer;
import io.jmesh.smoke.support.ControllerProcess;
import io.jmesh.smoke.support.Jvm;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mesh identity with real JVMs: a controller JVM that is also the CA ({@code --ca-dir}, leaves of
 * at most 6 s so that renewals happen within the test), a bootstrap token from the real jar's
 * {@code token} subcommand, and HelloServer JVMs with the agent and {@code JMESH_CONTROLLER}.
 *
 * <ol>
 *   <li>An agent with the token gets its identity {@code spiffe://cluster.local/ns/default/sa/hello};
 *       the controller counts the certificate.
 *   <li>It renews, again and again, before each leaf ends.
 *   <li>An agent with a forged token is refused ({@code unauthenticated}), logs why, and gives up
 *       waiting for a certificate after {@code JMESH_IDENTITY_WAIT_MS}: mesh TLS fails closed, the
 *       application starts and serves.
 *   <li>No private key reached a disk the agents could write to.
 * </ol>
 *
 * <p>No sleeps: every wait is a bounded poll of a real process's output or the admin API.
 */
class IdentitySmokeTest {
  private static final String HELLO_ID = "spiffe://cluster.local/ns/default/sa/hello";
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private final List<AutoCloseable> toClose = new ArrayList<>();

  @TempDir Path dir;

  @AfterEach
  void stopAll() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  @Test
  void agentsGetAndRenewTheirIdentityAndABadTokenFailsClosedForTlsButNotForTheApplication()
      throws Exception {
    // Files written from here on are checked for private keys at the end; a second of margin for
    // file systems that store modification times coarsely.
    FileTime testStart = FileTime.from(Instant.now().minusSeconds(1));
    Path caDir = dir.resolve("ca"); // holds the CA's own keys: never scanned below
    Path agentHome = Files.createDirectories(dir.resolve("agent-home"));
    Path agentTmp = Files.createDirectories(dir.resolve("agent-tmp"));
    Path config = dir.resolve("mesh.yaml");
    ControllerProcess.write(config, """
        services:
          - name: hello
            ports: [8080]
            endpoints:
              - {address: 127.0.0.1, port: 18080}
        """);
    // The controller takes leaves as short as 1 s; 6 s makes a renewal every 3 s (half of
    // what is left of a leaf backdated by a minute).
    ControllerProcess controller =
        new ControllerProcess(config, null)
            .withArgs("--ca-dir", caDir.toString(), "--max-leaf-lifetime", "6s")
            .start();
    toClose.add(controller);
    String token = ControllerProcess.token(caDir, "default", "hello", "1h");

    // 1. The agent with a token gets its identity, and the CA counts it.
    Jvm hello = start(agent("hello", controller, agentHome, agentTmp)
        .env("JMESH_BOOTSTRAP_TOKEN", token)
        .main(HelloServer.class.getName(), "--name", "hello", "--bind", "127.0.0.1", "--port", "0"));
    awaitOutput(hello, l -> l.contains(" jmesh INFO identity: " + HELLO_ID + " (serial "),
        Duration.ofSeconds(30), "the agent logs its identity");
    awaitOutput(hello, l -> l.contains(" jmesh INFO agent started") && l.contains("identity=" + HELLO_ID),
        Duration.ofSeconds(30), "the agent started with its identity");
    awaitMetric(controller, "jmesh_ca_certificates_issued_total", n -> n >= 1, Duration.ofSeconds(10));

    // 2. Renewals before each 6 s leaf ends.
    awaitMetric(controller, "jmesh_ca_certificates_issued_total", n -> n >= 3, Duration.ofSeconds(30));
    awaitOutput(hello, l -> l.contains(" jmesh INFO identity renewed: " + HELLO_ID + " (serial "),
        Duration.ofSeconds(10), "the agent logs a renewal");
    assertThat(hello.output()).doesNotContain(token); // a credential: never in a log line

    // 3. A forged token: refused by the CA, logged by the agent with the reason; the
    //    application does not wait past JMESH_IDENTITY_WAIT_MS and serves.
    String forged = "jmesh1.eyJucyI6ImRlZmF1bHQiLCJzYSI6ImludHJ1ZGVyIn0.bm90LWEtc2lnbmF0dXJl";
    Jvm intruder = start(agent("intruder", controller, agentHome, agentTmp)
        .env("JMESH_BOOTSTRAP_TOKEN", forged)
        .env("JMESH_IDENTITY_WAIT_MS", "1000")
        .main(HelloServer.class.getName(), "--name", "intruder", "--bind", "127.0.0.1", "--port", "0"));
    awaitMetric(controller, "jmesh_ca_requests_refused_total{reason=\"unauthenticated\"}", n -> n >= 1,
        Duration.ofSeconds(30));
    awaitOutput(intruder,
        l -> l.contains(" jmesh WARN identity spiffe://cluster.local/ns/default/sa/intruder: certificate request to "
            + controller.xdsAddress() + " failed (attempt 1): CA " + controller.xdsAddress() + ": UNAUTHENTICATED: "),
        Duration.ofSeconds(30), "the agent logs the refusal with its reason");
    awaitOutput(intruder,
        l -> l.contains(" jmesh WARN identity spiffe://cluster.local/ns/default/sa/intruder: no certificate within 1000 ms")
            && l.contains("mesh TLS refuses connections until a certificate arrives"),
        Duration.ofSeconds(30), "the agent stops holding the application and says mesh TLS is closed");
    awaitOutput(intruder, l -> l.contains(" jmesh INFO agent started"), Duration.ofSeconds(30),
        "the agent finished starting without an identity");
    int port = readyPort(intruder);
    HttpResponse<String> answer = HTTP.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/")).timeout(Duration.ofSeconds(5)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(answer.statusCode()).as("the application serves: %s", answer.body()).isEqualTo(200);
    assertThat(answer.body()).contains("intruder");
    assertThat(intruder.output()).doesNotContain(forged);

    // 4. Keys live in memory only: nothing the agents could write holds one.
    hello.close();
    intruder.close();
    List<Path> keyFiles = new ArrayList<>();
    keyFiles.addAll(filesWithPrivateKeys(agentHome, FileTime.fromMillis(0), null));
    keyFiles.addAll(filesWithPrivateKeys(agentTmp, FileTime.fromMillis(0), null));
    keyFiles.addAll(filesWithPrivateKeys(Path.of(System.getProperty("java.io.tmpdir")), testStart, dir));
    assertThat(keyFiles).as("files holding a private key").isEmpty();
  }

  /** A HelloServer JVM with the agent in controller mode, in its own working and temp directories. */
  private static Jvm.Builder agent(String name, ControllerProcess controller, Path home, Path tmp) {
    return Jvm.builder(name)
        .withAgent()
        .directory(home)
        .jvmArg("-Djava.io.tmpdir=" + tmp)
        .env(controller.agentEnv())
        .env("JMESH_SERVICE", name);
  }

  private Jvm start(Jvm.Builder builder) throws IOException {
    Jvm jvm = builder.start();
    toClose.add(jvm);
    return jvm;
  }

  /**
   * Waits, boundedly, for a line of {@code jvm}'s output, in whatever order it came: the agent
   * starts beside the application, so its lines and the application's interleave.
   */
  private static void awaitOutput(Jvm jvm, Predicate<String> match, Duration atMost, String what) {
    try {
      await()
          .atMost(atMost)
          .pollInterval(Duration.ofMillis(100))
          .until(() -> {
            boolean found = jvm.lines().stream().anyMatch(match);
            if (!found && !jvm.isAlive()) {
              throw new IllegalStateException("the JVM exited before: " + what);
            }
            return found;
          });
    } catch (ConditionTimeoutException e) {
      throw new AssertionError("not within " + atMost + ": " + what + "; output:\n" + jvm.output(), e);
    }
  }

  private static int readyPort(Jvm jvm) {
    awaitOutput(jvm, l -> l.startsWith("READY "), Duration.ofSeconds(30), "the application listens");
    String line = jvm.lines().stream().filter(l -> l.startsWith("READY ")).findFirst().orElseThrow();
    return Integer.parseInt(line.substring("READY ".length()).trim());
  }

  /** Polls the controller's {@code /metrics} until the sample {@code series} satisfies {@code ok}. */
  private static void awaitMetric(
      ControllerProcess controller, String series, Predicate<Double> ok, Duration atMost) {
    AtomicReference<String> body = new AtomicReference<>("");
    try {
      await()
          .atMost(atMost)
          .pollInterval(Duration.ofMillis(200))
          .until(() -> {
            body.set(controller.get("/metrics").body());
            return sample(body.get(), series).filter(ok).isPresent();
          });
    } catch (ConditionTimeoutException e) {
      throw new AssertionError("not within " + atMost + ": " + series + " as expected; it is "
          + sample(body.get(), series).map(String::valueOf).orElse("absent")
          + "\ncontroller output:\n" + controller.jvm().output(), e);
    }
  }

  /** The value of one Prometheus sample, {@code <series> <value>}. */
  static Optional<Double> sample(String metrics, String series) {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(metrics);
    return m.find() ? Optional.of(Double.parseDouble(m.group(1))) : Optional.empty();
  }

  /**
   * Regular files under {@code root} changed since {@code since} that hold a PEM private key,
   * skipping {@code exclude}. Bounded: 4 levels deep, files up to 1 MiB, 20,000 files read at
   * most; what cannot be read is skipped (the system temp directory is shared with other users).
   */
  private static List<Path> filesWithPrivateKeys(Path root, FileTime since, Path exclude) throws IOException {
    List<Path> found = new ArrayList<>();
    if (!Files.isDirectory(root)) {
      return found;
    }
    Path excluded = exclude == null ? null : exclude.toAbsolutePath().normalize();
    int[] read = {0};
    Files.walkFileTree(root.toAbsolutePath().normalize(), Set.of(), 4, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes a) {
        // Not a workload's key: a controller's CA directory (its own keys, by design) and the
        // benchmark harness's throwaway CAs, which other processes on this machine may be writing.
        boolean notWorkloads =
            Files.exists(d.resolve("anchor.pem"))
                || d.getFileName() != null && (d.getFileName().toString().startsWith("jmesh-bench") || d.getFileName().toString().startsWith("jmesh-sidecar-pair"));
        return excluded != null && d.startsWith(excluded) || notWorkloads
            ? FileVisitResult.SKIP_SUBTREE
            : FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path p, BasicFileAttributes a) {
        if (!a.isRegularFile() || !isRecentAndSmall(a, since)) {
          return FileVisitResult.CONTINUE;
        }
        if (++read[0] > 20_000) {
          return FileVisitResult.TERMINATE;
        }
        try {
          if (new String(Files.readAllBytes(p), StandardCharsets.ISO_8859_1).contains("PRIVATE KEY")) {
            found.add(p);
          }
        } catch (IOException | SecurityException e) {
          // Another user's file, or one deleted meanwhile: not the agents'.
        }
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFileFailed(Path p, IOException e) {
        return FileVisitResult.CONTINUE; // unreadable: not the agents'
      }
    });
    return found;
  }

  private static boolean isRecentAndSmall(BasicFileAttributes a, FileTime since) {
    return a.lastModifiedTime().compareTo(since) >= 0 && a.size() <= 1 << 20;
  }
}
