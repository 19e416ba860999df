package io.jmesh.controller.bench;

import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.jmesh.runtime.config.MeshConfigParser;
import io.jmesh.runtime.xds.XdsNames;
import io.netty.channel.EventLoopGroup;
import org.awaitility.core.ConditionTimeoutException;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The controller at scale: one controller process (the shaded jar, so its heap and CPU are its
 * own) and many simulated agents in this JVM, each on its own TCP connection and ADS stream,
 * subscribed as a jmesh agent is: every Listener (wildcard), then the routes, cluster and
 * endpoints of the few services it calls. After each edit of the mesh file, the time from the
 * write until each agent holds (and has ACKed) the new version of each type that changed in it.
 *
 * <p>Run: {@code ./mvnw -B -Pbench -DskipTests verify -pl controller -am} (or {@code java -cp ...
 * XdsScaleBenchmark [agents] [rounds]}). Needs {@code controller/target/jmesh-controller.jar}.
 */
public final class XdsScaleBenchmark {
  static final List<String> TYPES =
      List.of(
          XdsNames.LISTENER_TYPE, XdsNames.ROUTE_TYPE, XdsNames.CLUSTER_TYPE, XdsNames.ENDPOINT_TYPE);
  static final Duration WAIT = Duration.ofSeconds(180);
  static final int CALLED_SERVICES = 5; // services each agent calls (and so watches)
  static final long POLL_MS = 50;
  static final int WARMUP_ROUNDS = 5; // pushes before measuring, so the controller's JIT is warm

  record Scenario(int services, int endpointsPerService) {
    int endpoints() {
      return services * endpointsPerService;
    }
  }

  record Result(
      Scenario scenario,
      int agents,
      int rounds,
      double p50Ms,
      double p99Ms,
      double maxMs,
      double lastStreamMedianMs,
      double detectMedianMs,
      double handOffMedianMs,
      double heapMiB,
      double cpuSecondsPerRound,
      double agentsCpuSecondsPerRound,
      double connectSeconds) {}

  public static void main(String[] args) throws Exception {
    int agents = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    Path jar = controllerJar();
    List<Result> results = new ArrayList<>();
    List<Scenario> scenarios =
        args.length > 2
            ? List.of(new Scenario(Integer.parseInt(args[2]), Integer.parseInt(args[3])))
            : List.of(new Scenario(10, 10), new Scenario(100, 10), new Scenario(100, 100));
    for (Scenario s : scenarios) {
      results.add(run(jar, s, agents, rounds));
    }
    System.out.println();
    System.out.printf(
        Locale.ROOT,
        "xDS propagation, %s, %d cores, JDK %s; controller: %s; poll %d ms; each agent watches"
            + " %d services%n",
        Instant.now(),
        Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.version"),
        jar.getFileName(),
        POLL_MS,
        CALLED_SERVICES);
    System.out.println();
    System.out.println(
        "| endpoints | services | agents | rounds | file write → ACK p50 | p99 | max |"
            + " last agent (median of rounds) | controller: write → translated | controller:"
            + " hand-off to streams |"
            + " controller heap after GC | controller CPU per push | simulated agents' CPU per"
            + " push | connect all |");
    System.out.println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (Result r : results) {
      System.out.printf(
          Locale.ROOT,
          "| %d | %d | %d | %d | %.0f ms | %.0f ms | %.0f ms | %.0f ms | %.0f ms | %.0f ms | %.0f MiB"
              + " | %.2f s | %.2f s | %.1f s |%n",
          r.scenario().endpoints(),
          r.scenario().services(),
          r.agents(),
          r.rounds(),
          r.p50Ms(),
          r.p99Ms(),
          r.maxMs(),
          r.lastStreamMedianMs(),
          r.detectMedianMs(),
          r.handOffMedianMs(),
          r.heapMiB(),
          r.cpuSecondsPerRound(),
          r.agentsCpuSecondsPerRound(),
          r.connectSeconds());
    }
  }

  static Result run(Path jar, Scenario scenario, int agentCount, int rounds) throws Exception {
    Path dir = Files.createTempDirectory("jmesh-xds-scale");
    Path config = dir.resolve("mesh.yaml");
    String yaml = mesh(scenario, 0);
    write(config, yaml);
    int xdsPort = freePort();
    int adminPort = freePort();
    Process controller =
        startController(
            jar,
            List.of(),
            List.of("--config", config.toString(), "--poll-ms", Long.toString(POLL_MS)),
            xdsPort,
            adminPort,
            dir.resolve("controller.log"));
    EventLoopGroup group = new NioEventLoopGroup(2);
    List<SimulatedAgent> agents = new ArrayList<>();
    HttpClient http = HttpClient.newHttpClient();
    try {
      awaitReady(http, adminPort, controller, dir);
      long connectStart = System.nanoTime();
      for (int i = 0; i < agentCount; i++) {
        List<String> called = new ArrayList<>();
        for (int k = 0; k < Math.min(CALLED_SERVICES, scenario.services()); k++) {
          called.add(XdsNames.service(serviceName((i + k) % scenario.services()), "default"));
        }
        agents.add(new SimulatedAgent("agent-" + i, xdsPort, group, called));
      }
      awaitConnected(agents, controller, dir);
      double connectSeconds = (System.nanoTime() - connectStart) / 1e9;

      for (int w = 1; w <= WARMUP_ROUNDS; w++) {
        String next = mesh(scenario, 1000 + w);
        write(config, next);
        awaitAll(
            agents,
            MeshConfigParser.parse("mesh.yaml", next, "default").version(),
            ROUND_TYPES,
            controller,
            dir,
            "warm-up round " + w);
      }
      long cpuBefore = cpuTicks(controller.pid());
      long agentsCpuBefore = cpuTicks(ProcessHandle.current().pid());
      double[] all = new double[agentCount * rounds];
      double[] last = new double[rounds];
      double[] detect = new double[rounds];
      double[] handOff = new double[rounds];
      for (int round = 1; round <= rounds; round++) {
        String next = mesh(scenario, round);
        String version = MeshConfigParser.parse("mesh.yaml", next, "default").version();
        long t0 = System.nanoTime();
        Instant wall0 = Instant.now();
        write(config, next);
        awaitAll(agents, version, ROUND_TYPES, controller, dir, "round " + round);
        double[] times = appliedMillis(dir.resolve("controller.log"), version, wall0);
        detect[round - 1] = times[0] - times[1];
        handOff[round - 1] = times[1];
        double worst = 0;
        for (int i = 0; i < agents.size(); i++) {
          double ms = (agents.get(i).convergedAt(version) - t0) / 1e6;
          all[(round - 1) * agentCount + i] = ms;
          worst = Math.max(worst, ms);
        }
        last[round - 1] = worst;
        System.out.printf(
            Locale.ROOT,
            "%d endpoints, round %d: last of %d agents at %.0f ms%n",
            scenario.endpoints(),
            round,
            agentCount,
            worst);
      }
      double cpuSeconds = (cpuTicks(controller.pid()) - cpuBefore) / 100.0;
      double agentsCpuSeconds = (cpuTicks(ProcessHandle.current().pid()) - agentsCpuBefore) / 100.0;
      Arrays.sort(all);
      Arrays.sort(last);
      Arrays.sort(detect);
      Arrays.sort(handOff);
      double heap = heapAfterGc(http, adminPort, controller.pid());
      return new Result(
          scenario,
          agentCount,
          rounds,
          percentile(all, 0.50),
          percentile(all, 0.99),
          all[all.length - 1],
          percentile(last, 0.50),
          percentile(detect, 0.50),
          percentile(handOff, 0.50),
          heap / (1024.0 * 1024.0),
          cpuSeconds / rounds,
          agentsCpuSeconds / rounds,
          connectSeconds);
    } finally {
      for (SimulatedAgent a : agents) {
        a.close();
      }
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
      controller.destroy();
      if (!controller.waitFor(10, TimeUnit.SECONDS)) {
        controller.destroyForcibly();
      }
    }
  }

  /**
   * Starts the controller's shaded jar as its own process (so its heap and CPU are its own), on
   * {@code xdsPort} and {@code adminPort} of loopback, in plaintext (the simulated agents speak
   * plaintext ADS: TLS is not what is measured here), logging to {@code log}.
   *
   * @param jvmArgs options of the controller's JVM, before those of
   *     {@code -Djmesh.xds.bench.controller.jvm} (for profiling, e.g.
   *     {@code -XX:StartFlightRecording=filename=c.jfr})
   * @param args the controller's own flags besides the addresses and {@code --insecure-plaintext}
   */
  static Process startController(
      Path jar, List<String> jvmArgs, List<String> args, int xdsPort, int adminPort, Path log)
      throws IOException {
    List<String> command = new ArrayList<>(List.of(javaBin(), "-Xms256m", "-Xmx2g"));
    command.addAll(jvmArgs);
    String extra = System.getProperty("jmesh.xds.bench.controller.jvm", "");
    if (!extra.isBlank()) {
      command.addAll(List.of(extra.trim().split("\\s+")));
    }
    command.addAll(List.of("-jar", jar.toAbsolutePath().toString()));
    command.addAll(args);
    command.addAll(
        List.of(
            "--xds-address",
            "127.0.0.1:" + xdsPort,
            "--admin-address",
            "127.0.0.1:" + adminPort,
            "--insecure-plaintext"));
    return new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .start();
  }

  /** The controller jar named by {@code -Djmesh.controller.jar}, which must exist. */
  static Path controllerJar() {
    Path jar = Path.of(System.getProperty("jmesh.controller.jar", "target/jmesh-controller.jar"));
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException(
          "controller jar: " + jar.toAbsolutePath() + " does not exist (expected: built by"
              + " ./mvnw package -pl controller -am, or named by -Djmesh.controller.jar)");
    }
    return jar;
  }

  /**
   * {@code services} services of {@code perService} endpoints, half v1, half v2, split by a
   * route. Each round moves the split of service 0 and one endpoint of service 0 to a new
   * address, so RDS and EDS change; Listeners and Clusters keep their version and are not pushed
   * ({@link #ROUND_TYPES}).
   */
  /** The types a round changes: RouteConfiguration (the split) and ClusterLoadAssignment. */
  static final int ROUND_TYPES = 2;

  static String mesh(Scenario s, int round) {
    StringBuilder y = new StringBuilder("services:\n");
    for (int i = 0; i < s.services(); i++) {
      y.append("  - name: ").append(serviceName(i)).append('\n');
      y.append("    ports: [8080]\n");
      y.append("    endpoints:\n");
      for (int e = 0; e < s.endpointsPerService(); e++) {
        int host = i * s.endpointsPerService() + e + (i == 0 && e == 0 ? round * 100_000 : 0);
        y.append("      - {address: 10.")
            .append((host >> 16) & 255)
            .append('.')
            .append((host >> 8) & 255)
            .append('.')
            .append(host & 255)
            .append(", port: 8080, labels: {version: v")
            .append(e % 2 + 1)
            .append("}}\n");
      }
      int v1 = i == 0 ? 90 - (round % 9) * 10 : 90;
      y.append("    routes:\n");
      y.append("      - name: split\n");
      y.append("        backends:\n");
      y.append("          - {subset: {version: v1}, weight: ").append(v1).append("}\n");
      y.append("          - {subset: {version: v2}, weight: ").append(100 - v1).append("}\n");
    }
    return y.toString();
  }

  static String serviceName(int i) {
    return "svc-" + i;
  }

  /**
   * A jmesh agent's subscriptions, ACKing every response at once. Responses arrive on the
   * channel's event loop; an observer, if given, sees each one there after its ACK is sent.
   */
  static final class SimulatedAgent implements AutoCloseable {
    final ManagedChannel channel;
    final StreamObserver<DiscoveryRequest> requests;
    final List<String> called;
    final Consumer<DiscoveryResponse> observer;
    final ConcurrentHashMap<String, String> versions = new ConcurrentHashMap<>();
    // version -> the types that received it. Each type carries the version it last changed in,
    // so a version reaches the types that changed in it only.
    final ConcurrentHashMap<String, Set<String>> typesWith = new ConcurrentHashMap<>();
    // version -> nanoTime of the last response carrying it, once every type holds some version
    final ConcurrentHashMap<String, Long> converged = new ConcurrentHashMap<>();
    volatile Throwable error;
    private boolean subscribed; // guarded by this

    SimulatedAgent(String id, int port, EventLoopGroup group, List<String> called) {
      this(id, port, group, called, response -> {});
    }

    /** {@code observer} reads each response, on the event loop, before its version counts. */
    SimulatedAgent(
        String id,
        int port,
        EventLoopGroup group,
        List<String> called,
        Consumer<DiscoveryResponse> observer) {
      this.called = List.copyOf(called);
      this.observer = observer;
      channel =
          NettyChannelBuilder.forAddress("127.0.0.1", port)
              .eventLoopGroup(group)
              .channelType(NioSocketChannel.class)
              .directExecutor()
              .usePlaintext()
              .maxInboundMessageSize(64 * 1024 * 1024)
              .build();
      requests =
          AggregatedDiscoveryServiceGrpc.newStub(channel)
              .streamAggregatedResources(
                  new StreamObserver<>() {
                    @Override
                    public void onNext(DiscoveryResponse response) {
                      received(response);
                    }

                    @Override
                    public void onError(Throwable t) {
                      error = t;
                    }

                    @Override
                    public void onCompleted() {
                      error = new IllegalStateException("stream completed by the controller");
                    }
                  });
      synchronized (this) {
        requests.onNext(
            DiscoveryRequest.newBuilder()
                .setNode(
                    Node.newBuilder()
                        .setId(id + "~bench")
                        .setCluster("bench.default")
                        .setUserAgentName("jmesh-xds-scale-benchmark"))
                .setTypeUrl(XdsNames.LISTENER_TYPE)
                .build());
      }
    }

    private synchronized void received(DiscoveryResponse response) {
      String type = response.getTypeUrl();
      List<String> names = type.equals(XdsNames.LISTENER_TYPE) ? List.of() : namesFor(type);
      requests.onNext(
          DiscoveryRequest.newBuilder()
              .setTypeUrl(type)
              .setVersionInfo(response.getVersionInfo())
              .setResponseNonce(response.getNonce())
              .addAllResourceNames(names)
              .build());
      versions.put(type, response.getVersionInfo());
      if (type.equals(XdsNames.LISTENER_TYPE) && !subscribed) {
        subscribed = true;
        for (String t : TYPES.subList(1, 4)) {
          requests.onNext(
              DiscoveryRequest.newBuilder().setTypeUrl(t).addAllResourceNames(namesFor(t)).build());
        }
      }
      observer.accept(response);
      String v = response.getVersionInfo();
      typesWith.computeIfAbsent(v, k -> ConcurrentHashMap.newKeySet()).add(type);
      if (versions.size() == 4) {
        converged.put(v, System.nanoTime());
      }
    }

    private List<String> namesFor(String type) {
      return called; // RouteConfiguration, Cluster and CLA are all named after the service
    }

    /** Whether {@code version} reached at least {@code types} types (and every type has one). */
    boolean has(String version, int types) {
      return converged.containsKey(version) && typesWith.get(version).size() >= types;
    }

    /** Whether every type holds a version: what a newly connected agent gets first. */
    boolean holdsEveryType() {
      return versions.size() == 4;
    }

    long convergedAt(String version) {
      return converged.get(version);
    }

    @Override
    public void close() {
      try {
        synchronized (this) {
          requests.onCompleted();
        }
      } catch (RuntimeException ignored) {
        // already failed
      }
      channel.shutdownNow();
    }
  }

  /** Waits until every agent has received {@code version} for {@code types} types. */
  static void awaitAll(
      List<SimulatedAgent> agents,
      String version,
      int types,
      Process controller,
      Path dir,
      String what) {
    awaitAll(
        agents, a -> a.has(version, types), "version " + version + " of " + types + " types",
        controller, dir, what);
  }

  /** Waits until every agent holds the resources of every type (its first responses). */
  static void awaitConnected(List<SimulatedAgent> agents, Process controller, Path dir) {
    awaitAll(
        agents, SimulatedAgent::holdsEveryType, "a response of every type", controller, dir,
        "initial version");
  }

  /** Waits until {@code isDone} holds for every agent; {@code goal} names it in the error. */
  static void awaitAll(
      List<SimulatedAgent> agents,
      Predicate<SimulatedAgent> isDone,
      String goal,
      Process controller,
      Path dir,
      String what) {
    // Each agent stamps its own convergence time, so the poll interval does not bias the result.
    int[] done = {0};
    try {
      await()
          .atMost(WAIT)
          .pollDelay(Duration.ZERO)
          .pollInterval(Duration.ofMillis(2))
          .until(
              () -> {
                done[0] = 0;
                for (SimulatedAgent a : agents) {
                  if (a.error != null) {
                    throw new IllegalStateException(
                        what + ": an agent's stream failed: " + a.error, a.error);
                  }
                  if (isDone.test(a)) {
                    done[0]++;
                  }
                }
                if (done[0] < agents.size() && !controller.isAlive()) {
                  throw new IllegalStateException(
                      what + ": the controller exited; log: " + dir.resolve("controller.log"));
                }
                return done[0] == agents.size();
              });
    } catch (ConditionTimeoutException e) {
      throw new IllegalStateException(
          what + ": " + done[0] + " of " + agents.size() + " agents hold " + goal + " after " + WAIT + "; log: " + dir.resolve("controller.log"),
          e);
    }
  }

  private static final Pattern HANDED = Pattern.compile("handed to the agents' streams in (\\d+) ms");

  /**
   * From the controller's log line for {@code version}: {ms from {@code written} to the line (wall
   * clocks of two processes on one machine), ms the push itself took}. The line is written when
   * the push returns; "write → translated" is the first minus the second: polling, parsing and
   * translating.
   */
  static double[] appliedMillis(Path log, String version, Instant written) {
    // Logged after the push returns, so agents may have the version first: wait for the line.
    String marker = "applied snapshot version " + version + " ";
    String line;
    try {
      line =
          await()
              .atMost(Duration.ofSeconds(10))
              .pollDelay(Duration.ZERO)
              .pollInterval(Duration.ofMillis(10))
              .until(
                  () ->
                      Files.readAllLines(log, StandardCharsets.UTF_8).stream()
                          .filter(l -> l.contains(marker))
                          .findFirst()
                          .orElse(null),
                  java.util.Objects::nonNull);
    } catch (ConditionTimeoutException e) {
      throw new IllegalStateException("no 'applied snapshot version " + version + "' in " + log, e);
    }
    Instant at = Instant.parse(line.substring(0, line.indexOf(' ')));
    Matcher m = HANDED.matcher(line);
    if (!m.find()) {
      throw new IllegalStateException("no hand-off time in: " + line);
    }
    return new double[] {
      Duration.between(written, at).toNanos() / 1e6, Double.parseDouble(m.group(1))
    };
  }

  static void awaitReady(HttpClient http, int adminPort, Process controller, Path dir) {
    try {
      await()
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(50))
          .until(
              () -> {
                if (!controller.isAlive()) {
                  throw new IllegalStateException(
                      "the controller exited: " + Files.readString(dir.resolve("controller.log")));
                }
                try {
                  return get(http, adminPort, "/ready").statusCode() == 200;
                } catch (IOException notYet) {
                  return false; // not listening yet
                }
              });
    } catch (ConditionTimeoutException e) {
      throw new IllegalStateException("the controller was not ready within 60 s", e);
    }
  }

  static HttpResponse<String> get(HttpClient http, int port, String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .timeout(Duration.ofSeconds(10))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** Heap in use after a full GC (jcmd), read from the controller's own /metrics. */
  static double heapAfterGc(HttpClient http, int adminPort, long pid) throws Exception {
    Process gc =
        new ProcessBuilder(Path.of(javaBin()).resolveSibling("jcmd").toString(), Long.toString(pid), "GC.run")
            .redirectErrorStream(true)
            .start();
    gc.getInputStream().readAllBytes();
    if (!gc.waitFor(30, TimeUnit.SECONDS) || gc.exitValue() != 0) {
      throw new IllegalStateException("jcmd " + pid + " GC.run failed");
    }
    String metrics = get(http, adminPort, "/metrics").body();
    Matcher m =
        Pattern.compile("(?m)^jvm_memory_used_bytes\\{area=\"heap\",[^}]*} ([0-9.E+]+)$")
            .matcher(metrics);
    double sum = 0;
    int found = 0;
    while (m.find()) {
      sum += Double.parseDouble(m.group(1));
      found++;
    }
    if (found == 0) {
      throw new IllegalStateException("no jvm_memory_used_bytes{area=\"heap\"} in /metrics");
    }
    return sum;
  }

  /** utime + stime of {@code pid}, in clock ticks (USER_HZ, 100 per second on Linux). */
  static long cpuTicks(long pid) throws IOException {
    String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return Long.parseLong(f[11]) + Long.parseLong(f[12]);
  }

  static double percentile(double[] sorted, double p) {
    int i = (int) Math.ceil(p * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
  }

  static void write(Path file, String content) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.writeString(tmp, content, StandardCharsets.UTF_8);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  static String javaBin() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  private XdsScaleBenchmark() {}
}
