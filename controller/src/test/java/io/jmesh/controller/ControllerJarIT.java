package io.jmesh.controller;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Value;
import io.jmesh.controller.ca.BootstrapTokens;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged {@code target/jmesh-controller.jar} starts with {@code java -jar} (making a new
 * certificate authority), serves its admin API, and stops on SIGTERM; a bad flag is refused with
 * the flag, the value and the form; {@code token} prints a bootstrap token. Proves the shaded jar
 * is complete (gRPC's service files, Main-Class, Bouncy Castle), not what it serves: that is
 * {@link XdsServerIT}'s and {@link CaServiceIT}'s job.
 */
class ControllerJarIT {
  private static final Path JAR = Path.of("target", "jmesh-controller.jar");
  private static final Pattern ADMIN = Pattern.compile("admin on http://127\\.0\\.0\\.1:(\\d+)");

  @TempDir Path dir;
  private Process process;

  @AfterEach
  void kill() throws Exception {
    if (process != null && process.isAlive()) {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void runsFromTheJarAndStopsOnSigterm() throws Exception {
    Path config = dir.resolve("mesh.yaml");
    Files.writeString(
        config,
        "services:\n  - name: hello\n    ports: [8080]\n    endpoints:\n"
            + "      - {address: 127.0.0.2, port: 18081}\n");
    BlockingQueue<String> lines =
        start(
            "--config", config.toString(),
            "--xds-address", "127.0.0.1:0",
            "--admin-address", "127.0.0.1:0",
            "--poll-ms", "100",
            // A new CA: Bouncy Castle's jars are signed and the shaded jar drops their
            // signatures; making the anchor and issuer proves its classes still load and run.
            "--ca-dir", dir.resolve("ca").toString());

    int adminPort = -1;
    List<String> seen = new ArrayList<>();
    while (adminPort < 0) {
      String line = lines.poll(30, TimeUnit.SECONDS);
      assertThat(line).as("the start line within 30 s; output so far: %s", seen).isNotNull();
      seen.add(line);
      Matcher m = ADMIN.matcher(line);
      if (m.find()) {
        adminPort = Integer.parseInt(m.group(1));
      }
    }
    assertThat(seen).noneMatch(l -> l.startsWith("SLF4J:"));
    // TLS by default, and the anchors agents need are written where operators find them.
    Path anchors = dir.resolve("ca").resolve("trust-anchors.pem");
    String tls = null;
    while (tls == null) { // logged right after the start line
      String line = lines.poll(30, TimeUnit.SECONDS);
      assertThat(line).as("the TLS line within 30 s; output so far: %s", seen).isNotNull();
      seen.add(line);
      if (line.contains("TLS on the xDS port 127.0.0.1:")) {
        tls = line;
      }
    }
    assertThat(tls).contains("agents verify it with the trust anchors in " + anchors);
    assertThat(io.jmesh.controller.ca.Csrs.certificate(Files.readString(anchors)))
        .isEqualTo(
            io.jmesh.controller.ca.Csrs.certificate(
                Files.readString(dir.resolve("ca").resolve("anchor.pem"))));

    AdminClient admin = new AdminClient(adminPort);
    assertThat(admin.get("/live").statusCode()).isEqualTo(200);
    assertThat(admin.body("/metrics")).contains("jmesh_xds_streams 0.0");
    assertThat(JsonPath.string(JsonPath.parse(admin.body("/snapshot")), "source"))
        .isEqualTo("file " + config);
    Value ca = JsonPath.parse(admin.body("/ca"));
    assertThat(JsonPath.at(ca, "enabled").getBoolValue()).isTrue();
    assertThat(JsonPath.string(ca, "anchors", "0", "subject"))
        .startsWith("CN=jmesh trust anchor cluster.local ");

    // SIGTERM: the shutdown hook closes the controller and the JVM exits.
    process.destroy();
    assertThat(process.waitFor(20, TimeUnit.SECONDS)).as("exited within 20 s").isTrue();
  }

  @Test
  void plaintextOnlyWhenAskedForAndThenLoudly() throws Exception {
    BlockingQueue<String> lines =
        start(
            "--config", dir.resolve("mesh.yaml").toString(),
            "--xds-address", "127.0.0.1:0",
            "--admin-address", "127.0.0.1:0",
            "--insecure-plaintext");
    List<String> seen = new ArrayList<>();
    String warning = null;
    while (warning == null) {
      String line = lines.poll(30, TimeUnit.SECONDS);
      assertThat(line).as("the warning within 30 s; output so far: %s", seen).isNotNull();
      seen.add(line);
      if (line.contains("INSECURE")) {
        warning = line;
      }
    }
    assertThat(warning)
        .contains(" WARNING ")
        .contains("serves PLAINTEXT (--insecure-plaintext): anyone on the path to the controller"
            + " can read and rewrite every agent's routes and endpoints, read bootstrap tokens,"
            + " and swap the trust anchors the CA hands out to impersonate every service");
    process.destroy();
    assertThat(process.waitFor(20, TimeUnit.SECONDS)).as("exited within 20 s").isTrue();
  }

  @Test
  void aBadFlagIsRefusedWithItsValue() throws Exception {
    BlockingQueue<String> lines =
        start("--config", "mesh.yaml", "--xds-address", "18000");
    assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue()).isEqualTo(2);
    List<String> output = new ArrayList<>();
    lines.drainTo(output);
    assertThat(output)
        .anyMatch(
            l ->
                l.contains(
                    "--xds-address: \"18000\" (expected: host:port, for example 127.0.0.1:18000"));
  }

  @Test
  void printsABootstrapTokenFromTheJar() throws Exception {
    Path ca = dir.resolve("ca");
    BootstrapTokens tokens = BootstrapTokens.loadOrCreate(ca, "cluster.local", Clock.systemUTC());
    BlockingQueue<String> lines =
        start("token", "--ca-dir", ca.toString(), "--service-account", "hello", "--ttl", "1h");
    assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
    List<String> output = new ArrayList<>();
    lines.drainTo(output);
    assertThat(process.exitValue()).as("output: %s", output).isZero();
    assertThat(output).hasSize(1);
    assertThat(tokens.authenticate(output.get(0)).toString())
        .isEqualTo("spiffe://cluster.local/ns/default/sa/hello");
  }

  /** Starts the jar; its stdout and stderr, merged, arrive line by line in the queue. */
  private BlockingQueue<String> start(String... args) throws Exception {
    assertThat(JAR).as("the packaged jar (built by mvn package)").exists();
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-jar");
    command.add(JAR.toString());
    command.addAll(List.of(args));
    process = new ProcessBuilder(command).redirectErrorStream(true).start();
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader in =
                  new BufferedReader(
                      new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                  lines.add(line);
                }
              } catch (java.io.IOException e) {
                lines.add("(output closed: " + e + ")");
              }
            },
            "controller-output");
    reader.setDaemon(true);
    reader.start();
    return lines;
  }
}
