package io.jmesh.controller.bench;

import static io.jmesh.controller.bench.XdsScaleBenchmark.awaitAll;
import static io.jmesh.controller.bench.XdsScaleBenchmark.awaitReady;
import static io.jmesh.controller.bench.XdsScaleBenchmark.cpuTicks;
import static io.jmesh.controller.bench.XdsScaleBenchmark.freePort;
import static io.jmesh.controller.bench.XdsScaleBenchmark.percentile;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.fabric8.kubernetes.client.server.mock.KubernetesMixedDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;
import io.jmesh.controller.bench.XdsScaleBenchmark.SimulatedAgent;
import io.jmesh.runtime.xds.XdsNames;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import java.net.InetAddress;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import java.util.function.ToDoubleFunction;
import java.util.stream.Collectors;

/**
 * The controller at scale on the Kubernetes source: fabric8's mock API server in CRUD mode (in
 * this JVM) holds {@code services} Services, one EndpointSlice and {@code podsPerService} Pods
 * each, and a few HTTPRoutes; the controller process runs with {@code --kubernetes} against it
 * (its fabric8 client pointed there by system properties, no kube config), and the simulated
 * agents of {@link XdsScaleBenchmark} connect to it. Each round is a rollout of {@code rolled}
 * services, the way a Deployment's looks in EndpointSlices: new pods, then each service's slice
 * lists the new pods ready and the old ones terminating (still serving), then the old pods and
 * their endpoints go. Per agent, the time from the first slice write until it ACKed a version
 * whose endpoints are the new pods of every rolled service; the controller's debounce (100 ms
 * quiet, 1 s at most) is part of it.
 *
 * <p>Run: {@code ./mvnw -B -Pbench -DskipTests verify -pl controller -am} (or {@code java -cp ...
 * KubernetesScaleBenchmark [agents] [rounds] [services] [podsPerService] [rolled] [routes]}).
 */
public final class KubernetesScaleBenchmark {
  static final String NAMESPACE = "bench";
  static final int WARMUP_ROUNDS = 3; // rollouts before measuring, so the controller's JIT is warm
  static final int LOAD_THREADS = 4;
  // After the old pods go, the next rollout starts later than the debounce's longest wait (1 s),
  // so that one round's translation does not run into the next round's measurement.
  static final Duration BETWEEN_ROUNDS = Duration.ofMillis(1500);

  // Held: java.util.logging keeps loggers weakly, and a collected one loses its level. The mock
  // server logs every request at INFO, which at this scale costs more than serving it.
  private static final java.util.logging.Logger MOCK_SERVER_LOG =
      java.util.logging.Logger.getLogger("io.fabric8.mockwebserver");

  record Shape(int services, int podsPerService, int rolled, int routes) {
    int pods() {
      return services * podsPerService;
    }
  }

  public static void main(String[] args) throws Exception {
    int agentCount = arg(args, 0, 1000);
    int rounds = arg(args, 1, 10);
    Shape shape =
        new Shape(arg(args, 2, 1000), arg(args, 3, 10), arg(args, 4, 10), arg(args, 5, 100));
    if (WARMUP_ROUNDS + rounds > 250
        || shape.pods() > 65_536
        || shape.rolled() > shape.services()) {
      throw new IllegalArgumentException(
          "rounds " + rounds + ", " + shape + " (expected: at most 247 rounds, 65,536 pods, and"
              + " no more rolled services than services)");
    }
    MOCK_SERVER_LOG.setLevel(java.util.logging.Level.WARNING);
    Path jar = XdsScaleBenchmark.controllerJar();
    Path dir = Files.createTempDirectory("jmesh-k8s-scale");
    Path log = dir.resolve("controller.log");

    Map<ServerRequest, Queue<ServerResponse>> expectations = new HashMap<>();
    KubernetesMockServer server =
        new KubernetesMockServer(
            new Context(Serialization.jsonMapper()),
            new MockWebServer(),
            expectations,
            new KubernetesMixedDispatcher(expectations),
            false);
    server.init(InetAddress.getLoopbackAddress(), 0);
    KubernetesClient client = server.createClient();
    EventLoopGroup group = new NioEventLoopGroup(2);
    List<SimulatedAgent> agents = new ArrayList<>();
    Process controller = null;
    Watch sliceWatch = null;
    try {
      // Load the mock server.
      long loadStart = System.nanoTime();
      List<HasMetadata> objects = new ArrayList<>();
      for (int s = 0; s < shape.services(); s++) {
        objects.add(service(s));
        objects.add(slice(shape, s, 0, -1));
        for (int p = 0; p < shape.podsPerService(); p++) {
          objects.add(pod(shape, s, 0, p));
        }
      }
      for (int r = 0; r < shape.routes(); r++) {
        objects.add(route(shape, r));
      }
      writeAll(client, objects, o -> client.resource(o).create());
      double loadSeconds = (System.nanoTime() - loadStart) / 1e9;
      System.out.printf(
          Locale.ROOT, "mock server loaded: %d objects in %.1f s%n", objects.size(), loadSeconds);

      // Start the controller on it and wait for its first snapshot.
      int xdsPort = freePort();
      int adminPort = freePort();
      String master = server.url("/");
      long start = System.nanoTime();
      Instant startWall = Instant.now();
      controller =
          XdsScaleBenchmark.startController(
              jar,
              List.of(
                  // fabric8's Config reads these: the mock server, and no kube config or pod
                  // service account to look for.
                  "-Dkubernetes.master=" + master,
                  "-Dkubernetes.auth.tryKubeConfig=false",
                  "-Dkubernetes.auth.tryServiceAccount=false",
                  "-Dkubernetes.namespace=" + NAMESPACE),
              List.of("--kubernetes", "--namespace", NAMESPACE),
              xdsPort,
              adminPort,
              log);
      HttpClient http = HttpClient.newHttpClient();
      awaitReady(http, adminPort, controller, dir);
      double readySeconds = (System.nanoTime() - start) / 1e9;
      // Ready is answered once the snapshot is set; its log line follows the hand-off.
      List<String> applied =
          await()
              .atMost(Duration.ofSeconds(60))
              .pollInterval(Duration.ofMillis(10))
              .until(() -> appliedLines(log), lines -> !lines.isEmpty());
      String first = applied.get(0);
      double firstSnapshotSeconds =
          Duration.between(startWall, Instant.parse(first.substring(0, first.indexOf(' '))))
                  .toNanos()
              / 1e9;
      String v0 = versionOf(applied.get(applied.size() - 1));
      System.out.println("controller ready in " + readySeconds + " s: " + first);

      // Connect the agents, and one observer that reads the rolled services' endpoints.
      RolloutObserver decoded = new RolloutObserver();
      long connectStart = System.nanoTime();
      for (int i = 0; i < agentCount; i++) {
        List<String> called = new ArrayList<>();
        for (int k = 0; k < XdsScaleBenchmark.CALLED_SERVICES; k++) {
          called.add(XdsNames.service(serviceName((i + k) % shape.services()), NAMESPACE));
        }
        agents.add(new SimulatedAgent("agent-" + i, xdsPort, group, called));
      }
      List<String> rolledNames = new ArrayList<>();
      for (int s = 0; s < shape.rolled(); s++) {
        rolledNames.add(XdsNames.service(serviceName(s), NAMESPACE));
      }
      SimulatedAgent observer =
          new SimulatedAgent("observer", xdsPort, group, rolledNames, decoded);
      XdsScaleBenchmark.awaitConnected(agents, controller, dir);
      double connectSeconds = (System.nanoTime() - connectStart) / 1e9;
      double heapInitial = XdsScaleBenchmark.heapAfterGc(http, adminPort, controller.pid());
      System.out.printf(
          Locale.ROOT,
          "%d agents hold %s after %.1f s; controller heap after GC %.0f MiB%n",
          agentCount,
          v0,
          connectSeconds,
          heapInitial / (1024.0 * 1024.0));

      // The mock server's own part: when its watch delivers the slices this JVM wrote.
      ConcurrentHashMap<String, Long> sliceSeen = new ConcurrentHashMap<>();
      sliceWatch =
          client
              .discovery()
              .v1()
              .endpointSlices()
              .inNamespace(NAMESPACE)
              .watch(
                  new Watcher<>() {
                    @Override
                    public void eventReceived(Action action, EndpointSlice slice) {
                      String gen = slice.getMetadata().getAnnotations().get("bench/generation");
                      sliceSeen.putIfAbsent(
                          slice.getMetadata().getName() + "@" + gen, System.nanoTime());
                    }

                    @Override
                    public void onClose(WatcherException cause) {}
                  });

      Rollouts rollouts = new Rollouts(shape, client);
      List<SimulatedAgent> everyone = new ArrayList<>(agents);
      everyone.add(observer);
      for (int w = 1; w <= WARMUP_ROUNDS; w++) {
        rollouts.round(w, decoded, everyone, controller, dir, log, sliceSeen);
      }
      long cpuBefore = cpuTicks(controller.pid());
      long agentsCpuBefore = cpuTicks(ProcessHandle.current().pid());
      int pushesBefore = appliedLines(log).size();
      List<RoundResult> results = new ArrayList<>();
      for (int r = 1; r <= rounds; r++) {
        RoundResult result =
            rollouts.round(WARMUP_ROUNDS + r, decoded, everyone, controller, dir, log, sliceSeen);
        results.add(result);
        System.out.printf(
            Locale.ROOT,
            "rollout %d: last of %d agents at %.0f ms; writes: pods %.0f ms, slices %.0f ms, old"
                + " ones gone %.0f ms; mock server watch saw the slices at %.0f ms; applied at %.0f"
                + " ms (hand-off %.0f ms)%n",
            r,
            agentCount,
            result.lastMs(),
            result.podWritesMs(),
            result.sliceWritesMs(),
            result.removalMs(),
            result.mockDeliveredMs(),
            result.appliedMs(),
            result.handOffMs());
      }
      int pushes = appliedLines(log).size() - pushesBefore;
      double cpuSeconds = (cpuTicks(controller.pid()) - cpuBefore) / 100.0;
      double agentsCpuSeconds = (cpuTicks(ProcessHandle.current().pid()) - agentsCpuBefore) / 100.0;
      double heapAfter = XdsScaleBenchmark.heapAfterGc(http, adminPort, controller.pid());

      System.out.println(
          "one push to the observer (it watches "
              + shape.rolled()
              + " services), bytes per type: "
              + decoded.sizes);
      double[] all = results.stream().flatMapToDouble(r -> Arrays.stream(r.agentMs())).toArray();
      Arrays.sort(all);
      System.out.println();
      System.out.printf(
          Locale.ROOT,
          "Kubernetes source at scale, %s, %d cores (load average %s), JDK %s; mock server: %d"
              + " Services, %d EndpointSlices, %d Pods, %d HTTPRoutes (loaded in %.1f s);"
              + " %d agents, each watching %d services; rollout of %d pods (%d services × %d);"
              + " %d warm-up + %d measured rounds; controller log %s%n",
          Instant.now(),
          Runtime.getRuntime().availableProcessors(),
          Files.readString(Path.of("/proc/loadavg")).trim(),
          System.getProperty("java.version"),
          shape.services(),
          shape.services(),
          shape.pods(),
          shape.routes(),
          loadSeconds,
          agentCount,
          XdsScaleBenchmark.CALLED_SERVICES,
          shape.rolled() * shape.podsPerService(),
          shape.rolled(),
          shape.podsPerService(),
          WARMUP_ROUNDS,
          rounds,
          log);
      System.out.println();
      System.out.println(
          "| start → ready (list + first snapshot) | connect all agents | controller heap after GC,"
              + " initial | after the rollouts | slice write → ACK p50 | p99 | max | last agent"
              + " (median) | slice write → applied (median) | hand-off (median) | mock server:"
              + " pod writes | slice writes | slice write → its watch (median) | pushes per"
              + " rollout | controller CPU per rollout | agents' CPU per rollout |");
      System.out.println("|---:".repeat(16) + "|");
      System.out.printf(
          Locale.ROOT,
          "| %.1f s (first snapshot at %.1f s) | %.1f s | %.0f MiB | %.0f MiB | %.0f ms | %.0f ms |"
              + " %.0f ms | %.0f ms | %.0f ms | %.0f ms | %.0f ms | %.0f ms | %.0f ms | %.1f |"
              + " %.2f s | %.2f s |%n",
          readySeconds,
          firstSnapshotSeconds,
          connectSeconds,
          heapInitial / (1024.0 * 1024.0),
          heapAfter / (1024.0 * 1024.0),
          percentile(all, 0.50),
          percentile(all, 0.99),
          all[all.length - 1],
          median(results, RoundResult::lastMs),
          median(results, RoundResult::appliedMs),
          median(results, RoundResult::handOffMs),
          median(results, RoundResult::podWritesMs),
          median(results, RoundResult::sliceWritesMs),
          median(results, RoundResult::mockDeliveredMs),
          pushes / (double) rounds,
          cpuSeconds / rounds,
          agentsCpuSeconds / rounds);
    } finally {
      if (sliceWatch != null) {
        sliceWatch.close();
      }
      for (SimulatedAgent a : agents) {
        a.close();
      }
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
      if (controller != null) {
        controller.destroy();
        if (!controller.waitFor(10, TimeUnit.SECONDS)) {
          controller.destroyForcibly();
        }
      }
      client.close();
      server.destroy();
    }
  }

  record RoundResult(
      double[] agentMs,
      double lastMs,
      double podWritesMs,
      double sliceWritesMs,
      double removalMs,
      double mockDeliveredMs,
      double appliedMs,
      double handOffMs) {}

  /** The rollouts of the rolled services, one generation of pods after another. */
  static final class Rollouts {
    private final Shape shape;
    private final KubernetesClient client;

    Rollouts(Shape shape, KubernetesClient client) {
      this.shape = shape;
      this.client = client;
    }

    /**
     * Rolls every rolled service from generation {@code gen - 1} to {@code gen}; {@code agents}
     * includes the observer, whose time is left out of the result.
     */
    RoundResult round(
        int gen,
        RolloutObserver observer,
        List<SimulatedAgent> agents,
        Process controller,
        Path dir,
        Path log,
        Map<String, Long> sliceSeen)
        throws Exception {
      observer.expect(gen, expected(gen));
      // New pods: nothing jmesh serves changes yet (no slice names them).
      long podStart = System.nanoTime();
      List<HasMetadata> pods = new ArrayList<>();
      for (int s = 0; s < shape.rolled(); s++) {
        for (int p = 0; p < shape.podsPerService(); p++) {
          pods.add(pod(shape, s, gen, p));
        }
      }
      writeAll(client, pods, o -> client.resource(o).create());
      long podEnd = System.nanoTime();

      // Each slice: the new pods ready, the old ones terminating (KEP-1669: no longer served
      // while a ready endpoint remains). Measured from the first of these writes.
      long t0 = System.nanoTime();
      Instant wall0 = Instant.now();
      for (int s = 0; s < shape.rolled(); s++) {
        client.resource(slice(shape, s, gen, gen - 1)).update();
      }
      long slicesEnd = System.nanoTime();
      awaitAll(
          agents,
          a -> observer.firstHolding(a, gen) != null,
          "a version with generation " + gen + " of the rolled services",
          controller,
          dir,
          "rollout " + gen);
      double[] agentMs = new double[agents.size() - 1];
      double last = 0;
      for (int i = 0; i < agentMs.length; i++) {
        agentMs[i] = (observer.firstHolding(agents.get(i), gen) - t0) / 1e6;
        last = Math.max(last, agentMs[i]);
      }
      double delivered = 0;
      for (int s = 0; s < shape.rolled(); s++) {
        Long seen = sliceSeen.get(serviceName(s) + "@" + gen);
        delivered = Math.max(delivered, seen == null ? Double.NaN : (seen - t0) / 1e6);
      }
      double[] applied =
          XdsScaleBenchmark.appliedMillis(log, observer.firstVersion(gen), wall0);

      // The old pods and their endpoints go: the model does not change (they were no longer
      // served), so nothing should be pushed.
      long removalStart = System.nanoTime();
      for (int s = 0; s < shape.rolled(); s++) {
        client.resource(slice(shape, s, gen, -1)).update();
      }
      List<HasMetadata> old = new ArrayList<>();
      for (int s = 0; s < shape.rolled(); s++) {
        for (int p = 0; p < shape.podsPerService(); p++) {
          old.add(pod(shape, s, gen - 1, p));
        }
      }
      writeAll(client, old, o -> client.resource(o).delete());
      double removalMs = (System.nanoTime() - removalStart) / 1e6;
      LockSupport.parkNanos(BETWEEN_ROUNDS.toNanos()); // pacing, not a wait for a condition
      return new RoundResult(
          agentMs,
          last,
          (podEnd - podStart) / 1e6,
          (slicesEnd - t0) / 1e6,
          removalMs,
          delivered,
          applied[0],
          applied[1]);
    }

    /** CLA name → the addresses of generation {@code gen}, for each rolled service. */
    Map<String, Set<String>> expected(int gen) {
      Map<String, Set<String>> expected = new HashMap<>();
      for (int s = 0; s < shape.rolled(); s++) {
        Set<String> addresses = new HashSet<>();
        for (int p = 0; p < shape.podsPerService(); p++) {
          addresses.add(address(shape, s, gen, p));
        }
        expected.put(XdsNames.service(serviceName(s), NAMESPACE), addresses);
      }
      return expected;
    }
  }

  /**
   * Reads the ClusterLoadAssignments of the rolled services and remembers each version that holds
   * the expected generation's addresses for all of them. Runs on the observer's event loop.
   */
  static final class RolloutObserver implements Consumer<DiscoveryResponse> {
    private record Expectation(int gen, Map<String, Set<String>> addresses) {}

    private volatile Expectation expected;
    // generation -> versions holding it, in the order this observer received them
    private final ConcurrentHashMap<Integer, List<String>> holding = new ConcurrentHashMap<>();

    void expect(int gen, Map<String, Set<String>> addresses) {
      expected = new Expectation(gen, addresses);
    }

    /** The size of the last response of each type, in bytes. */
    final ConcurrentHashMap<String, Integer> sizes = new ConcurrentHashMap<>();

    @Override
    public void accept(DiscoveryResponse response) {
      sizes.put(response.getTypeUrl(), response.getSerializedSize());
      Expectation e = expected;
      if (e == null || !response.getTypeUrl().equals(XdsNames.ENDPOINT_TYPE)) {
        return;
      }
      Map<String, Set<String>> seen = new HashMap<>();
      for (Any any : response.getResourcesList()) {
        try {
          ClusterLoadAssignment cla = ClusterLoadAssignment.parseFrom(any.getValue());
          Set<String> addresses = new HashSet<>();
          for (LocalityLbEndpoints locality : cla.getEndpointsList()) {
            for (LbEndpoint lb : locality.getLbEndpointsList()) {
              addresses.add(lb.getEndpoint().getAddress().getSocketAddress().getAddress());
            }
          }
          seen.put(cla.getClusterName(), addresses);
        } catch (InvalidProtocolBufferException bad) {
          throw new IllegalStateException("observer: a ClusterLoadAssignment: " + bad, bad);
        }
      }
      for (Map.Entry<String, Set<String>> want : e.addresses().entrySet()) {
        Set<String> have = seen.get(want.getKey());
        if (have == null || !have.containsAll(want.getValue())) {
          return;
        }
      }
      List<String> versions =
          holding.computeIfAbsent(e.gen(), g -> new java.util.concurrent.CopyOnWriteArrayList<>());
      if (!versions.contains(response.getVersionInfo())) {
        versions.add(response.getVersionInfo());
      }
    }

    /** When {@code agent} first held a version with generation {@code gen}, or null. */
    Long firstHolding(SimulatedAgent agent, int gen) {
      Long first = null;
      for (String v : holding.getOrDefault(gen, List.of())) {
        Long at = agent.converged.get(v);
        if (at != null && (first == null || at < first)) {
          first = at;
        }
      }
      return first;
    }

    String firstVersion(int gen) {
      return holding.get(gen).get(0);
    }
  }

  static Service service(int s) {
    return new ServiceBuilder()
        .withNewMetadata()
        .withName(serviceName(s))
        .withNamespace(NAMESPACE)
        .endMetadata()
        .withNewSpec()
        .addNewPort()
        .withName("http")
        .withPort(8080)
        .withTargetPort(new IntOrString(8080))
        .endPort()
        .endSpec()
        .build();
  }

  /** Pod {@code p} of service {@code s}, generation {@code gen}: meshed, half v1, half v2. */
  static Pod pod(Shape shape, int s, int gen, int p) {
    return new PodBuilder()
        .withNewMetadata()
        .withName(podName(s, gen, p))
        .withNamespace(NAMESPACE)
        .addToLabels("app", serviceName(s))
        .addToLabels("version", "v" + (p % 2 + 1))
        .addToAnnotations("jmesh.io/inject", "enabled")
        .endMetadata()
        .withNewSpec()
        .withServiceAccountName(serviceName(s))
        .addNewContainer()
        .withName("app")
        .withImage("app")
        .endContainer()
        .endSpec()
        .build();
  }

  /**
   * The slice of service {@code s}: the pods of generation {@code gen} ready, and those of
   * {@code terminating} (if not -1) terminating but still serving.
   */
  static EndpointSlice slice(Shape shape, int s, int gen, int terminating) {
    List<Endpoint> endpoints = new ArrayList<>();
    for (int p = 0; p < shape.podsPerService(); p++) {
      endpoints.add(endpoint(shape, s, gen, p, true));
    }
    if (terminating >= 0) {
      for (int p = 0; p < shape.podsPerService(); p++) {
        endpoints.add(endpoint(shape, s, terminating, p, false));
      }
    }
    return new EndpointSliceBuilder()
        .withNewMetadata()
        .withName(serviceName(s))
        .withNamespace(NAMESPACE)
        .addToLabels("kubernetes.io/service-name", serviceName(s))
        .addToAnnotations("bench/generation", Integer.toString(gen))
        .endMetadata()
        .withAddressType("IPv4")
        .addNewPort()
        .withName("http")
        .withPort(8080)
        .endPort()
        .withEndpoints(endpoints)
        .build();
  }

  private static Endpoint endpoint(Shape shape, int s, int gen, int p, boolean ready) {
    return new EndpointBuilder()
        .withAddresses(address(shape, s, gen, p))
        .withNewConditions()
        .withReady(ready)
        .withServing(true)
        .withTerminating(!ready)
        .endConditions()
        .withNewTargetRef()
        .withKind("Pod")
        .withName(podName(s, gen, p))
        .withNamespace(NAMESPACE)
        .endTargetRef()
        .build();
  }

  /** A route on service {@code r}: 90 % to itself, 10 % to the next service. */
  static HTTPRoute route(Shape shape, int r) {
    return new HTTPRouteBuilder()
        .withNewMetadata()
        .withName("route-" + r)
        .withNamespace(NAMESPACE)
        .endMetadata()
        .withNewSpec()
        .addNewParentRef()
        .withGroup("")
        .withKind("Service")
        .withName(serviceName(r))
        .withPort(8080)
        .endParentRef()
        .addNewRule()
        .addNewBackendRef()
        .withName(serviceName(r))
        .withPort(8080)
        .withWeight(90)
        .endBackendRef()
        .addNewBackendRef()
        .withName(serviceName((r + 1) % shape.services()))
        .withPort(8080)
        .withWeight(10)
        .endBackendRef()
        .endRule()
        .endSpec()
        .build();
  }

  /** {@code 10.<gen + 1>.x.y}: a distinct address for every pod of every generation. */
  static String address(Shape shape, int s, int gen, int p) {
    int n = s * shape.podsPerService() + p;
    return "10." + (gen + 1) + "." + (n >> 8) + "." + (n & 255);
  }

  static String serviceName(int s) {
    return "svc-" + s;
  }

  static String podName(int s, int gen, int p) {
    return serviceName(s) + "-g" + gen + "-" + p;
  }

  /** Writes {@code objects} on a few threads, as controllers write concurrently. */
  static void writeAll(
      KubernetesClient client, List<HasMetadata> objects, Consumer<HasMetadata> write)
      throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(LOAD_THREADS);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (HasMetadata o : objects) {
        done.add(pool.submit(() -> write.accept(o)));
      }
      for (Future<?> f : done) {
        f.get(120, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  static List<String> appliedLines(Path log) throws Exception {
    return Files.readAllLines(log, StandardCharsets.UTF_8).stream()
        .filter(l -> l.contains("applied snapshot version "))
        .collect(Collectors.toList());
  }

  static String versionOf(String appliedLine) {
    String rest = appliedLine.substring(appliedLine.indexOf("applied snapshot version ") + 25);
    return rest.substring(0, rest.indexOf(' '));
  }

  static double median(List<RoundResult> results, ToDoubleFunction<RoundResult> f) {
    double[] values = results.stream().mapToDouble(f).sorted().toArray();
    return percentile(values, 0.50);
  }

  private static int arg(String[] args, int i, int otherwise) {
    return args.length > i ? Integer.parseInt(args[i]) : otherwise;
  }

  private KubernetesScaleBenchmark() {}
}
