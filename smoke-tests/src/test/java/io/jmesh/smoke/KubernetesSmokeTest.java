package io.jmesh.smoke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.jmesh.smoke.ControllerSmokeTest.Second;
import io.jmesh.smoke.apps.GrpcClientApp;
import io.jmesh.smoke.apps.GrpcHelloServer;
import io.jmesh.smoke.apps.HelloServer;
import io.jmesh.smoke.apps.TrafficClient;
import io.jmesh.smoke.support.ControllerProcess;
import io.jmesh.smoke.support.Jvm;
import io.jmesh.smoke.support.Ports;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Kubernetes control plane end to end: fabric8's mock API server (CRUD mode, plain HTTP on
 * loopback) runs in this JVM; two controller JVMs ({@code --kubernetes --ca-dir}, one CA
 * directory, TLS on the xDS port) watch it; HelloServer and GrpcHelloServer JVMs on 127.0.0.x are
 * the pods, reached only through EndpointSlices this test writes; the clients are unmodified
 * applications with the real agent, given both controllers' addresses ({@code
 * JMESH_CONTROLLER=a,b}) and namespace {@code shop}.
 *
 * <ol>
 *   <li>A GRPCRoute on {@code greeter} sends method {@code SayHelloStream} to {@code greeter-v2}
 *       and the rest to {@code greeter-v1}: an unmodified {@link GrpcClientApp} ({@code
 *       forTarget("greeter:9000")}) gets every unary answer from v1 and every stream from v2.
 *   <li>An HTTPRoute on Service {@code hello} splits across {@code hello-v1} (pod a) and {@code
 *       hello-v2} (pods c, d, e): 100/0 sends every call of a 50 req/s {@link TrafficClient} to a;
 *       0/100 moves it to c, d, e.
 *   <li>A rolling update of hello-v2's 3 replicas, one pod at a time as a Deployment with {@code
 *       maxUnavailable: 0} does it: the new pod's endpoint is added ready to a new slice, the old
 *       one turns terminating (ready false, serving true), leaves the agent, is removed from its
 *       slice and its server stops. The old slice is deleted at the end.
 *   <li>Deleting a pod and its endpoint removes it from the agent: the time from the slice
 *       update to its absence from the agent's {@code /endpoints} is measured and logged (the
 *       issue asks for 1 s; the poll's bound is wider, no test asserts a duration).
 *   <li>Controller replica A is killed: the agent moves to B, which pushes the next weight
 *       change; A restarts, B is killed, and the restarted A pushes the change after that.
 * </ol>
 *
 * <p>The traffic client's every second, through all of it, must have no failed call. No sleeps:
 * every wait is a bounded poll of a process's output or an admin port.
 */
@EnableKubernetesMockClient(crud = true, https = false)
class KubernetesSmokeTest {
  private static final String NS = "shop";
  private static final int RPS = 50;
  private static final String GRPC_LIBS = "grpc";
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
  // The mock server logs every request at INFO: thousands of lines of Lease renewals and
  // watches would bury the test's own. Held here, since java.util.logging keeps loggers weakly.
  private static final java.util.logging.Logger MOCK_SERVER_LOG =
      java.util.logging.Logger.getLogger("io.fabric8.mockwebserver");

  static {
    MOCK_SERVER_LOG.setLevel(java.util.logging.Level.WARNING);
  }

  KubernetesClient client; // set by the extension: a fresh CRUD server for this test

  private final List<AutoCloseable> toClose = new ArrayList<>();
  private final Map<String, Jvm> servers = new LinkedHashMap<>();

  @TempDir Path dir;

  @AfterEach
  void stopAll() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  @Test
  void routesEndpointsRolloutAndControllerLossKeepEveryCall() throws Exception {
    // The pods: HTTP on one port across 127.0.0.x (one slice holds one port for all its
    // endpoints), gRPC on ports of their own.
    Map<String, String> ip = new LinkedHashMap<>();
    String[] names = {"a", "c", "d", "e", "f", "g", "h"};
    for (int i = 0; i < names.length; i++) {
      ip.put(names[i], "127.0.0." + (i + 2));
    }
    int port = portFreeOn(ip.values());
    for (String name : names) {
      String version = name.equals("a") ? "v1" : "v2";
      servers.put(name, start(Jvm.builder("hello-" + name).main(HelloServer.class.getName(),
          "--name", name, "--version", version, "--bind", ip.get(name), "--port", Integer.toString(port))));
    }
    int grpcV1Port = Ports.unused();
    int grpcV2Port = Ports.unused();
    Jvm greeterV1 = start(Jvm.builder("greeter-v1").classPath(Jvm.appClassPath(GRPC_LIBS))
        .main(GrpcHelloServer.class.getName(), "--name", "g1", "--version", "v1",
            "--bind", "127.0.0.20", "--port", Integer.toString(grpcV1Port)));
    Jvm greeterV2 = start(Jvm.builder("greeter-v2").classPath(Jvm.appClassPath(GRPC_LIBS))
        .main(GrpcHelloServer.class.getName(), "--name", "g2", "--version", "v2",
            "--bind", "127.0.0.21", "--port", Integer.toString(grpcV2Port)));
    for (Jvm server : servers.values()) {
      server.awaitReady(60_000);
    }
    greeterV1.awaitReady(60_000);
    greeterV2.awaitReady(60_000);
    // The kubelet's readiness probe: no endpoint is ready before its server has answered once.
    for (String name : List.of("a", "c", "d", "e")) {
      probe(ip.get(name), port);
    }

    // What kubectl apply of the workloads would leave in the API server.
    apply(service("hello", "http", 8080), service("hello-v1", "http", 8080),
        service("hello-v2", "http", 8080), httpRoute(100, 0));
    for (String pod : List.of("a", "c", "d", "e")) {
      apply(pod(pod, pod.equals("a") ? "hello-v1" : "hello-v2"));
    }
    apply(slice("hello-v1-1", "hello-v1", "http", port, List.of(ready("a", ip))));
    apply(slice("hello-v2-old", "hello-v2", "http", port,
        List.of(ready("c", ip), ready("d", ip), ready("e", ip))));
    apply(service("greeter", "grpc", 9000), service("greeter-v1", "grpc", 9000),
        service("greeter-v2", "grpc", 9000), pod("g1", "greeter-v1"), pod("g2", "greeter-v2"),
        slice("greeter-v1-1", "greeter-v1", "grpc", grpcV1Port, List.of(new Ep("127.0.0.20", "g1", true, true, false))),
        slice("greeter-v2-1", "greeter-v2", "grpc", grpcV2Port, List.of(new Ep("127.0.0.21", "g2", true, true, false))),
        grpcRoute());

    // Two replicas on one CA directory: A makes it, B reads it, agents trust its anchors.
    Path caDir = dir.resolve("ca");
    ControllerProcess controllerA = controller("controller-a", caDir).start();
    ControllerProcess controllerB = controller("controller-b", caDir).start();
    Map<String, String> agentEnv = new LinkedHashMap<>();
    agentEnv.put("JMESH_CONTROLLER", controllerA.xdsAddress() + "," + controllerB.xdsAddress());
    agentEnv.put("JMESH_TRUST_ANCHORS_FILE", controllerA.trustAnchorsFile().toString());
    agentEnv.put("JMESH_NAMESPACE", NS);
    // Wait for the controller as long as a loaded machine needs (ControllerSmokeTest says why).
    agentEnv.put("JMESH_XDS_INITIAL_WAIT_MS", "60000");
    agentEnv.put("JMESH_XDS_FIRST_USE_TIMEOUT_MS", "60000");
    // A lost replica is left for the other within a second or two, not after a 30 s backoff.
    agentEnv.put("JMESH_XDS_RECONNECT_MAX_MS", "1000");

    // 1. The GRPCRoute's method match: one unmodified gRPC application per method, every unary
    // call to v1 and every stream to v2, none failed. (Before the HTTP traffic starts: two agent
    // JVMs starting take this small machine's CPU for seconds.)
    Jvm unary = start(grpcClient("grpc-unary", agentEnv, "unary"));
    Jvm stream = start(grpcClient("grpc-stream", agentEnv, "stream"));
    assertThat(byInstance(unary, 20)).as("unary calls by instance").isEqualTo(Map.of("g1", 20L));
    assertThat(byInstance(stream, 20)).as("stream calls by instance").isEqualTo(Map.of("g2", 20L));
    unary.awaitExit(30_000);
    stream.awaitExit(30_000);

    int adminPort = Ports.unused();
    Jvm traffic = start(Jvm.builder("web")
        .withAgent()
        .env(agentEnv)
        .env("JMESH_SERVICE", "web")
        .env("JMESH_ADMIN_PORT", Integer.toString(adminPort))
        .main(TrafficClient.class.getName(), "--url", "http://hello:8080/", "--rps", Integer.toString(RPS),
            // A bound, not the length of the run: the test ends it when it is done.
            "--seconds", "300",
            // The measured seconds begin with the routes loaded and a connection open.
            "--warmup-calls", "5",
            // A call fails when it errs or takes longer than this. Not the default 2 s: on two
            // cores shared with a dozen JVMs (and other builds) a cold server's first answer has
            // taken that long; a call to a dead endpoint still fails at once.
            "--timeout-ms", "5000"));
    Stats stats = new Stats(traffic);

    // 2. The HTTPRoute's 100/0: every call to hello-v1's pod a.
    stats.await("every call to a (hello-v1 100/0)", 2,
        s -> s.count("a") > 0 && othersThan(s, "a") == 0, Duration.ofSeconds(90));
    // The weight change moves all of it to hello-v2's three pods. Not asserted: that each of them
    // gets calls every second. Peak-EWMA keeps to the faster pods while the slower one's estimate
    // decays (a CI run saw d get 0-1 calls a second for 30 s); issue 25 makes the start fair.
    apply(httpRoute(0, 100));
    stats.await("every call to c, d, e (hello-v2 0/100)", 2,
        s -> s.count("c") + s.count("d") + s.count("e") > 0 && othersThan(s, "c", "d", "e") == 0,
        Duration.ofSeconds(30));

    // 3. A rolling update of hello-v2's three pods under 50 req/s: surge one new pod, let one old
    // pod terminate, remove it when it no longer gets calls, stop it; three times.
    List<String> oldPods = List.of("c", "d", "e");
    List<String> newPods = List.of("f", "g", "h");
    for (int i = 0; i < 3; i++) {
      String gone = oldPods.get(i);
      String fresh = newPods.get(i);
      apply(pod(fresh, "hello-v2"));
      probe(ip.get(fresh), port);
      apply(slice("hello-v2-new", "hello-v2", "http", port,
          newPods.subList(0, i + 1).stream().map(p -> ready(p, ip)).toList()));
      List<Ep> old = new ArrayList<>();
      old.add(new Ep(ip.get(gone), gone, false, true, true)); // terminating, still serving
      oldPods.subList(i + 1, 3).forEach(p -> old.add(ready(p, ip)));
      apply(slice("hello-v2-old", "hello-v2", "http", port, old));
      awaitAbsent(adminPort, ip.get(gone), ip.get(fresh), Duration.ofSeconds(30), System.nanoTime());
      stats.await(fresh + " serves and terminating " + gone + " gets no call", 1,
          s -> s.count(fresh) > 0 && s.count(gone) == 0, Duration.ofSeconds(30));
      // Gone: out of its slice, the pod deleted, the process ended.
      apply(slice("hello-v2-old", "hello-v2", "http", port, old.subList(1, old.size())));
      client.pods().inNamespace(NS).withName(gone).delete();
      servers.get(gone).close();
    }
    client.discovery().v1().endpointSlices().inNamespace(NS).withName("hello-v2-old").delete();
    // Every call goes to the new pods. Not asserted: that each of them gets calls every second.
    // Peak-EWMA prefers the faster endpoints, and a pod whose first calls were slow (a cold JVM on
    // a loaded machine) may get none until its estimate decays (seen: f=0 g=50 for 30 s).
    stats.await("every call to f, g, h after the rollout", 2,
        s -> s.count("f") + s.count("g") + s.count("h") > 0 && othersThan(s, "f", "g", "h") == 0,
        Duration.ofSeconds(30));

    // 4. Pod h is deleted: its endpoint leaves its slice, and the agent drops it.
    long before = System.nanoTime();
    apply(slice("hello-v2-new", "hello-v2", "http", port, List.of(ready("f", ip), ready("g", ip))));
    client.pods().inNamespace(NS).withName("h").delete();
    long removedMillis = awaitAbsent(adminPort, ip.get("h"), ip.get("f"), Duration.ofSeconds(10), before);
    System.out.println("KubernetesSmokeTest: the deleted endpoint " + ip.get("h")
        + " left the agent " + removedMillis + " ms after its EndpointSlice update (issue 18: 1 s)");
    stats.await("no call to h", 2,
        s -> s.count("h") == 0 && s.count("f") + s.count("g") > 0 && othersThan(s, "f", "g") == 0,
        Duration.ofSeconds(30));
    servers.get("h").close();

    // 5. Replica A dies (SIGKILL): the agent moves to B, which pushes the next change.
    controllerA.kill();
    apply(httpRoute(100, 0));
    stats.await("every call to a again, pushed by replica B", 2,
        s -> s.count("a") > 0 && othersThan(s, "a") == 0, Duration.ofSeconds(60));
    // A restarts on its address; B dies; the restarted A pushes the change after that.
    controllerA.start();
    controllerB.kill();
    apply(httpRoute(0, 100));
    stats.await("every call to f, g again, pushed by the restarted replica A", 2,
        s -> s.count("f") + s.count("g") > 0 && othersThan(s, "f", "g") == 0,
        Duration.ofSeconds(60));

    // Through all of it: not one failed call, in any second.
    List<String> seconds = stats.lines(0);
    assertThat(seconds).as("seconds of traffic").hasSizeGreaterThan(10);
    assertThat(seconds.stream().filter(l -> Second.parse(l).errors() > 0).toList())
        .as("seconds with failed calls\n%s", traffic.output())
        .isEmpty();
    System.out.println("KubernetesSmokeTest: " + seconds.size() + " seconds at " + RPS
        + " req/s, 0 failed calls; the agent's xDS lines:");
    traffic.lines().stream().filter(l -> l.contains("xDS")).forEach(System.out::println);
  }

  // --- processes ---------------------------------------------------------------------------

  private ControllerProcess controller(String name, Path caDir) throws IOException {
    Map<String, String> env = new LinkedHashMap<>();
    // fabric8's client reads these; the kube config and a service account are not looked for.
    env.put("KUBERNETES_MASTER", client.getMasterUrl().toString());
    env.put("KUBERNETES_AUTH_TRYKUBECONFIG", "false");
    env.put("KUBERNETES_AUTH_TRYSERVICEACCOUNT", "false");
    env.put("KUBERNETES_NAMESPACE", "jmesh-system");
    env.put("HOSTNAME", name); // each replica's name in the status Lease, as a pod's would be
    ControllerProcess controller = new ControllerProcess(null, null)
        .withArgs("--kubernetes", "--ca-dir", caDir.toString())
        .withEnv(env);
    toClose.add(controller);
    return controller;
  }

  private static Jvm.Builder grpcClient(String name, Map<String, String> agentEnv, String method) {
    return Jvm.builder(name)
        .classPath(Jvm.appClassPath(GRPC_LIBS))
        .withAgent()
        .env(agentEnv)
        .env("JMESH_SERVICE", name)
        .env("JMESH_ADMIN_PORT", "0")
        .main(GrpcClientApp.class.getName(), "--target", "greeter:9000", "--count", "20",
            "--method", method, "--rps", "20",
            // The first call waits for the routes and opens the connection in a JVM that has just
            // started beside a dozen others on a small machine: the application's deadline
            // allows for that.
            "--deadline-ms", "15000");
  }

  private Jvm start(Jvm.Builder builder) throws IOException {
    Jvm jvm = builder.start();
    toClose.add(jvm);
    return jvm;
  }

  /** The instances that answered {@code n} calls; any error line fails with the output. */
  private static Map<String, Long> byInstance(Jvm grpcClient, int n) throws InterruptedException {
    Map<String, Long> out = new TreeMap<>();
    for (int i = 0; i < n; i++) {
      String line = grpcClient.awaitLine(
          l -> l.startsWith("RESULT ") || l.startsWith("ERROR ") || l.startsWith("DONE "), 90_000);
      assertThat(line).as("call %d of %d\n%s", i + 1, n, grpcClient.output()).startsWith("RESULT ");
      String instance = line.substring(line.indexOf("instance=") + 9, line.indexOf(" version="));
      out.merge(instance, 1L, Long::sum);
    }
    return out;
  }

  /**
   * Polls the agent's {@code /endpoints} (bounded) until no endpoint has {@code host} while one
   * has {@code present}; returns the milliseconds from {@code since} (a {@link
   * System#nanoTime()}) to the poll that saw it.
   */
  private static long awaitAbsent(int adminPort, String host, String present, Duration atMost, long since) {
    String needle = "\"" + host + "\"";
    String[] last = {""};
    long[] seenAt = {0};
    try {
      await().atMost(atMost).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(10)).until(() -> {
        last[0] = HTTP.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/endpoints"))
                    .timeout(Duration.ofSeconds(2)).build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
        seenAt[0] = System.nanoTime();
        return last[0].contains("\"" + present + "\"") && !last[0].contains(needle);
      });
    } catch (ConditionTimeoutException e) {
      throw new AssertionError("endpoint " + host + " still in the agent's /endpoints after "
          + atMost.toSeconds() + " s (expected: gone):\n" + last[0], e);
    }
    return (seenAt[0] - since) / 1_000_000;
  }

  /** The traffic client's {@code STATS} lines, read from its output without consuming it. */
  private static final class Stats {
    private final Jvm client;

    Stats(Jvm client) {
      this.client = client;
    }

    List<String> lines(int from) {
      List<String> all = client.lines();
      return all.subList(Math.min(from, all.size()), all.size()).stream()
          .filter(l -> l.startsWith("STATS ")).toList();
    }

    /**
     * Waits (bounded) for {@code n} consecutive seconds, among those printed from now on, that
     * satisfy {@code ok}; fails at once on a second with a failed call.
     */
    void await(String what, int n, Predicate<Second> ok, Duration atMost) {
      int from = client.lines().size();
      String[] seen = {""};
      try {
        org.awaitility.Awaitility.await().atMost(atMost).pollInterval(Duration.ofMillis(200)).until(() -> {
          List<String> seconds = lines(from);
          seen[0] = String.join("\n", seconds);
          int run = 0;
          for (String line : seconds) {
            Second s = Second.parse(line);
            assertThat(s.errors()).as("failed calls in %s (while waiting for: %s)\n%s", line, what,
                client.output()).isZero();
            run = ok.test(s) ? run + 1 : 0;
            if (run >= n) {
              return true;
            }
          }
          if (!client.isAlive()) {
            throw new AssertionError("the traffic client exited:\n" + client.output());
          }
          return false;
        });
      } catch (ConditionTimeoutException e) {
        throw new AssertionError("not within " + atMost.toSeconds() + " s: " + what
            + "; seconds seen:\n" + seen[0] + "\nclient output:\n" + client.output(), e);
      }
    }
  }

  private static long othersThan(Second s, String... instances) {
    Set<String> allowed = Set.of(instances);
    return s.counts().entrySet().stream()
        .filter(e -> !allowed.contains(e.getKey()))
        .mapToLong(Map.Entry::getValue)
        .sum();
  }

  // --- Kubernetes objects -------------------------------------------------------------------

  private void apply(String... yamls) {
    for (String yaml : yamls) {
      client.resource(yaml).inNamespace(NS).createOr(r -> r.update());
    }
  }

  static String service(String name, String portName, int port) {
    return """
        apiVersion: v1
        kind: Service
        metadata: {name: %s, namespace: %s}
        spec: {ports: [{name: %s, port: %d, targetPort: %d}]}
        """.formatted(name, NS, portName, port, port);
  }

  static String pod(String name, String app) {
    return """
        apiVersion: v1
        kind: Pod
        metadata: {name: %s, namespace: %s, labels: {app: %s}}
        spec: {serviceAccountName: %s, containers: [{name: app, image: hello}]}
        """.formatted(name, NS, app, app);
  }

  /** One endpoint of a slice, with its KEP-1669 conditions. */
  record Ep(String address, String pod, boolean ready, boolean serving, boolean terminating) {}

  static Ep ready(String pod, Map<String, String> ip) {
    return new Ep(ip.get(pod), pod, true, true, false);
  }

  static String slice(String name, String service, String portName, int port, List<Ep> endpoints) {
    String eps = endpoints.stream()
        .map(e -> "- addresses: [%s]\n  conditions: {ready: %s, serving: %s, terminating: %s}\n"
                .formatted(e.address(), e.ready(), e.serving(), e.terminating())
            + "  targetRef: {kind: Pod, name: %s, namespace: %s}\n".formatted(e.pod(), NS))
        .collect(Collectors.joining());
    return """
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: %s, namespace: %s, labels: {kubernetes.io/service-name: %s}}
        addressType: IPv4
        ports: [{name: %s, port: %d}]
        endpoints:%s
        """.formatted(name, NS, service, portName, port, endpoints.isEmpty() ? " []" : "\n" + eps);
  }

  static String httpRoute(int v1Weight, int v2Weight) {
    return """
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: hello-split, namespace: %s}
        spec:
          parentRefs:
          - {group: "", kind: Service, name: hello, port: 8080}
          rules:
          - backendRefs:
            - {name: hello-v1, port: 8080, weight: %d}
            - {name: hello-v2, port: 8080, weight: %d}
        """.formatted(NS, v1Weight, v2Weight);
  }

  private static String grpcRoute() {
    return """
        apiVersion: gateway.networking.k8s.io/v1
        kind: GRPCRoute
        metadata: {name: greeter, namespace: %s}
        spec:
          parentRefs:
          - {group: "", kind: Service, name: greeter}
          rules:
          - matches:
            - method: {service: hello.Greeter, method: SayHelloStream}
            backendRefs:
            - {name: greeter-v2, port: 9000}
          - backendRefs:
            - {name: greeter-v1, port: 9000}
        """.formatted(NS);
  }

  /** A readiness probe: one GET straight to the server (no agent in this JVM), answered 200. */
  private static void probe(String address, int port) throws IOException, InterruptedException {
    HttpResponse<String> response = HTTP.send(
        HttpRequest.newBuilder(URI.create("http://" + address + ":" + port + "/ready"))
            .timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as("probe of %s:%d: %s", address, port, response.body()).isEqualTo(200);
  }

  // --- ports --------------------------------------------------------------------------------

  /** A port free on every one of {@code addresses} (tried a few times; each probe is a bind). */
  static int portFreeOn(java.util.Collection<String> addresses) throws IOException {
    for (int attempt = 0; attempt < 20; attempt++) {
      int port = Ports.unused();
      boolean free = true;
      for (String address : addresses) {
        try (ServerSocket s = new ServerSocket()) {
          s.bind(new InetSocketAddress(InetAddress.getByName(address), port));
        } catch (IOException e) {
          free = false;
          break;
        }
      }
      if (free) {
        return port;
      }
    }
    throw new IllegalStateException("no port free on all of " + addresses + " in 20 tries");
  }
}
