package io.jmesh.instrumentation.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.jmesh.agent.tooling.Agent;
import io.jmesh.runtime.MeshRuntime;
import io.jmesh.runtime.config.MeshConfigParser;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The conformance suite every HTTP client instrumentation runs, in the test JVM, with the agent
 * attached in development mode ({@code -javaagent:} the bare bootstrap jar; the agent's classes
 * come from the test class path) and real servers on 127.0.0.2–4. A client module supplies how to
 * send one request and switches off, with {@link Options}, what its client cannot do, saying why.
 *
 * <p>The mesh config is swapped per test through the runtime's {@code update}, as file mode or the
 * controller would.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class AbstractMeshHttpClientTest {
  /** One request as the application would make it. */
  public record Request(String method, URI uri, Map<String, String> headers) {}

  /** What the application got back. */
  public record Response(int status, String body) {
    /** The instance named in the body. */
    public String instance() {
      return body.replaceAll("(?s).*instance=(\\S+).*", "$1");
    }
  }

  /** What a client can do; each switch says why it is off in the subclass. */
  public record Options(boolean picksPerRequest) {
    public static Options all() {
      return new Options(true);
    }
  }

  /** Sends one request with the client under test, as an application would. */
  protected abstract Response send(Request request) throws Exception;

  protected Options options() {
    return Options.all();
  }

  private final List<LoopbackServer> servers = new ArrayList<>();
  private LoopbackServer v1a;
  private LoopbackServer v1b;
  private LoopbackServer v2a;
  private LoopbackServer outside;

  @BeforeAll
  void startServers() throws Exception {
    v1a = server("v1-a", "127.0.0.2");
    v1b = server("v1-b", "127.0.0.3");
    v2a = server("v2-a", "127.0.0.4");
    outside = server("outside", "127.0.0.1");
    // The agent starts in the background; its runtime is there once it is ready.
    await().atMost(Duration.ofSeconds(30)).until(() -> Agent.context() != null);
  }

  private LoopbackServer server(String name, String ip) throws Exception {
    LoopbackServer s = new LoopbackServer(name, ip);
    servers.add(s);
    return s;
  }

  @AfterAll
  void stopServers() {
    servers.forEach(LoopbackServer::close);
  }

  @BeforeEach
  void splitNinetyTen() throws Exception {
    mesh(
        "services:",
        "  - name: hello",
        "    ports: [8080]",
        "    endpoints:",
        "      - {address: 127.0.0.2, port: " + v1a.port() + ", labels: {version: v1}}",
        "      - {address: 127.0.0.3, port: " + v1b.port() + ", labels: {version: v1}}",
        "      - {address: 127.0.0.4, port: " + v2a.port() + ", labels: {version: v2}}",
        "    routes:",
        "      - name: canary",
        "        matches:",
        "          - headers: [{name: x-canary, value: always}]",
        "        backends:",
        "          - {subset: {version: v2}, weight: 1}",
        "      - name: split",
        "        backends:",
        "          - {subset: {version: v1}, weight: 90}",
        "          - {subset: {version: v2}, weight: 10}",
        "  - name: empty",
        "    ports: [8080]",
        "    endpoints: []");
  }

  /** Puts a mesh config in force, as a file reload would. */
  protected static void mesh(String... yamlLines) throws Exception {
    MeshRuntime runtime = Agent.context().runtime();
    runtime.update(MeshConfigParser.parse("test.yaml", String.join("\n", yamlLines) + "\n", "default"));
  }

  private Map<String, Integer> sendMany(String url, int count, Map<String, String> headers) throws Exception {
    Map<String, Integer> counts = new TreeMap<>();
    for (int i = 0; i < count; i++) {
      Response r = send(new Request("GET", URI.create(url), headers));
      assertThat(r.status()).as(r.body()).isEqualTo(200);
      counts.merge(r.instance(), 1, Integer::sum);
    }
    return counts;
  }

  @Test
  void splitsNinetyTenAcrossVersions() throws Exception {
    Map<String, Integer> counts = sendMany("http://hello:8080/split", 400, Map.of());

    // binomial(400, 0.1): mean 40, sd 6; five sd either side.
    assertThat(counts.getOrDefault("v2-a", 0)).as("%s", counts).isBetween(10, 70);
    if (options().picksPerRequest()) {
      assertThat(counts.getOrDefault("v1-a", 0)).as("%s", counts).isBetween(120, 240);
      assertThat(counts.getOrDefault("v1-b", 0)).as("%s", counts).isBetween(120, 240);
    }
  }

  @Test
  void keepsTheLogicalAuthorityInTheHostHeader() throws Exception {
    Response r = send(new Request("GET", URI.create("http://hello.default:8080/where"), Map.of()));

    assertThat(r.body()).contains(" host=hello.default:8080 ").contains(" path=/where ");
  }

  @Test
  void routesByHeaderToTheCanary() throws Exception {
    assertThat(sendMany("http://hello:8080/c", 20, Map.of("x-canary", "always"))).containsOnlyKeys("v2-a");
  }

  @Test
  void leavesHostsOutsideTheMeshUntouched() throws Exception {
    Response r = send(new Request("GET", URI.create("http://127.0.0.1:" + outside.port() + "/plain"), Map.of()));

    assertThat(r.instance()).isEqualTo("outside");
    assertThat(r.body()).contains(" host=127.0.0.1:" + outside.port() + " ");
  }

  @Test
  void appliesANewConfigToTheNextCall() throws Exception {
    mesh(
        "services:",
        "  - name: hello",
        "    ports: [8080]",
        "    endpoints:",
        "      - {address: 127.0.0.4, port: " + v2a.port() + ", labels: {version: v2}}");

    assertThat(sendMany("http://hello:8080/moved", 10, Map.of())).containsOnlyKeys("v2-a");
  }

  @Test
  void failsClearlyWhenADestinationHasNoEndpoint() {
    assertThatThrownBy(() -> send(new Request("GET", URI.create("http://empty:8080/"), Map.of())))
        .satisfies(
            t -> {
              StringBuilder messages = new StringBuilder();
              for (Throwable c = t; c != null; c = c.getCause()) {
                messages.append(c).append('\n');
              }
              assertThat(messages.toString()).contains("no endpoint available for empty.default:8080");
            });
  }
}
