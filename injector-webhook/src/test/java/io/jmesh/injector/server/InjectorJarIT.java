package io.jmesh.injector.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/** The packaged jmesh-injector.jar as a real JVM: it serves, answers, and stops on SIGTERM. */
class InjectorJarIT {
  private static final Pattern SERVING = Pattern.compile("on https://[^:]+:(\\d+)/inject");

  @TempDir Path work;

  @Test
  void theJarServesAnAdmissionAndStopsOnSigterm() throws Exception {
    Path jar = Path.of("target/jmesh-injector.jar");
    assertThat(jar).as("built by the package phase").exists();
    TestCerts certs = new TestCerts("jmesh test ca");
    Path tlsDir = work.resolve("tls");
    Path log = work.resolve("jmesh-injector.log");
    certs.write(tlsDir, certs.leaf());
    Process process =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", jar.toString(),
                "--no-kubernetes",
                "--address", "127.0.0.1:0",
                "--tls-dir", tlsDir.toString(),
                "--agent-image", "ghcr.io/jmesh/agent:it")
            .redirectErrorStream(true)
            // A file, not a pipe: a pipe's reader races with the JDK draining it at exit.
            .redirectOutput(log.toFile())
            .start();
    try {
      int port = await().atMost(Duration.ofSeconds(60)).until(() -> port(lines(log)), p -> p > 0);
      ApiServerClient client = new ApiServerClient(certs.clientContext(), port, HttpClient.Version.HTTP_2);

      assertThat(client.get("/ready").statusCode()).isEqualTo(200);
      String review = Reviews.podCreate("uid-jar", "shop", "{\"jmesh.io/inject\":\"enabled\"}");
      JsonNode response = Reviews.response(client.post("/inject", review).body());
      assertThat(response.get("allowed").asBoolean()).isTrue();
      // The version comes from the jar's manifest.
      assertThat(Reviews.patched(review, response).at("/metadata/annotations/jmesh.io~1injected").asString())
          .isNotEqualTo("development")
          .isNotEmpty();
      await().atMost(Duration.ofSeconds(10)).until(() -> lines(log).stream().anyMatch(l -> l.contains("uid=uid-jar") && l.contains("outcome=injected")));
    } finally {
      process.destroy(); // SIGTERM: the shutdown hook closes the server
      assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
    }
    assertThat(process.exitValue()).isEqualTo(143);
    assertThat(lines(log)).anyMatch(l -> l.contains("jmesh injector: stopping"));
  }

  private static List<String> lines(Path log) throws java.io.IOException {
    return Files.readAllLines(log, StandardCharsets.UTF_8);
  }

  private static int port(List<String> lines) {
    for (String line : lines) {
      Matcher m = SERVING.matcher(line);
      if (m.find()) {
        return Integer.parseInt(m.group(1));
      }
    }
    return 0;
  }
}
