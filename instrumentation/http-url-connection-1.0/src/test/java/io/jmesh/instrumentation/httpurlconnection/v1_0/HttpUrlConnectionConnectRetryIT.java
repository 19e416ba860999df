package io.jmesh.instrumentation.httpurlconnection.v1_0;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.jmesh.agent.tooling.Agent;
import io.jmesh.instrumentation.testing.LoopbackServer;
import io.jmesh.runtime.config.MeshConfigParser;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The one retry this client allows: a refused connect runs {@code HttpClient.New} again on another
 * endpoint. The suite's connect-failure test needs every kind of retry switched on, so it is
 * shown here on its own, with the agent attached as in the suite. It uses GETs: the runtime
 * resends a connect failure only for a replayable body, and a body written through {@code
 * getOutputStream()} is admitted as not replayable.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HttpUrlConnectionConnectRetryIT {
  private LoopbackServer up;

  @BeforeAll
  void start() throws Exception {
    up = new LoopbackServer("up", "127.0.0.3");
    await().atMost(Duration.ofSeconds(30)).until(() -> Agent.context() != null);
  }

  @AfterAll
  void stop() {
    up.close();
  }

  @Test
  void aRefusedConnectMovesToAnotherEndpoint() throws Exception {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.5"))) {
      closedPort = s.getLocalPort();
    }
    // Round robin offers the closed endpoint to every other request; a high failure threshold
    // keeps it from being ejected, so that each of those requests needs the retry.
    Agent.context()
        .runtime()
        .update(
            MeshConfigParser.parse(
                "test.yaml",
                String.join(
                        "\n",
                        "services:",
                        "  - name: down",
                        "    ports: [8080]",
                        "    endpoints:",
                        "      - {address: 127.0.0.5, port: " + closedPort + "}",
                        "      - {address: 127.0.0.3, port: " + up.port() + "}",
                        "    policy: {balancer: round-robin, failureAccrual: {consecutiveFailures: 1000, minPenalty: 1s, maxPenalty: 1m, jitter: 0}}",
                        "    routes:",
                        "      - name: api",
                        "        backends: [{subset: {}, weight: 1}]")
                    + "\n",
                "default"));

    int before = up.requests();
    for (int i = 0; i < 10; i++) {
      HttpURLConnection c =
          (HttpURLConnection) URI.create("http://down:8080/get").toURL().openConnection();
      c.setConnectTimeout(5000);
      c.setReadTimeout(10000);
      assertThat(c.getResponseCode()).isEqualTo(200);
      try (InputStream in = c.getInputStream()) {
        assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).contains("instance=up ");
      }
    }

    // Nothing reached the closed endpoint, so each request arrived exactly once.
    assertThat(up.requests() - before).isEqualTo(10);
  }
}
