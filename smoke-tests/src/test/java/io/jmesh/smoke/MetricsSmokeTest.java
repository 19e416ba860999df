package io.jmesh.smoke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.jmesh.smoke.support.Jvm;
import io.jmesh.smoke.support.Ports;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client JVM with the real agent jar sends a known number of calls (each retried once, because
 * the server answers every other request with 503), and some to a destination without endpoints;
 * then the test scrapes the agent's admin endpoint over HTTP and checks the counts, the histogram
 * buckets and the other admin pages. Loopback only.
 */
class MetricsSmokeTest {
  private static final long START_MILLIS = 30_000;
  private static final long RUN_MILLIS = 120_000;
  private static final int CALLS = 12;
  private static final int REFUSED = 3;

  @TempDir Path dir;

  @Test
  void theAdminEndpointServesTheCallsMetricsReadinessConfigAndEndpoints() throws Exception {
    try (Jvm server =
        Jvm.builder("flaky")
            .main("io.jmesh.smoke.apps.HelloServer", "--name", "flaky", "--bind", "127.0.0.2", "--port", "0", "--fail-every", "2")
            .start()) {
      int port = server.awaitReady(START_MILLIS);
      Path config = dir.resolve("mesh.yaml");
      Files.writeString(
          config,
          String.join(
              "\n",
              "services:",
              "  - name: hello",
              "    ports: [8080]",
              "    endpoints:",
              "      - {address: 127.0.0.2, port: " + port + "}",
              // Every call is retried once: a budget that never runs dry keeps the count exact.
              "    policy: {retryBudget: {ratio: 10.0, minPerSecond: 1000, ttl: 10s}}",
              "    routes:",
              "      - name: api",
              "        backends: [{subset: {}, weight: 1}]",
              "        retry: {attempts: 3}",
              "  - name: nowhere",
              "    ports: [8080]",
              ""));
      int admin = Ports.unused();
      Jvm.Builder builder =
          Jvm.builder("metrics-client")
              .classPath(Jvm.appClassPath(null))
              .env("JMESH_CONFIG", config.toString())
              .env("JMESH_SERVICE", "client")
              .env("JMESH_ADMIN_PORT", String.valueOf(admin))
              .env("JMESH_ADMIN_ADDRESS", "127.0.0.1")
              .main(
                  "io.jmesh.smoke.apps.ClientApp",
                  "--client", "jdk",
                  "--url", "http://hello:8080/users/42",
                  "--count", String.valueOf(CALLS),
                  "--also-url", "http://nowhere:8080/x",
                  "--also-count", String.valueOf(REFUSED),
                  "--linger", "true")
              .withAgent();
      try (Jvm client = builder.start()) {
        String done = client.awaitLine(l -> l.startsWith("DONE "), RUN_MILLIS);
        // The refused calls fail in the application (no endpoint), the others succeed after a retry.
        assertThat(done).as(client.output()).isEqualTo("DONE ok=" + CALLS + " failed=" + REFUSED);
        String base = "http://127.0.0.1:" + admin;

        HttpResponse<String> live = get(base + "/live");
        assertThat(live.statusCode()).isEqualTo(200);
        // File mode without a token: ready once the agent has started, which it has (it meshed).
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(get(base + "/ready").statusCode()).isEqualTo(200));

        String metrics = get(base + "/metrics").body();
        String hello =
            "jmesh_destination_service=\"hello.default\",jmesh_route=\"api\",jmesh_source_service=\"client.default\"";
        assertThat(sample(metrics, "http_client_request_duration_seconds_count", "http_response_status_code=\"200\"", hello))
            .as(metrics)
            .isEqualTo(CALLS);
        assertThat(sample(metrics, "jmesh_client_retries_total", hello)).as(metrics).isEqualTo(CALLS);
        assertThat(sample(metrics, "http_client_request_duration_seconds_count", "error_type=\"no_endpoint\"",
                "jmesh_destination_service=\"nowhere.default\""))
            .as(metrics)
            .isEqualTo(REFUSED);
        // Histogram buckets exist, and no path or id became a label.
        assertThat(metrics).contains("http_client_request_duration_seconds_bucket{").contains("le=\"0.005\"").contains("le=\"+Inf\"");
        assertThat(metrics).doesNotContain("/users/42").contains("jmesh_config_info{version=");
        assertThat(sample(metrics, "http_client_active_requests", "jmesh_destination_service=\"hello.default\"")).isZero();

        HttpResponse<String> configPage = get(base + "/config");
        assertThat(configPage.statusCode()).isEqualTo(200);
        assertThat(configPage.headers().firstValue("Content-Type")).hasValue("application/json");
        assertThat(configPage.body()).startsWith("{\"version\":").contains("\"hello\"").contains("\"api\"");
        HttpResponse<String> endpoints = get(base + "/endpoints");
        assertThat(endpoints.statusCode()).isEqualTo(200);
        assertThat(endpoints.body())
            .contains("\"hello.default\":[{\"host\":\"127.0.0.2\",\"port\":" + port)
            .contains("\"state\":\"available\"")
            .contains("\"ewmaMillis\":")
            .contains("\"nowhere.default\":[]");
        assertThat(get(base + "/nothing").statusCode()).isEqualTo(404);

        client.send("bye"); // --linger: the client exits
        assertThat(client.awaitExit(RUN_MILLIS)).isZero();
      }
    }
  }

  @Test
  void aBusyAdminPortCostsOneWarningAndNothingElse() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"));
        Jvm client =
            Jvm.builder("busy-admin")
                .classPath(Jvm.appClassPath(null))
                .env("JMESH_ADMIN_PORT", String.valueOf(taken.getLocalPort()))
                .env("JMESH_ADMIN_ADDRESS", "127.0.0.1")
                .main("io.jmesh.smoke.apps.ClientApp", "--client", "jdk", "--url", "http://127.0.0.1:" + taken.getLocalPort() + "/", "--count", "0")
                .withAgent()
                .start()) {
      assertThat(client.awaitLine(l -> l.startsWith("DONE "), RUN_MILLIS)).isEqualTo("DONE ok=0 failed=0");
      assertThat(client.awaitExit(RUN_MILLIS)).isZero();
      List<String> warnings = client.lines().stream().filter(l -> l.contains("no admin endpoint")).toList();
      assertThat(warnings).as(client.output()).hasSize(1);
    }
  }

  /** The value of the one sample of {@code name} whose labels contain every fragment. */
  private static double sample(String exposition, String name, String... fragments) {
    Pattern line = Pattern.compile("^" + Pattern.quote(name) + "\\{([^}]*)\\} (\\S+)$", Pattern.MULTILINE);
    Matcher m = line.matcher(exposition);
    Double found = null;
    while (m.find()) {
      boolean all = true;
      for (String f : fragments) {
        all &= m.group(1).contains(f);
      }
      if (all) {
        assertThat(found).as("more than one %s with %s", name, List.of(fragments)).isNull();
        found = Double.parseDouble(m.group(2));
      }
    }
    assertThat(found).as("a sample of %s with %s", name, List.of(fragments)).isNotNull();
    return found;
  }

  private static HttpResponse<String> get(String url) throws Exception {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    return http.send(
        HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
