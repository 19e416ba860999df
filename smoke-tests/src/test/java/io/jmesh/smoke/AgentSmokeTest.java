package io.jmesh.smoke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.jmesh.smoke.support.Jvm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Real server JVMs, and a client JVM per case with the real agent jar, attached once with
 * {@code -javaagent} and once through {@code JAVA_TOOL_OPTIONS}, for every instrumented client:
 * the JDK HttpClient (sync and async), HttpURLConnection, and OkHttp 3, 4 and 5 (each bundled by
 * the application itself).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AgentSmokeTest {
  private static final long START_MILLIS = 30_000;
  private static final long RUN_MILLIS = 120_000;
  private static final int SPLIT_REQUESTS = 400;

  @TempDir static Path dir;

  private final List<Jvm> servers = new ArrayList<>();
  private Path config;
  private int directPort;
  private Jvm shadow; // a route's mirror: it prints each request it gets

  @BeforeAll
  void startServers() throws Exception {
    int v1a = startServer("v1-a", "v1", "127.0.0.2");
    int v1b = startServer("v1-b", "v1", "127.0.0.3");
    int v2a = startServer("v2-a", "v2", "127.0.0.4");
    directPort = startServer("direct", "none", "127.0.0.1");
    shadow =
        Jvm.builder("shadow")
            .main("io.jmesh.smoke.apps.HelloServer", "--name", "shadow", "--bind", "127.0.0.5", "--port", "0", "--log-requests", "true")
            .start();
    servers.add(shadow);
    int shadowPort = shadow.awaitReady(START_MILLIS);
    config = dir.resolve("mesh.yaml");
    Files.writeString(
        config,
        String.join(
            "\n",
            "services:",
            "  - name: hello",
            "    ports: [8080]",
            "    endpoints:",
            "      - {address: 127.0.0.2, port: " + v1a + ", labels: {version: v1}}",
            "      - {address: 127.0.0.3, port: " + v1b + ", labels: {version: v1}}",
            "      - {address: 127.0.0.4, port: " + v2a + ", labels: {version: v2}}",
            // Random within a subset, so that the even share of the two v1 instances is a
            // statistical fact to check; latency-aware balancing has its own tests.
            "    policy: {balancer: random}",
            "    routes:",
            "      - name: canary",
            "        matches:",
            "          - headers: [{name: x-canary, value: always}]",
            "        backends:",
            "          - {subset: {version: v2}, weight: 1}",
            "      - name: edited",
            "        matches: [{path: {prefix: /edited}}]",
            "        responseHeaders: {set: {x-edited: by-the-route}, remove: [X-Instance]}",
            "        backends:",
            "          - {subset: {version: v1}, weight: 1}",
            "      - name: mirrored",
            "        matches: [{path: {prefix: /mirrored}}]",
            "        mirror: {service: shadow}",
            "        backends:",
            "          - {subset: {version: v1}, weight: 1}",
            "      - name: split",
            "        backends:",
            "          - {subset: {version: v1}, weight: 90}",
            "          - {subset: {version: v2}, weight: 10}",
            "  - name: shadow",
            "    ports: [8080]",
            "    endpoints:",
            "      - {address: 127.0.0.5, port: " + shadowPort + "}",
            // A mesh destination whose name also resolves, to 127.0.0.1 where 'direct' listens:
            // when the agent fails on purpose, the call goes on unmeshed and lands there.
            "  - name: localhost",
            "    ports: [" + directPort + "]",
            "    endpoints:",
            "      - {address: 127.0.0.2, port: " + v1a + ", labels: {version: v1}}",
            ""));
  }

  private int startServer(String name, String version, String ip) throws Exception {
    Jvm server =
        Jvm.builder(name)
            .main("io.jmesh.smoke.apps.HelloServer", "--name", name, "--version", version, "--bind", ip, "--port", "0")
            .start();
    servers.add(server);
    return server.awaitReady(START_MILLIS);
  }

  @AfterAll
  void stopServers() {
    servers.forEach(Jvm::close);
  }

  static Stream<Arguments> clients() {
    List<Arguments> out = new ArrayList<>();
    for (String attach : List.of("javaagent", "JAVA_TOOL_OPTIONS")) {
      out.add(Arguments.of("jdk", null, false, attach));
      out.add(Arguments.of("jdk", null, true, attach));
      out.add(Arguments.of("urlconnection", null, false, attach));
      out.add(Arguments.of("okhttp", "okhttp3", false, attach));
      out.add(Arguments.of("okhttp", "okhttp4", false, attach));
      out.add(Arguments.of("okhttp", "okhttp5", false, attach));
    }
    return out.stream();
  }

  private Jvm.Builder client(String client, String libs, boolean async, String attach, String... args) {
    List<String> all = new ArrayList<>(List.of("--client", client, "--async", String.valueOf(async)));
    all.addAll(List.of(args));
    Jvm.Builder b =
        Jvm.builder("client-" + client + "-" + libs + "-" + attach)
            .classPath(Jvm.appClassPath(libs))
            .env("JMESH_CONFIG", config.toString())
            .main("io.jmesh.smoke.apps.ClientApp", all.toArray(new String[0]));
    return attach.equals("javaagent") ? b.withAgent() : b.withAgentInToolOptions();
  }

  /** Runs a client to completion and returns its RESULT lines; fails on any ERROR line. */
  private static List<String> run(Jvm.Builder builder, int expected) throws Exception {
    try (Jvm jvm = builder.start()) {
      String done = jvm.awaitLine(l -> l.startsWith("DONE "), RUN_MILLIS);
      assertThat(done).as(jvm.output()).isEqualTo("DONE ok=" + expected + " failed=0");
      assertThat(jvm.awaitExit(RUN_MILLIS)).isZero();
      List<String> results =
          jvm.lines().stream().filter(l -> l.startsWith("RESULT ")).collect(Collectors.toList());
      assertThat(results).hasSize(expected);
      return results;
    }
  }

  private static Map<String, Integer> byInstance(List<String> results) {
    Map<String, Integer> counts = new TreeMap<>();
    for (String r : results) {
      String instance = r.replaceAll(".*instance=(\\S+).*", "$1");
      counts.merge(instance, 1, Integer::sum);
    }
    return counts;
  }

  @ParameterizedTest(name = "{0} {1} async={2} via {3}")
  @MethodSource("clients")
  void splitsNinetyTenWithTheLogicalHost(String client, String libs, boolean async, String attach) throws Exception {
    List<String> results =
        run(client(client, libs, async, attach, "--url", "http://hello:8080/split", "--count", String.valueOf(SPLIT_REQUESTS)), SPLIT_REQUESTS);

    // Every request reached an endpoint with the authority the application wrote.
    assertThat(results).allSatisfy(r -> assertThat(r).startsWith("RESULT 200 ").contains(" host=hello:8080 ").contains(" path=/split "));
    Map<String, Integer> counts = byInstance(results);
    assertThat(counts.keySet()).containsOnly("v1-a", "v1-b", "v2-a");
    // v2 takes 10 %: binomial(400, 0.1) has mean 40 and sd 6; five sd either side never flakes.
    assertThat(counts.getOrDefault("v2-a", 0)).as("v2 share of %s", counts).isBetween(10, 70);
    // The two v1 instances share the rest: mean 180 each, sd about 10.
    assertThat(counts.getOrDefault("v1-a", 0)).as("v1-a of %s", counts).isBetween(120, 240);
    assertThat(counts.getOrDefault("v1-b", 0)).as("v1-b of %s", counts).isBetween(120, 240);
    if (client.equals("okhttp")) {
      // The application sees its own request, not the endpoint's address.
      assertThat(results).allSatisfy(r -> assertThat(r).endsWith("request-url=http://hello:8080/split"));
    }
  }

  @ParameterizedTest(name = "{0} {1} async={2} via {3}")
  @MethodSource("clients")
  void routesByHeaderToTheCanary(String client, String libs, boolean async, String attach) throws Exception {
    List<String> results =
        run(client(client, libs, async, attach, "--url", "http://hello.default.svc.cluster.local:8080/c", "--count", "30", "--header", "x-canary:always"), 30);

    assertThat(byInstance(results)).containsOnlyKeys("v2-a");
    assertThat(results).allSatisfy(r -> assertThat(r).contains(" host=hello.default.svc.cluster.local:8080 ").contains(" canary=always"));
  }

  @ParameterizedTest(name = "{0} {1} async={2} via {3}")
  @MethodSource("clients")
  void appliesTheRoutesResponseHeaderEdits(String client, String libs, boolean async, String attach) throws Exception {
    List<String> results =
        run(client(client, libs, async, attach, "--url", "http://hello:8080/edited", "--count", "5", "--also-url", "http://hello:8080/split", "--also-count", "5"), 10);

    // The packaged agent edits the head the application sees on the route that has edits only.
    assertThat(results.subList(0, 5)).allSatisfy(r -> assertThat(r).contains(" path=/edited ").contains(" served-by=null edited=by-the-route"));
    assertThat(results.subList(5, 10)).allSatisfy(r -> assertThat(r).contains(" path=/split ").matches(".* served-by=v[12]-[ab] edited=null.*"));
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({"jdk, , false", "urlconnection, , false", "okhttp, okhttp4, false"})
  void aRoutesMirrorGetsACopyOfEachRequestFromThePackagedAgent(String client, String libs, boolean async) throws Exception {
    String path = "/mirrored/" + client;
    // --linger: the copies are fire-and-forget, and a JVM that exits at once may take the last
    // ones with it, as a proxy's would; the client stays up until the copies are seen.
    try (Jvm jvm = client(client, libs, async, "javaagent", "--url", "http://hello:8080" + path, "--count", "5", "--linger", "true").start()) {
      String done = jvm.awaitLine(l -> l.startsWith("DONE "), RUN_MILLIS);
      assertThat(done).as(jvm.output()).isEqualTo("DONE ok=5 failed=0");
      List<String> results = jvm.lines().stream().filter(l -> l.startsWith("RESULT ")).toList();

      // The application's answers come from hello's v1 endpoints; the agent's runtime sent a
      // copy of each to the mirror, with Envoy's -shadow host.
      assertThat(byInstance(results).keySet()).as(jvm.output()).isSubsetOf("v1-a", "v1-b");
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
          assertThat(shadow.lines().stream().filter(l -> l.startsWith("REQUEST GET " + path + " ")))
              .as(jvm.output())
              .hasSize(5)
              .allSatisfy(l -> assertThat(l).endsWith(" host=hello-shadow:8080")));
    }
  }

  @ParameterizedTest(name = "{0} {1} async={2} via {3}")
  @MethodSource("clients")
  void leavesNonMeshHostsUntouched(String client, String libs, boolean async, String attach) throws Exception {
    List<String> results =
        run(client(client, libs, async, attach, "--url", "http://127.0.0.1:" + directPort + "/plain", "--count", "5"), 5);

    assertThat(byInstance(results)).containsOnlyKeys("direct");
    assertThat(results).allSatisfy(r -> assertThat(r).contains(" host=127.0.0.1:" + directPort + " "));
  }

  @ParameterizedTest(name = "{0} {1} async={2} via {3}")
  @MethodSource("clients")
  void faultInsideTheAgentLeavesCallsSucceeding(String client, String libs, boolean async, String attach) throws Exception {
    String url = "http://localhost:" + directPort + "/fault";
    // Without a fault, 'localhost' is meshed and goes to v1-a.
    assertThat(byInstance(run(client(client, libs, async, attach, "--url", url, "--count", "3"), 3))).containsOnlyKeys("v1-a");

    // With every agent hook failing on purpose, the same calls succeed, unmeshed.
    Jvm.Builder faulty = client(client, libs, async, attach, "--url", url, "--count", "5").env("JMESH_DEBUG_INJECT_FAULT", "all");
    try (Jvm jvm = faulty.start()) {
      assertThat(jvm.awaitLine(l -> l.startsWith("DONE "), RUN_MILLIS)).as(jvm.output()).isEqualTo("DONE ok=5 failed=0");
      jvm.awaitExit(RUN_MILLIS);
      assertThat(byInstance(jvm.lines().stream().filter(l -> l.startsWith("RESULT ")).collect(Collectors.toList())))
          .containsOnlyKeys("direct");
      // Logged once, with the place, then only counted.
      long logged = jvm.lines().stream().filter(l -> l.contains("failed; the application's call goes on unmeshed")).count();
      assertThat(logged).as(jvm.output()).isEqualTo(1);
      assertThat(jvm.output()).contains("fault injected at");
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("okhttpVersions")
  void applicationKeepsItsOwnLibraries(String libs, String okhttpJar) throws Exception {
    try (Jvm jvm =
        client("okhttp", libs, false, "javaagent", "--url", "http://hello:8080/", "--count", "3", "--print-libs", "true").start()) {
      assertThat(jvm.awaitLine(l -> l.startsWith("DONE "), RUN_MILLIS)).as(jvm.output()).isEqualTo("DONE ok=3 failed=0");
      jvm.awaitExit(RUN_MILLIS);
      assertThat(jvm.lines()).contains("LIB okhttp3.OkHttpClient loader=app jar=" + okhttpJar);
      if (libs.equals("okhttp3")) {
        // The agent carries SnakeYAML 2 and ByteBuddy 1.18, relocated: the application's own
        // older versions, and its Netty and protobuf, stay the ones it sees.
        assertThat(jvm.lines())
            .contains(
                "LIB org.yaml.snakeyaml.Yaml loader=app jar=snakeyaml-1.33.jar",
                "LIB net.bytebuddy.ByteBuddy loader=app jar=byte-buddy-1.14.18.jar",
                "LIB io.netty.util.Version loader=app jar=netty-common-4.1.118.Final.jar",
                "LIB com.google.protobuf.Message loader=app jar=protobuf-java-3.25.5.jar");
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("jdkClients")
  void attachedToARunningJvmMeshesClientsAlreadyInUse(String client) throws Exception {
    Jvm.Builder app =
        Jvm.builder("late-" + client)
            .env("JMESH_CONFIG", config.toString())
            .main(
                "io.jmesh.smoke.apps.ClientApp", "--client", client, "--url", "http://hello:8080/late", "--count", "40",
                "--warmup-url", "http://127.0.0.1:" + directPort + "/warmup", "--wait-stdin", "true");
    try (Jvm jvm = app.start()) {
      // The client classes are loaded and used before the agent exists.
      jvm.awaitLine(l -> l.equals("WAITING"), RUN_MILLIS);
      assertThat(jvm.lines()).anyMatch(l -> l.startsWith("WARMUP 200 instance=direct"));

      com.sun.tools.attach.VirtualMachine vm = com.sun.tools.attach.VirtualMachine.attach(String.valueOf(jvm.pid()));
      try {
        vm.loadAgent(Jvm.agentJar().toString());
      } finally {
        vm.detach();
      }
      jvm.awaitLine(l -> l.contains("agent started (attached)"), RUN_MILLIS);
      jvm.send("go");

      assertThat(jvm.awaitLine(l -> l.startsWith("DONE "), RUN_MILLIS)).as(jvm.output()).isEqualTo("DONE ok=40 failed=0");
      List<String> results = jvm.lines().stream().filter(l -> l.startsWith("RESULT ")).collect(Collectors.toList());
      assertThat(byInstance(results).keySet()).as(jvm.output()).isSubsetOf("v1-a", "v1-b", "v2-a").contains("v1-a", "v1-b");
    }
  }

  static Stream<String> jdkClients() {
    return Stream.of("jdk", "urlconnection");
  }

  static Stream<Arguments> okhttpVersions() {
    return Stream.of(
        Arguments.of("okhttp3", "okhttp-3.14.9.jar"),
        Arguments.of("okhttp4", "okhttp-4.12.1.jar"),
        Arguments.of("okhttp5", "okhttp-jvm-5.5.1.jar"));
  }
}
