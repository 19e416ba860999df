package io.jmesh.smoke.bench;

import io.jmesh.smoke.apps.LoadClient;
import io.jmesh.smoke.support.Jvm;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.ToLongFunction;

/**
 * The end-to-end benchmark: the same unmodified application ({@link LoadClient}) against the same
 * {@code HelloServer}, once calling the server's address directly without the agent and once
 * calling {@code http://hello:8080/} with the agent attached and a file-mode mesh config that maps
 * {@code hello:8080} to that server. For each client (JDK HttpClient, OkHttp 4) it measures
 * throughput at saturation, latency at a fixed rate (open loop), time from JVM start to the first
 * answered request, and client resident memory; then the cost of {@code JAVA_TOOL_OPTIONS} for JDK
 * tools ({@code keytool}, {@code jcmd}), which the agent must skip.
 *
 * <p>Then the sidecar comparison: one client against a fresh {@code HelloServer} per {@link
 * Scenario} (direct plaintext; one plaintext TCP relay, the floor of any server-side hop; a {@link
 * SidecarPair} of HAProxy processes doing mTLS; jmesh's own
 * mTLS, {@link MeshTlsPath}), measuring throughput at saturation, latency at the fixed rate, CPU
 * time per request of every process on the path (client, server, proxies; from {@code
 * /proc/<pid>/stat} over the load client's measured window) and the resident memory a scenario
 * adds: its extra processes, plus the growth of client and server over direct where the path lives
 * inside them (the agent). A control plane (jmesh's controller) is charged for neither; its
 * resident memory is reported apart. {@code --rounds n} runs the scenarios n times, alternating.
 *
 * <p>The gRPC comparison ({@code --sections grpc}): {@link GrpcLoadClient} (one plain channel,
 * unary calls) against a {@code GrpcHelloServer} answering 1 KiB, directly (no agent, the server's
 * address) and through jmesh with mTLS ({@link MeshTlsPath}: the agent in client and server, a
 * controller that is also the CA, the client calling {@code hello:8080}), in the same run:
 * throughput at saturation ({@code --concurrency} RPCs in flight at most) and latency at the
 * fixed rate, with ratios to direct. {@code --rounds n} runs the pair n times.
 *
 * <p>The footprint section ({@code --sections footprint}, not in the default sections; {@link
 * FootprintSection}): what carrying the agent costs a JVM, with and without it in alternating runs
 * under the same memory settings: start to first answered request (file and controller mode), RSS
 * idle and after a load run, the Native Memory Tracking split, threads and idle CPU; and the JDK
 * tools. {@code --footprint-runs} (7, the start-up figure), {@code --footprint-memory-runs} (3, the
 * memory, thread and CPU figures), {@code --footprint-idle-seconds} (60), {@code
 * --footprint-load-seconds} (60), {@code --footprint-warmup-calls} (200), {@code --footprint-apps}
 * (jdk,okhttp,grpc,spring).
 *
 * <p>It is a report, not a test: it asserts nothing about timings. It prints markdown tables
 * (values and ratios to the direct baseline) and writes them to {@code
 * smoke-tests/target/benchmark-results.md}.
 *
 * <p>Usage: {@code BenchmarkHarness [--quick] [--warmup-seconds 5] [--seconds 10] [--rps 1000]
 * [--concurrency 8] [--rate-workers 32] [--startup-runs 5] [--tool-runs 10] [--clients jdk,okhttp]
 * [--sections file-mode,sidecar,grpc,footprint] [--sidecar-client okhttp] [--rounds 1] [--out path]}; {@code --clients} also
 * takes {@code jdk-async} (JDK {@code sendAsync(..).get()}); {@code --sections sidecar} runs only
 * the sidecar comparison, {@code --sections grpc} only the gRPC comparison (not in the default
 * sections). Run it through the {@code bench} Maven profile, or from the repository root after
 * a build.
 */
public final class BenchmarkHarness {
  private static final String BIND = "127.0.0.2";
  private static final String MESH_URL = "http://hello:8080/";
  /** The sections {@code --sections} accepts; file-mode and sidecar run by default. */
  static final List<String> SECTIONS = List.of("file-mode", "sidecar", "grpc", "footprint");
  private static final Duration SIDECAR_READY_TIMEOUT = Duration.ofSeconds(20);
  /** Two agents bootstrapping against a fresh controller and CA on a busy 2-core machine. */
  private static final Duration MESH_READY_TIMEOUT = Duration.ofSeconds(60);

  /**
   * The rows of the sidecar comparison, in order; the first is the baseline the others are divided
   * by. A new path through the mesh is one more entry here.
   */
  private static final List<Scenario> SIDECAR_SCENARIOS =
      List.of(
          Scenario.direct(),
          Scenario.tcpRelayFloor(SIDECAR_READY_TIMEOUT),
          Scenario.haproxySidecarPair(SIDECAR_READY_TIMEOUT),
          Scenario.jmeshMeshTls(BIND, MESH_READY_TIMEOUT));

  private final Options options;
  private final StringBuilder report = new StringBuilder();
  private final Path workDir;

  private BenchmarkHarness(Options options) throws IOException {
    this.options = options;
    this.workDir = Files.createTempDirectory("jmesh-bench");
  }

  public static void main(String[] args) throws Exception {
    Options options = Options.parse(args);
    new BenchmarkHarness(options).run();
  }

  /** Command-line options; blank arguments (an empty Maven property) are ignored. */
  static final class Options {
    double warmupSeconds = 5;
    double seconds = 10;
    int rps = 1000;
    int concurrency = 8;
    int rateWorkers = 32;
    int startupRuns = 5;
    int toolRuns = 10;
    List<String> clients = List.of("jdk", "okhttp");
    List<String> sections = List.of("file-mode", "sidecar");
    String sidecarClient = "okhttp";
    int rounds = 1;
    int footprintRuns = 7;
    int footprintMemoryRuns = 3;
    double footprintIdleSeconds = 60;
    double footprintLoadSeconds = 60;
    int footprintWarmupCalls = 200;
    List<String> footprintApps = FootprintSection.APPS;
    Path out = Jvm.appClasses().getParent().resolve("benchmark-results.md");

    static Options parse(String[] raw) {
      List<String> args = new ArrayList<>();
      for (String a : raw) {
        if (a == null) {
          continue; // An empty Maven property arrives as null.
        }
        for (String part : a.trim().split("\\s+")) {
          if (!part.isEmpty()) {
            args.add(part);
          }
        }
      }
      Options o = new Options();
      for (int i = 0; i < args.size(); i++) {
        String a = args.get(i);
        if (a.equals("--quick")) {
          o.warmupSeconds = 2;
          o.seconds = 3;
          o.startupRuns = 3;
          o.toolRuns = 5;
          continue;
        }
        if (i + 1 >= args.size()) {
          throw new IllegalArgumentException("argument " + a + " has no value");
        }
        String v = args.get(++i);
        switch (a) {
          case "--warmup-seconds":
            o.warmupSeconds = Double.parseDouble(v);
            break;
          case "--seconds":
            o.seconds = Double.parseDouble(v);
            break;
          case "--rps":
            o.rps = Integer.parseInt(v);
            break;
          case "--concurrency":
            o.concurrency = Integer.parseInt(v);
            break;
          case "--rate-workers":
            o.rateWorkers = Integer.parseInt(v);
            break;
          case "--startup-runs":
            o.startupRuns = Integer.parseInt(v);
            break;
          case "--tool-runs":
            o.toolRuns = Integer.parseInt(v);
            break;
          case "--clients":
            o.clients = List.of(v.split(","));
            break;
          case "--sections":
            o.sections = List.of(v.split(","));
            for (String section : o.sections) {
              if (!SECTIONS.contains(section)) {
                throw new IllegalArgumentException(
                    "--sections " + v + ": unknown section " + section + " (expected: one of " + SECTIONS + ")");
              }
            }
            break;
          case "--footprint-runs":
            o.footprintRuns = Integer.parseInt(v);
            if (o.footprintRuns < 1) {
              throw new IllegalArgumentException("--footprint-runs " + v + " (expected: >= 1; 7 or more for the figures)");
            }
            break;
          case "--footprint-memory-runs":
            o.footprintMemoryRuns = Integer.parseInt(v);
            if (o.footprintMemoryRuns < 1) {
              throw new IllegalArgumentException("--footprint-memory-runs " + v + " (expected: >= 1)");
            }
            break;
          case "--footprint-idle-seconds":
            o.footprintIdleSeconds = Double.parseDouble(v);
            break;
          case "--footprint-load-seconds":
            o.footprintLoadSeconds = Double.parseDouble(v);
            break;
          case "--footprint-warmup-calls":
            o.footprintWarmupCalls = Integer.parseInt(v);
            break;
          case "--footprint-apps":
            o.footprintApps = List.of(v.split(","));
            for (String app : o.footprintApps) {
              if (!FootprintSection.APPS.contains(app)) {
                throw new IllegalArgumentException("--footprint-apps " + v + ": unknown application " + app
                    + " (expected: one or more of " + String.join(",", FootprintSection.APPS) + ")");
              }
            }
            break;
          case "--sidecar-client":
            o.sidecarClient = v;
            break;
          case "--rounds":
            o.rounds = Integer.parseInt(v);
            if (o.rounds < 1) {
              throw new IllegalArgumentException("--rounds " + v + " (expected: >= 1)");
            }
            break;
          case "--out":
            o.out = Path.of(v);
            break;
          default:
            throw new IllegalArgumentException(
                "unknown argument " + a + " (expected: --quick, --warmup-seconds, --seconds, --rps, --concurrency,"
                    + " --rate-workers, --startup-runs, --tool-runs, --clients, --sections, --sidecar-client, --rounds,"
                    + " --footprint-runs, --footprint-memory-runs, --footprint-idle-seconds, --footprint-load-seconds, --footprint-warmup-calls,"
                    + " --footprint-apps, --out)");
        }
      }
      return o;
    }
  }

  /** One parsed {@code RESULT key=value ...} line of the load client. */
  static final class Result {
    final Map<String, String> values = new LinkedHashMap<>();
    long newConnections = -1;
    /** CPU ticks over the client's measured window of the server, and of the proxies; -1 unknown. */
    long serverCpuTicks = -1;
    long proxyCpuTicks = -1;

    static Result parse(String line) {
      Result r = new Result();
      for (String kv : line.trim().split("\\s+")) {
        int eq = kv.indexOf('=');
        if (eq > 0) {
          r.values.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
      }
      return r;
    }

    double num(String key) {
      String v = values.get(key);
      return v == null ? Double.NaN : Double.parseDouble(v);
    }
  }

  private void run() throws Exception {
    boolean fileMode = options.sections.contains("file-mode");
    boolean sidecar = options.sections.contains("sidecar");
    boolean grpc = options.sections.contains("grpc");
    boolean footprint = options.sections.contains("footprint");
    Path agent = Jvm.agentJar();
    if (!Files.isRegularFile(agent)) {
      throw new IllegalStateException("agent jar not found at " + agent + " (build the agent module first)");
    }
    if (sidecar) {
      // Fail now, naming what is missing, rather than after minutes of load.
      SidecarPair.haproxyBinary();
    }
    if (footprint && options.footprintApps.contains("spring")) {
      Jvm.springAppClassPath(); // Fails now, naming the build command, if the application is missing.
    }
    if (sidecar || grpc || footprint) {
      Path controllerJar = Jvm.controllerJar();
      if (!Files.isRegularFile(controllerJar)) {
        throw new IllegalStateException(
            "controller jar not found at " + controllerJar + " (expected: built by ./mvnw package -pl controller -am)");
      }
    }

    line("# jmesh end-to-end benchmark");
    line("");
    line("- date: " + ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
    line("- machine: " + Runtime.getRuntime().availableProcessors() + " cores, " + cpuModel());
    line("- JDK: " + System.getProperty("java.vm.vendor") + " " + System.getProperty("java.runtime.version")
        + " (" + System.getProperty("java.home") + ")");
    if (Files.isRegularFile(agent)) {
      line(String.format(Locale.ROOT, "- agent jar: %s, %.2f MiB (%d bytes)", agent.getFileName(),
          Files.size(agent) / 1048576.0, Files.size(agent)));
    }
    if (fileMode || sidecar || grpc) {
      line(String.format(Locale.ROOT,
        "- load: warmup %.0f s, measure %.0f s; saturation with %d closed-loop threads; latency at %d req/s open"
            + " loop (%d workers, latency from the intended send time); server: HelloServer on %s, 1 KiB"
            + " bodies, 16 threads, TCP_NODELAY, same machine",
        options.warmupSeconds, options.seconds, options.concurrency, options.rps, options.rateWorkers, BIND));
    }
    if (fileMode) {
      line("- direct: no agent, URL http://" + BIND + ":<port>/; jmesh: -javaagent, JMESH_CONFIG file mode,"
          + " URL " + MESH_URL + " mapped to the same server");
    }
    if (sidecar) {
      line("- sidecar comparison: client " + label(options.sidecarClient) + ", a fresh server per scenario; "
          + "HAProxy " + haproxyVersion() + ", one thread per proxy, TLS 1.3, h2 between the proxies; jmesh: agent"
          + " in client and server, controller with --ca-dir (default leaves), TLS 1.3, h2 between the JVMs; "
          + options.rounds + " round(s), scenarios alternating");
    }
    if (grpc) {
      line("- gRPC comparison: GrpcLoadClient (grpc-netty-shaded 1.83.1, one channel, blocking unary calls of"
          + " /hello.Greeter/SayHello, small request) against GrpcHelloServer (1 KiB answers); direct: no agent,"
          + " target " + BIND + ":<port>, plaintext h2c; jmesh mTLS: agent in client and server, controller with"
          + " --ca-dir, target hello:8080, TLS 1.3 + h2 between the JVMs, h2c from the server's agent to the"
          + " application on loopback; " + options.rounds + " round(s)");
    }
    if (footprint) {
      line(String.format(Locale.ROOT, "- footprint: %s; alternating runs per side: %d for start-up, %d for memory"
              + " and CPU; -Xms256m -Xmx256m and -XX:NativeMemoryTracking=summary on both sides, idle %.0f s, load %d"
              + " req/s for %.0f s",
          String.join(", ", options.footprintApps), options.footprintRuns, options.footprintMemoryRuns,
          options.footprintIdleSeconds, options.rps, options.footprintLoadSeconds));
    }
    line("");
    flushProgress();

    if (fileMode) {
      runFileMode(agent);
    }
    if (sidecar) {
      runSidecarComparison();
    }
    if (grpc) {
      runGrpcComparison();
    }
    if (footprint) {
      new FootprintSection(options, workDir, this::line).run(agent);
    }

    System.out.println();
    System.out.println(report);
    Files.createDirectories(options.out.toAbsolutePath().getParent());
    Files.writeString(options.out, report.toString(), StandardCharsets.UTF_8);
    System.out.println("(written to " + options.out.toAbsolutePath() + ")");
  }

  /** Direct against jmesh in file mode, for each client; then start-up and the JDK tools. */
  private void runFileMode(Path agent) throws Exception {
    Path config = workDir.resolve("mesh.yaml");
    Map<String, Result[]> saturation = new LinkedHashMap<>();
    Map<String, Result[]> latency = new LinkedHashMap<>();
    Map<String, long[][]> startup = new LinkedHashMap<>();
    Consumer<Jvm.Builder> noAgent = b -> {};
    Consumer<Jvm.Builder> withAgent = b -> b.withAgent().env("JMESH_CONFIG", config.toString());
    for (String client : options.clients) {
      try (Jvm server = startServer("hello-server-" + client, b -> {})) {
        int port = server.awaitReady(30_000);
        Files.writeString(config, meshYaml(port), StandardCharsets.UTF_8);
        String direct = "http://" + BIND + ":" + port + "/";

        progress(client + ": saturation, direct");
        Result satDirect = load(client, "direct", direct, noAgent, port, -1, List.of(), "saturate");
        progress(client + ": saturation, jmesh");
        Result satMesh = load(client, "jmesh", MESH_URL, withAgent, port, -1, List.of(), "saturate");
        saturation.put(client, new Result[] {satDirect, satMesh});

        progress(client + ": " + options.rps + " req/s, direct");
        Result rateDirect = load(client, "direct", direct, noAgent, port, -1, List.of(), "rate");
        progress(client + ": " + options.rps + " req/s, jmesh");
        Result rateMesh = load(client, "jmesh", MESH_URL, withAgent, port, -1, List.of(), "rate");
        latency.put(client, new Result[] {rateDirect, rateMesh});

        progress(client + ": startup x" + options.startupRuns);
        startup.put(client, startup(client, direct, config));
      }
    }
    progress("JDK tools x" + options.toolRuns);
    List<String[]> tools = new ArrayList<>();
    tools.add(tool(agent, "keytool", "-help", options.toolRuns));
    tools.add(tool(agent, "jcmd", "-l", options.toolRuns));

    writeSaturation(saturation);
    writeLatency(latency);
    writeStartup(startup);
    writeTools(tools);
  }

  private static Jvm startServer(String name, Consumer<Jvm.Builder> configure) throws IOException {
    return startServer(name, BIND, 0, configure);
  }

  private static Jvm startServer(String name, String bind, int port, Consumer<Jvm.Builder> configure)
      throws IOException {
    Jvm.Builder b =
        Jvm.builder(name)
            .classPath(Jvm.appClassPath(null))
            // Without TCP_NODELAY the JDK server's separate header and body writes meet the
            // client's delayed ACK (Nagle): every response waits ~40 ms, for both paths alike.
            .jvmArg("-Dsun.net.httpserver.nodelay=true")
            .main("io.jmesh.smoke.apps.HelloServer", "--name", "hello", "--version", "v1", "--bind", bind,
                "--port", Integer.toString(port), "--body-bytes", "1024", "--threads", "16");
    configure.accept(b);
    return b.start();
  }

  /**
   * What one scenario of the sidecar comparison measured; RSS after the saturation run, and the
   * server's after the fixed-rate run too (the client reports its own in each RESULT).
   */
  private record ScenarioResult(Scenario scenario, Result saturation, Result rate, long serverRssKb,
      long proxyRssKb, int proxies, long controlPlaneRssKb, long rateServerRssKb, long rateProxyRssKb) {}

  /**
   * Every scenario in turn, each with its own server, saturation first and the fixed rate second;
   * with {@code --rounds n} the whole list n times, so that each scenario meets the machine's
   * changing load at several moments. A scenario that fails to start ends the run with its error:
   * a table with a silent gap would read as a result.
   */
  private void runSidecarComparison() throws Exception {
    String client = options.sidecarClient;
    for (int round = 1; round <= options.rounds; round++) {
      progress("sidecar comparison, round " + round + " of " + options.rounds + ", load average " + loadAverage());
      String loadBefore = loadAverage();
      List<ScenarioResult> results = new ArrayList<>();
      for (Scenario scenario : SIDECAR_SCENARIOS) {
        if (!scenario.runs()) {
          results.add(new ScenarioResult(scenario, null, null, -1, -1, 0, -1, -1, -1));
          continue;
        }
        results.add(runScenario(client, scenario));
      }
      writeSidecarComparison(client, results, round, loadBefore);
    }
  }

  private ScenarioResult runScenario(String client, Scenario scenario) throws Exception {
    try (Scenario.Run run = scenario.opener().open();
        Jvm server = startServer("hello-server-" + client, run.serverBind(BIND), run.serverPort(), run::server)) {
      int port = server.awaitReady(30_000);
      String host = run.serverBind(BIND);
      try (Scenario.Route route = run.route(server, host, port)) {
        progress(client + ": saturation, " + scenario.name());
        Result sat = load(client, scenario.name(), route.url(), route::client, port, server.pid(), route.pids(),
            "saturate");
        // Memory after the saturation run: the proxies have seen their peak connection count.
        long serverRss = ProcStat.rssKb(server.pid());
        long proxyRss = ProcStat.rssKb(route.pids());
        long controlPlaneRss = route.controlPlanePids().isEmpty() ? -1 : ProcStat.rssKb(route.controlPlanePids());
        progress(client + ": " + options.rps + " req/s, " + scenario.name());
        Result rate = load(client, scenario.name(), route.url(), route::client, port, server.pid(), route.pids(),
            "rate");
        // And after the fixed rate, where every row has answered the same requests: a JVM's RSS
        // follows its heap's growth, so this is the fairer point to compare JVMs with an agent.
        return new ScenarioResult(scenario, sat, rate, serverRss, proxyRss, route.pids().size(), controlPlaneRss,
            ProcStat.rssKb(server.pid()), ProcStat.rssKb(route.pids()));
      }
    }
  }

  /**
   * gRPC, unary, 1 KiB answers: direct (no agent) and jmesh with mTLS ({@link MeshTlsPath}), each
   * with its own server, saturation then the fixed rate; {@code --rounds} times, a table per round.
   */
  private void runGrpcComparison() throws Exception {
    for (int round = 1; round <= options.rounds; round++) {
      progress("gRPC comparison, round " + round + " of " + options.rounds + ", load average " + loadAverage());
      String loadBefore = loadAverage();
      Result[] direct;
      try (Jvm server = startGrpcServer("grpc-server-direct", BIND, 0, b -> {})) {
        int port = server.awaitReady(30_000);
        direct = grpcLoads("direct", BIND + ":" + port, b -> {}, port, server.pid());
      }
      Result[] mesh;
      try (MeshTlsPath run = MeshTlsPath.open(BIND, MESH_READY_TIMEOUT);
          Jvm server = startGrpcServer("grpc-server-jmesh", run.serverBind(BIND), run.serverPort(), run::server)) {
        int port = server.awaitReady(30_000);
        try (Scenario.Route route = run.route(server, run.serverBind(BIND), port)) {
          mesh = grpcLoads("jmesh mTLS", MeshTlsPath.TARGET, route::client, port, server.pid());
        }
      }
      writeGrpcComparison(direct, mesh, round, loadBefore);
    }
  }

  /** Saturation, then the fixed rate, of the gRPC load client against one server. */
  private Result[] grpcLoads(String label, String target, Consumer<Jvm.Builder> client, int port, long serverPid)
      throws Exception {
    progress("grpc: saturation, " + label);
    Result sat = load("grpc", label, target, client, port, serverPid, List.of(), "saturate");
    progress("grpc: " + options.rps + " req/s, " + label);
    Result rate = load("grpc", label, target, client, port, serverPid, List.of(), "rate");
    return new Result[] {sat, rate};
  }

  private static Jvm startGrpcServer(String name, String bind, int port, Consumer<Jvm.Builder> configure)
      throws IOException {
    Jvm.Builder b =
        Jvm.builder(name)
            .classPath(Jvm.appClassPath("grpc"))
            .main("io.jmesh.smoke.apps.GrpcHelloServer", "--name", "hello", "--version", "v1", "--bind", bind,
                "--port", Integer.toString(port), "--body-bytes", "1024");
    configure.accept(b);
    return b.start();
  }

  private void writeGrpcComparison(Result[] direct, Result[] mesh, int round, String loadBefore) {
    line("## gRPC, unary, 1 KiB answers: direct versus jmesh with mTLS (round " + round + " of " + options.rounds
        + ")");
    line("");
    line("Load average before the round: " + loadBefore + "; after it: " + loadAverage() + ". CPU per RPC ="
        + " (client + server) CPU time over the client's measured window / RPCs answered in it.");
    line("");
    line("### Throughput at saturation (at most " + options.concurrency + " RPCs in flight, closed loop)");
    line("");
    line("| path | throughput | vs direct | p50 | p99 | errors | CPU per RPC (client + server) | vs direct | client RSS |");
    line("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (int v = 0; v < 2; v++) {
      Result r = (v == 0 ? direct : mesh)[0];
      line(String.format(Locale.ROOT, "| %s | %.0f RPC/s | %.2f | %s | %s | %.0f | %s | %.2f | %.0f MiB |",
          v == 0 ? "direct (h2c)" : "jmesh mTLS", r.num("rps"), r.num("rps") / direct[0].num("rps"),
          us(r.num("p50_us")), us(r.num("p99_us")), r.num("errors"), cpuPerRequest(r),
          cpuMicrosPerRequest(r) / cpuMicrosPerRequest(direct[0]), r.num("rss_kb") / 1024));
    }
    line("");
    line("### Latency at " + options.rps + " RPC/s (open loop, from intended send time)");
    line("");
    line("| path | achieved | p50 | p90 | p99 | p50 / p90 / p99 vs direct | added p50 / p90 / p99 | errors"
        + " | CPU per RPC (client + server) | vs direct |");
    line("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    Result b = direct[1];
    for (int v = 0; v < 2; v++) {
      Result r = (v == 0 ? direct : mesh)[1];
      line(String.format(Locale.ROOT, "| %s | %.0f RPC/s | %s | %s | %s | %.2f / %.2f / %.2f | %s / %s / %s | %.0f | %s | %.2f |",
          v == 0 ? "direct (h2c)" : "jmesh mTLS", r.num("rps"), us(r.num("p50_us")), us(r.num("p90_us")),
          us(r.num("p99_us")), r.num("p50_us") / b.num("p50_us"), r.num("p90_us") / b.num("p90_us"),
          r.num("p99_us") / b.num("p99_us"), us(r.num("p50_us") - b.num("p50_us")),
          us(r.num("p90_us") - b.num("p90_us")), us(r.num("p99_us") - b.num("p99_us")), r.num("errors"),
          cpuPerRequest(r), cpuMicrosPerRequest(r) / cpuMicrosPerRequest(b)));
    }
    line("");
  }

  /** {@code /proc/loadavg}'s first three fields, or "unknown". */
  static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg"), StandardCharsets.US_ASCII).trim().split("\\s+");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException | RuntimeException e) {
      return "unknown";
    }
  }

  static String meshYaml(int port) {
    return "services:\n"
        + "  - name: hello\n"
        + "    ports: [8080]\n"
        + "    endpoints:\n"
        + "      - {address: " + BIND + ", port: " + port + ", labels: {version: v1}}\n";
  }

  /**
   * Runs the load client once and returns its RESULT line, with the TCP connections it (or the
   * proxy in front of the server) opened to {@code port}, and the CPU ticks that {@code serverPid}
   * (-1 for none) and {@code proxyPids} spent inside the client's measured window.
   */
  private Result load(String client, String label, String url, Consumer<Jvm.Builder> configure, int port,
      long serverPid, List<Long> proxyPids, String mode) throws Exception {
    boolean grpc = client.equals("grpc");
    Jvm.Builder b = Jvm.builder("load-" + client + "-" + label.replace(' ', '-'))
        .classPath(Jvm.appClassPath(grpc ? "grpc" : "okhttp4"));
    configure.accept(b);
    int threads = mode.equals("rate") ? options.rateWorkers : options.concurrency;
    String[] common = {"--mode", mode, "--seconds", Double.toString(options.seconds),
        "--warmup-seconds", Double.toString(options.warmupSeconds),
        "--concurrency", Integer.toString(threads), "--rps", Integer.toString(options.rps)};
    List<String> args = new ArrayList<>(grpc
        ? List.of("--target", url) // for gRPC, url is the channel's target, host:port
        : List.of("--client", client, "--url", url));
    args.addAll(List.of(common));
    b.main(grpc ? "io.jmesh.smoke.apps.GrpcLoadClient" : "io.jmesh.smoke.apps.LoadClient", args.toArray(new String[0]));
    Set<Integer> before = TcpTable.peerPorts(port);
    long timeout = (long) ((options.warmupSeconds + options.seconds) * 1000) + 90_000;
    try (Jvm jvm = b.start()) {
      // Sampled when the client announces its window's edges, so that every process is charged
      // for the same requests; the client measures its own CPU time itself.
      jvm.awaitLine(l -> l.equals("WINDOW start"), timeout);
      long serverFrom = serverPid < 0 ? -1 : ProcStat.cpuTicks(serverPid);
      long proxyFrom = ProcStat.cpuTicks(proxyPids);
      jvm.awaitLine(l -> l.equals("WINDOW end"), timeout);
      long serverTo = serverPid < 0 ? -1 : ProcStat.cpuTicks(serverPid);
      long proxyTo = ProcStat.cpuTicks(proxyPids);
      String line = jvm.awaitLine(l -> l.startsWith("RESULT "), timeout);
      int exit = jvm.awaitExit(30_000);
      Result r = Result.parse(line);
      r.serverCpuTicks = serverFrom < 0 || serverTo < 0 ? -1 : serverTo - serverFrom;
      r.proxyCpuTicks = proxyFrom < 0 || proxyTo < 0 ? -1 : proxyTo - proxyFrom;
      if (exit != 0) {
        System.out.println("  (load client exited with " + exit + ")");
      }
      // The client closes its connections when it exits; each leaves a TIME_WAIT entry for a minute.
      Set<Integer> after = TcpTable.peerPorts(port);
      after.removeAll(before);
      r.newConnections = after.size();
      System.out.println("  " + line + " tcp_connections=" + r.newConnections + " server_cpu_ticks="
          + r.serverCpuTicks + " proxy_cpu_ticks=" + r.proxyCpuTicks);
      for (String l : jvm.lines()) {
        if (l.contains("jmesh WARN") || l.contains("jmesh ERROR") || l.contains("Exception")) {
          System.out.println("  [" + label + " output] " + l);
        }
      }
      return r;
    }
  }

  /**
   * JVM start to first answered request, direct and through the mesh, alternating. Returns
   * {first_request_ms direct, first_request_ms jmesh, launch-to-exit ms direct, launch-to-exit ms jmesh}.
   */
  private long[][] startup(String client, String direct, Path config) throws Exception {
    int n = options.startupRuns;
    long[][] out = new long[4][n];
    for (int i = 0; i < n; i++) {
      for (int v = 0; v < 2; v++) {
        boolean mesh = v == 1;
        Jvm.Builder b = Jvm.builder("startup-" + client).classPath(Jvm.appClassPath("okhttp4"));
        if (mesh) {
          b.withAgent().env("JMESH_CONFIG", config.toString());
        }
        b.main("io.jmesh.smoke.apps.LoadClient", "--client", client, "--url", mesh ? MESH_URL : direct, "--mode", "once");
        long t0 = System.nanoTime();
        try (Jvm jvm = b.start()) {
          String line = jvm.awaitLine(l -> l.startsWith("RESULT "), 60_000);
          jvm.awaitExit(30_000);
          long wall = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
          Result r = Result.parse(line);
          if (!"200".equals(r.values.get("status"))) {
            System.out.println("  startup request failed: " + line + "\n" + jvm.output());
          }
          out[v][i] = (long) r.num("first_request_ms");
          out[2 + v][i] = wall;
        }
      }
    }
    System.out.println("  first_request_ms direct=" + Arrays.toString(out[0]) + " jmesh=" + Arrays.toString(out[1]));
    return out;
  }

  /**
   * Runs a JDK tool with and without {@code JAVA_TOOL_OPTIONS=-javaagent:<jar>}, alternating.
   * Returns {name, median off, min off, median on, min on, skipped?}.
   */
  static String[] tool(Path agent, String tool, String arg, int runs) throws Exception {
    Path exe = Path.of(System.getProperty("java.home"), "bin", tool);
    long[] off = new long[runs];
    long[] on = new long[runs];
    for (int i = 0; i < runs; i++) {
      off[i] = runTool(exe, arg, null);
      on[i] = runTool(exe, arg, agent);
    }
    // One more run with the agent's debug log, to show that the agent stood aside.
    ProcessBuilder pb = toolProcess(exe, arg, agent);
    pb.environment().put("JMESH_LOG_LEVEL", "debug");
    pb.redirectErrorStream(true);
    Process p = pb.start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor(60, TimeUnit.SECONDS);
    String skipped = "no";
    for (String l : output.split("\n")) {
      if (l.contains("jmesh") && l.contains("not started")) {
        skipped = "yes (`" + l.trim() + "`)";
      }
    }
    System.out.println("  " + tool + " " + arg + " off=" + Arrays.toString(off) + " on=" + Arrays.toString(on));
    return new String[] {
      tool + " " + arg, Long.toString(median(off)), Long.toString(min(off)), Long.toString(median(on)),
      Long.toString(min(on)), skipped
    };
  }

  private static ProcessBuilder toolProcess(Path exe, String arg, Path agent) {
    ProcessBuilder pb = new ProcessBuilder(exe.toString(), arg);
    pb.environment().remove("JAVA_TOOL_OPTIONS");
    pb.environment().keySet().removeIf(k -> k.startsWith("JMESH_"));
    if (agent != null) {
      pb.environment().put("JAVA_TOOL_OPTIONS", "-javaagent:" + agent);
    }
    return pb;
  }

  private static long runTool(Path exe, String arg, Path agent) throws Exception {
    ProcessBuilder pb = toolProcess(exe, arg, agent);
    pb.redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD);
    long t0 = System.nanoTime();
    Process p = pb.start();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException(exe + " " + arg + " did not finish within 60 s");
    }
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
  }

  private void writeSaturation(Map<String, Result[]> results) {
    line("## Throughput at saturation (" + options.concurrency + " threads, closed loop)");
    line("");
    line("| client | path | throughput | vs direct | p50 | p99 | errors | TCP connections opened | client RSS | RSS vs direct |");
    line("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (Map.Entry<String, Result[]> e : results.entrySet()) {
      Result base = e.getValue()[0];
      for (int v = 0; v < 2; v++) {
        Result r = e.getValue()[v];
        line(String.format(Locale.ROOT, "| %s | %s | %.0f req/s | %.2f | %s | %s | %.0f | %d | %.0f MiB | %.2f |",
            label(e.getKey()), v == 0 ? "direct" : "jmesh file mode", r.num("rps"), r.num("rps") / base.num("rps"),
            us(r.num("p50_us")), us(r.num("p99_us")), r.num("errors"), r.newConnections, r.num("rss_kb") / 1024,
            r.num("rss_kb") / base.num("rss_kb")));
      }
    }
    line("");
  }

  private void writeLatency(Map<String, Result[]> results) {
    line("## Latency at " + options.rps + " req/s (open loop, from intended send time)");
    line("");
    line("| client | path | achieved | p50 | p90 | p99 | max | p50 vs direct | p99 vs direct | errors | late (>10 ms) |");
    line("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (Map.Entry<String, Result[]> e : results.entrySet()) {
      Result base = e.getValue()[0];
      for (int v = 0; v < 2; v++) {
        Result r = e.getValue()[v];
        line(String.format(Locale.ROOT, "| %s | %s | %.0f req/s | %s | %s | %s | %s | %.2f | %.2f | %.0f | %.0f |",
            label(e.getKey()), v == 0 ? "direct" : "jmesh file mode", r.num("rps"), us(r.num("p50_us")),
            us(r.num("p90_us")), us(r.num("p99_us")), us(r.num("max_us")), r.num("p50_us") / base.num("p50_us"),
            r.num("p99_us") / base.num("p99_us"), r.num("errors"), r.num("late")));
      }
    }
    line("");
  }

  private void writeStartup(Map<String, long[][]> results) {
    line("## JVM start to first answered request (" + options.startupRuns + " runs each, median)");
    line("");
    line("| client | path | JVM start → response (median) | min | vs direct | process launch → exit (median) | vs direct |");
    line("|---|---|---:|---:|---:|---:|---:|");
    for (Map.Entry<String, long[][]> e : results.entrySet()) {
      long[][] r = e.getValue();
      for (int v = 0; v < 2; v++) {
        line(String.format(Locale.ROOT, "| %s | %s | %d ms | %d ms | %.2f | %d ms | %.2f |", label(e.getKey()),
            v == 0 ? "direct" : "jmesh file mode", median(r[v]), min(r[v]), (double) median(r[v]) / median(r[0]),
            median(r[2 + v]), (double) median(r[2 + v]) / median(r[2])));
      }
    }
    line("");
  }

  private void writeTools(List<String[]> tools) {
    writeTools("## JDK tools with JAVA_TOOL_OPTIONS=-javaagent:jmesh-agent.jar (" + options.toolRuns + " runs each)",
        tools, this::line);
  }

  /** The JDK tools table under {@code heading}, one row per result of {@link #tool}. */
  static void writeTools(String heading, List<String[]> tools, Consumer<String> out) {
    out.accept(heading);
    out.accept("");
    out.accept("| command | without agent (median / min) | with agent (median / min) | ratio (median) | agent skipped |");
    out.accept("|---|---:|---:|---:|---|");
    for (String[] t : tools) {
      out.accept(String.format(Locale.ROOT, "| `%s` | %s ms / %s ms | %s ms / %s ms | %.2f | %s |", t[0], t[1], t[2],
          t[3], t[4], Double.parseDouble(t[3]) / Double.parseDouble(t[1]), t[5]));
    }
    out.accept("");
  }

  private void writeSidecarComparison(String client, List<ScenarioResult> results, int round, String loadBefore) {
    ScenarioResult base = results.get(0);
    line("## Sidecar comparison (" + label(client) + ", same server program, round " + round + " of "
        + options.rounds + ")");
    line("");
    line("Load average before the round: " + loadBefore + "; after it: " + loadAverage() + ".");
    line("");
    line("CPU per request = (client + server + proxies) CPU time over the client's measured window"
        + " / requests answered in it; RSS after the saturation run and after the fixed-rate run.");
    line("");
    line("### Throughput at saturation (" + options.concurrency + " threads, closed loop)");
    line("");
    line("| path | throughput | vs direct | p50 | p99 | errors | connections to the server"
        + " | CPU per request (client + server + proxies) | vs direct |");
    line("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (ScenarioResult sr : results) {
      if (!sr.scenario().runs()) {
        line("| " + sr.scenario().name() + " | " + sr.scenario().pending() + " | | | | | | | |");
        continue;
      }
      Result r = sr.saturation();
      line(String.format(Locale.ROOT, "| %s | %.0f req/s | %.2f | %s | %s | %.0f | %d | %s | %.2f |",
          sr.scenario().name(), r.num("rps"), r.num("rps") / base.saturation().num("rps"), us(r.num("p50_us")),
          us(r.num("p99_us")), r.num("errors"), r.newConnections, cpuPerRequest(r),
          cpuMicrosPerRequest(r) / cpuMicrosPerRequest(base.saturation())));
    }
    line("");
    line("### Latency at " + options.rps + " req/s (open loop, from intended send time)");
    line("");
    line("| path | achieved | p50 | p90 | p99 | added p50 / p90 / p99 over direct | p99 vs direct | errors"
        + " | CPU per request (client + server + proxies) | vs direct |");
    line("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    Result b = base.rate();
    for (ScenarioResult sr : results) {
      if (!sr.scenario().runs()) {
        line("| " + sr.scenario().name() + " | " + sr.scenario().pending() + " | | | | | | | | |");
        continue;
      }
      Result r = sr.rate();
      line(String.format(Locale.ROOT, "| %s | %.0f req/s | %s | %s | %s | %s / %s / %s | %.2f | %.0f | %s | %.2f |",
          sr.scenario().name(), r.num("rps"), us(r.num("p50_us")), us(r.num("p90_us")), us(r.num("p99_us")),
          us(r.num("p50_us") - b.num("p50_us")), us(r.num("p90_us") - b.num("p90_us")),
          us(r.num("p99_us") - b.num("p99_us")), r.num("p99_us") / b.num("p99_us"), r.num("errors"),
          cpuPerRequest(r), cpuMicrosPerRequest(r) / cpuMicrosPerRequest(b)));
    }
    line("");
    writeMemory("after the saturation run", results, ScenarioResult::saturation, ScenarioResult::serverRssKb,
        ScenarioResult::proxyRssKb);
    writeMemory("after the fixed-rate run (the same requests for every row)", results, ScenarioResult::rate,
        ScenarioResult::rateServerRssKb, ScenarioResult::rateProxyRssKb);
  }

  /**
   * One memory table: memory added is the added processes' RSS, plus client + server RSS over
   * direct's where the path lives inside those JVMs; the control plane is shown apart.
   */
  private void writeMemory(String when, List<ScenarioResult> results, Function<ScenarioResult, Result> clientRun,
      ToLongFunction<ScenarioResult> serverRss, ToLongFunction<ScenarioResult> proxyRss) {
    line("### Resident memory " + when);
    line("");
    line("Memory added = the added processes' RSS, plus (client + server RSS) − direct's where the path"
        + " lives inside those JVMs (the agent); a control plane is not added but shown apart.");
    line("");
    line("| path | added processes | their RSS | server RSS | client RSS | client + server vs direct"
        + " | memory added | control plane RSS (not added) |");
    line("|---|---:|---:|---:|---:|---:|---:|---:|");
    ToLongFunction<ScenarioResult> jvmsRss = sr -> {
      double client = clientRun.apply(sr).num("rss_kb");
      long server = serverRss.applyAsLong(sr);
      return Double.isNaN(client) || client < 0 || server < 0 ? -1 : (long) client + server;
    };
    long baseJvms = jvmsRss.applyAsLong(results.get(0));
    for (ScenarioResult sr : results) {
      if (!sr.scenario().runs()) {
        line("| " + sr.scenario().name() + " | " + sr.scenario().pending() + " | | | | | | |");
        continue;
      }
      long jvms = jvmsRss.applyAsLong(sr);
      long proxies = proxyRss.applyAsLong(sr);
      // Either may be negative (heap growth under load dominates a JVM's RSS): printed with its sign.
      Long jvmGrowth = jvms < 0 || baseJvms < 0 ? null : jvms - baseJvms;
      Long added = proxies < 0 ? null
          : !sr.scenario().inJvms() ? Long.valueOf(proxies)
          : jvmGrowth == null ? null : proxies + jvmGrowth;
      line(String.format(Locale.ROOT, "| %s | %d | %s | %s | %s | %s | %s | %s |", sr.scenario().name(),
          sr.proxies(), mib(proxies), mib(serverRss.applyAsLong(sr)), mib((long) clientRun.apply(sr).num("rss_kb")),
          signedMib(jvmGrowth), signedMib(added), sr.controlPlaneRssKb() < 0 ? "–" : mib(sr.controlPlaneRssKb())));
    }
    line("");
  }

  /** Total CPU microseconds per answered request, or NaN when a figure is missing. */
  private static double cpuMicrosPerRequest(Result r) {
    double requests = r.num("requests");
    double clientMs = r.num("cpu_ms");
    if (!(requests > 0) || !(clientMs >= 0) || r.serverCpuTicks < 0 || r.proxyCpuTicks < 0) {
      return Double.NaN;
    }
    double ticksToMicros = 1e6 / ProcStat.TICKS_PER_SECOND;
    return (clientMs * 1000 + (r.serverCpuTicks + r.proxyCpuTicks) * ticksToMicros) / requests;
  }

  private static String cpuPerRequest(Result r) {
    double total = cpuMicrosPerRequest(r);
    if (Double.isNaN(total)) {
      return "n/a";
    }
    double requests = r.num("requests");
    double ticksToMicros = 1e6 / ProcStat.TICKS_PER_SECOND;
    return String.format(Locale.ROOT, "%.0f µs (%.0f + %.0f + %.0f)", total, r.num("cpu_ms") * 1000 / requests,
        r.serverCpuTicks * ticksToMicros / requests, r.proxyCpuTicks * ticksToMicros / requests);
  }

  /** A difference in KiB as MiB with its sign; "n/a" for null (a figure was missing). */
  private static String signedMib(Long kb) {
    return kb == null ? "n/a" : String.format(Locale.ROOT, "%+.1f MiB", kb / 1024.0);
  }

  private static String mib(long kb) {
    return kb < 0 ? "n/a" : String.format(Locale.ROOT, "%.1f MiB", kb / 1024.0);
  }

  /** The first line of {@code haproxy -v}, e.g. {@code 2.6.12-1+deb12u3}; "unknown" if it cannot run. */
  private static String haproxyVersion() {
    try {
      Process p = new ProcessBuilder(SidecarPair.haproxyBinary().toString(), "-v").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      p.waitFor(10, TimeUnit.SECONDS);
      String first = out.lines().findFirst().orElse("");
      String[] words = first.split("\\s+");
      return words.length >= 3 && words[0].equals("HAProxy") ? words[2] : "unknown (" + first.strip() + ")";
    } catch (IOException e) {
      return "unknown (" + e.getMessage() + ")";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "unknown (interrupted)";
    }
  }

  private static String label(String client) {
    return client.equals("jdk") ? "JDK HttpClient" : client.equals("jdk-async") ? "JDK HttpClient (sendAsync)" : client.equals("okhttp") ? "OkHttp 4.12" : client;
  }

  private static String us(double micros) {
    if (Double.isNaN(micros)) {
      return "n/a";
    }
    // By magnitude: a difference to direct may be negative (noise), and reads like any other figure.
    return Math.abs(micros) >= 10_000 ? String.format(Locale.ROOT, "%.1f ms", micros / 1000) : String.format(Locale.ROOT, "%.0f µs", micros);
  }

  static long median(long[] values) {
    long[] s = values.clone();
    Arrays.sort(s);
    return s.length == 0 ? 0 : s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }

  static long min(long[] values) {
    return Arrays.stream(values).min().orElse(0);
  }

  static String cpuModel() {
    try {
      for (String l : Files.readAllLines(Path.of("/proc/cpuinfo"), StandardCharsets.UTF_8)) {
        if (l.startsWith("model name")) {
          return l.substring(l.indexOf(':') + 1).trim();
        }
      }
    } catch (IOException e) {
      // Not Linux.
    }
    return System.getProperty("os.arch");
  }

  private void line(String s) {
    report.append(s).append('\n');
  }

  private void flushProgress() {
    System.out.print(report);
    System.out.flush();
  }

  static void progress(String s) {
    System.out.println("[bench] " + s);
    System.out.flush();
  }
}
