package io.jmesh.smoke.bench;

import io.jmesh.smoke.support.ControllerProcess;
import io.jmesh.smoke.support.Jvm;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * What the agent costs a JVM to carry (issue 20, point 1): the same load client application with
 * and without the agent, in alternating runs, both sides with the same memory settings ({@code
 * -Xms256m -Xmx256m}, so that heap sizing cannot differ) and {@code
 * -XX:NativeMemoryTracking=summary}.
 *
 * <p>The applications ({@link #APPS}): {@code LoadClient} with the JDK HttpClient, with OkHttp, or
 * with a Spring Boot application's {@code RestClient} (Spring starts before the first request);
 * {@code GrpcLoadClient}. Start-up is cheap to sample and memory is not, so the two have their own
 * run counts. A memory run ({@code --footprint-memory-runs}) starts a JVM without the agent and one
 * with it in file mode, each in the load client's {@code footprint} mode (warm-up calls; idle CPU
 * over {@code --footprint-idle-seconds} from {@code /proc/<pid>/stat}; RSS, threads and the NMT
 * summary idle; then {@code --rps} for {@code --footprint-load-seconds} and RSS, threads and NMT
 * again). A start-up run ({@code --footprint-runs}) starts four JVMs in {@code once} mode (start
 * to first answered request only): without the agent and with it in file mode, then without it and
 * with it in controller mode (a controller started once, before the runs, plaintext, no CA). Run i
 * does memory run i, then start-up run i, while either is left. Then {@code keytool -help} and
 * {@code jcmd -l} with and without the agent in {@code JAVA_TOOL_OPTIONS}. The server ({@code
 * HelloServer} or {@code GrpcHelloServer}) runs without the agent for the whole application.
 *
 * <p>It is a report: medians and ranges, no verdict. The harness thread waits out the idle window
 * with a sleep: that is the measurement, not a test.
 */
final class FootprintSection {
  private static final String BIND = "127.0.0.2";
  private static final String MEMORY = "-Xms256m -Xmx256m";
  private static final String NMT = "-XX:NativeMemoryTracking=summary";
  /** The applications {@code --footprint-apps} takes, in the order of the report. */
  static final List<String> APPS = List.of("jdk", "okhttp", "grpc", "spring");
  /** A start-up run whose first request was not answered; left out of medians and ranges. */
  static final long FAILED = -1;

  /** What one footprint-mode JVM measured. */
  static final class Sample {
    long idleCpuTicks = -1;
    long rssIdleKb = -1;
    long rssLoadedKb = -1;
    long threadsIdle = -1;
    long threadsLoaded = -1;
    String loaded = "";
    Map<String, Long> nmtIdle = Map.of();
    Map<String, Long> nmtLoaded = Map.of();
  }

  /** Everything measured for one application: [0] without the agent, [1] with it. */
  static final class AppResult {
    final String app;
    /** Memory runs, file mode. */
    final List<List<Sample>> file = List.of(new ArrayList<>(), new ArrayList<>());
    /** Start to first answered request, ms, per start-up run. */
    final long[][] fileStart;
    final long[][] controllerStart;

    AppResult(String app, int runs) {
      this.app = app;
      this.fileStart = new long[2][runs];
      this.controllerStart = new long[2][runs];
    }
  }

  private final BenchmarkHarness.Options options;
  private final Path workDir;
  private final Consumer<String> report;

  FootprintSection(BenchmarkHarness.Options options, Path workDir, Consumer<String> report) {
    this.options = options;
    this.workDir = workDir;
    this.report = report;
  }

  void run(Path agent) throws Exception {
    String loadStart = BenchmarkHarness.loadAverage();
    List<AppResult> results = new ArrayList<>();
    for (String app : options.footprintApps) {
      results.add(runApp(app));
    }
    List<String[]> tools = new ArrayList<>();
    tools.add(BenchmarkHarness.tool(agent, "keytool", "-help", options.footprintRuns));
    tools.add(BenchmarkHarness.tool(agent, "jcmd", "-l", options.footprintRuns));
    write(results, tools, loadStart, BenchmarkHarness.loadAverage());
  }

  private AppResult runApp(String app) throws Exception {
    boolean grpc = app.equals("grpc");
    int runs = options.footprintRuns;
    int memoryRuns = options.footprintMemoryRuns;
    AppResult result = new AppResult(app, runs);
    Path config = workDir.resolve("footprint-" + app + ".yaml");
    try (Jvm server = startServer(app)) {
      int port = server.awaitReady(30_000);
      Files.writeString(config, BenchmarkHarness.meshYaml(port), StandardCharsets.UTF_8);
      String direct = grpc ? BIND + ":" + port : "http://" + BIND + ":" + port + "/";
      String mesh = grpc ? "hello:8080" : "http://hello:8080/";
      try (ControllerProcess controller = new ControllerProcess(config, null).start()) {
        Consumer<Jvm.Builder> fileMode = b -> b.withAgent().env("JMESH_CONFIG", config.toString());
        Consumer<Jvm.Builder> controllerMode =
            b -> b.withAgent().env(controller.agentEnv()).env("JMESH_SERVICE", "footprint-client");
        for (int i = 0; i < Math.max(runs, memoryRuns); i++) {
          BenchmarkHarness.progress(String.format(Locale.ROOT, "footprint %s: run %d (memory %d, start-up %d), load"
              + " average %s", app, i + 1, memoryRuns, runs, BenchmarkHarness.loadAverage()));
          if (i < memoryRuns) {
            result.file.get(0).add(footprint(app, direct, b -> {}));
            result.file.get(1).add(footprint(app, mesh, fileMode));
          }
          if (i < runs) {
            result.fileStart[0][i] = once(app, direct, b -> {});
            result.fileStart[1][i] = once(app, mesh, fileMode);
            result.controllerStart[0][i] = once(app, direct, b -> {});
            result.controllerStart[1][i] = once(app, mesh, controllerMode);
          }
        }
      }
    }
    System.out.println("  " + app + " first_request_ms file direct=" + Arrays.toString(result.fileStart[0])
        + " file=" + Arrays.toString(result.fileStart[1]) + " controller direct="
        + Arrays.toString(result.controllerStart[0]) + " controller=" + Arrays.toString(result.controllerStart[1]));
    return result;
  }

  private static Jvm startServer(String app) throws IOException {
    boolean grpc = app.equals("grpc");
    Jvm.Builder b = Jvm.builder("footprint-server-" + app).classPath(Jvm.appClassPath(grpc ? "grpc" : null));
    if (!grpc) {
      b.jvmArg("-Dsun.net.httpserver.nodelay=true");
    }
    b.main(grpc ? "io.jmesh.smoke.apps.GrpcHelloServer" : "io.jmesh.smoke.apps.HelloServer", "--name", "hello",
        "--version", "v1", "--bind", BIND, "--port", "0", "--body-bytes", "1024");
    return b.start();
  }

  private Jvm.Builder client(String app, String target, String mode, Consumer<Jvm.Builder> agent) {
    boolean grpc = app.equals("grpc");
    String classPath =
        grpc ? Jvm.appClassPath("grpc") : app.equals("spring") ? Jvm.springAppClassPath() : Jvm.appClassPath("okhttp4");
    Jvm.Builder b = Jvm.builder("footprint-" + app).classPath(classPath);
    for (String arg : (MEMORY + " " + NMT).split(" ")) {
      b.jvmArg(arg);
    }
    agent.accept(b);
    List<String> args = new ArrayList<>(grpc ? List.of("--target", target) : List.of("--client", app, "--url", target));
    args.addAll(List.of("--mode", mode, "--seconds", Double.toString(options.footprintLoadSeconds),
        "--concurrency", Integer.toString(options.rateWorkers), "--rps", Integer.toString(options.rps),
        "--warmup-calls", Integer.toString(options.footprintWarmupCalls)));
    b.main(grpc ? "io.jmesh.smoke.apps.GrpcLoadClient" : "io.jmesh.smoke.apps.LoadClient", args.toArray(new String[0]));
    return b;
  }

  /**
   * One JVM in {@code once} mode: milliseconds from JVM start to the first answered request, or
   * {@link #FAILED} when the request got no 200 (an agent whose start gate expired under load lets
   * the call go unmeshed, and {@code hello:8080} does not resolve): that is no answer to time.
   */
  private long once(String app, String target, Consumer<Jvm.Builder> agent) throws Exception {
    try (Jvm jvm = client(app, target, "once", agent).start()) {
      String line = jvm.awaitLine(l -> l.startsWith("RESULT "), 120_000);
      jvm.awaitExit(30_000);
      BenchmarkHarness.Result r = BenchmarkHarness.Result.parse(line);
      if (!"200".equals(r.values.get("status"))) {
        System.out.println("  start-up request failed: " + line + "\n" + jvm.output());
      }
      printWarnings(app, jvm);
      return "200".equals(r.values.get("status")) ? (long) r.num("first_request_ms") : FAILED;
    }
  }

  /** One JVM in {@code footprint} mode, measured idle and after the load run. */
  private Sample footprint(String app, String target, Consumer<Jvm.Builder> agent) throws Exception {
    Sample s = new Sample();
    long loadMillis = (long) (options.footprintLoadSeconds * 1000);
    try (Jvm jvm = client(app, target, "footprint", agent).start()) {
      String first = jvm.awaitLine(l -> l.startsWith("RESULT mode=once"), 120_000);
      BenchmarkHarness.Result r = BenchmarkHarness.Result.parse(first);
      if (!"200".equals(r.values.get("status"))) {
        System.out.println("  first request failed: " + first + "\n" + jvm.output());
      }
      jvm.awaitLine(l -> l.startsWith("IDLE "), 120_000);
      long pid = jvm.pid();
      long cpuFrom = ProcStat.cpuTicks(pid);
      // The idle window itself: nothing to wait for but time.
      Thread.sleep((long) (options.footprintIdleSeconds * 1000));
      long cpuTo = ProcStat.cpuTicks(pid);
      s.idleCpuTicks = cpuFrom < 0 || cpuTo < 0 ? -1 : cpuTo - cpuFrom;
      s.rssIdleKb = ProcStat.rssKb(pid);
      s.threadsIdle = ProcStat.threads(pid);
      s.nmtIdle = NativeMemory.of(pid);
      jvm.send("load");
      s.loaded = jvm.awaitLine(l -> l.startsWith("LOADED "), loadMillis + 120_000);
      s.rssLoadedKb = ProcStat.rssKb(pid);
      s.threadsLoaded = ProcStat.threads(pid);
      s.nmtLoaded = NativeMemory.of(pid);
      jvm.send("exit");
      jvm.awaitExit(30_000);
      printWarnings(app, jvm);
    }
    return s;
  }

  /** The agent's warnings and errors (a start gate that expired shows here), for the log. */
  private static void printWarnings(String app, Jvm jvm) {
    for (String l : jvm.lines()) {
      if (l.contains("jmesh WARN") || l.contains("jmesh ERROR") || l.contains("Exception")) {
        System.out.println("  [footprint " + app + " output] " + l);
      }
    }
  }

  private static long[] values(List<Sample> samples, java.util.function.ToLongFunction<Sample> f) {
    return samples.stream().mapToLong(f).toArray();
  }

  private void line(String s) {
    report.accept(s);
  }

  private void write(List<AppResult> results, List<String[]> tools, String loadStart, String loadEnd) {
    int runs = options.footprintRuns;
    int memoryRuns = options.footprintMemoryRuns;
    line("## Footprint: what the agent costs a JVM (alternating runs per side: " + runs + " for start-up, "
        + memoryRuns + " for memory and CPU)");
    line("");
    line(String.format(Locale.ROOT,
        "Both sides `%s %s`; the client is the benchmark's load client (JDK HttpClient, OkHttp 4.12, gRPC 1.83"
            + " unary, or a Spring Boot 3.5 web application's RestClient on the JDK HttpClient), the server runs"
            + " without the agent. Load average at start %s, at end %s. Idle window %.0f s after %d warm-up calls;"
            + " load %d req/s for %.0f s. Figures are medians, with the range (min–max), over %d runs for start-up"
            + " and %d for memory, threads and CPU; \"added\" is the median with the agent minus the median"
            + " without.",
        MEMORY, NMT, loadStart, loadEnd, options.footprintIdleSeconds, options.footprintWarmupCalls, options.rps,
        options.footprintLoadSeconds, runs, memoryRuns));
    line("");
    line("### Start to first answered request (JVM start → end of the first response)");
    line("");
    line("| application | mode | without agent | with agent | added (median) |");
    line("|---|---|---:|---:|---:|");
    for (AppResult r : results) {
      long[] off = r.fileStart[0];
      long[] on = r.fileStart[1];
      line(String.format(Locale.ROOT, "| %s | file | %s | %s | %s |", label(r.app), msRange(off), msRange(on),
          addedMs(on, off)));
      long[] coff = r.controllerStart[0];
      long[] con = r.controllerStart[1];
      line(String.format(Locale.ROOT, "| %s | controller (already up) | %s | %s | %s |", label(r.app),
          msRange(coff), msRange(con), addedMs(con, coff)));
    }
    line("");
    line(String.format(Locale.ROOT,
        "### Resident memory, threads and idle CPU (file mode, %d runs per side; load: %d req/s for %.0f s)",
        memoryRuns, options.rps, options.footprintLoadSeconds));
    line("");
    line("| application | path | RSS idle | RSS after load | threads idle / after load | idle CPU |");
    line("|---|---|---:|---:|---:|---:|");
    for (AppResult r : results) {
      for (int v = 0; v < 2; v++) {
        List<Sample> s = r.file.get(v);
        line(String.format(Locale.ROOT, "| %s | %s | %s | %s | %d / %d | %s |", label(r.app),
            v == 0 ? "without agent" : "with agent", mibRange(values(s, x -> x.rssIdleKb)),
            mibRange(values(s, x -> x.rssLoadedKb)), BenchmarkHarness.median(values(s, x -> x.threadsIdle)),
            BenchmarkHarness.median(values(s, x -> x.threadsLoaded)), cpu(values(s, x -> x.idleCpuTicks))));
      }
      List<Sample> off = r.file.get(0);
      List<Sample> on = r.file.get(1);
      line(String.format(Locale.ROOT, "| %s | **added** | %s | %s | %+d / %+d | %s |", label(r.app),
          signedMib(delta(on, off, x -> x.rssIdleKb)), signedMib(delta(on, off, x -> x.rssLoadedKb)),
          delta(on, off, x -> x.threadsIdle), delta(on, off, x -> x.threadsLoaded),
          signedCpu(delta(on, off, x -> x.idleCpuTicks))));
    }
    line("");
    line("### Where the added memory is: Native Memory Tracking, committed, with agent minus without (medians)");
    line("");
    line("Heap is committed in full on both sides (`-Xms` = `-Xmx`), so it differs by nothing here; the RSS"
        + " difference in the heap is the pages touched. `direct (Other)` holds direct buffers (Netty's too);"
        + " `other` is GC, compiler, symbols, internal, NMT itself and the rest.");
    line("");
    StringBuilder head = new StringBuilder("| application | when |");
    StringBuilder rule = new StringBuilder("|---|---|");
    for (String g : NativeMemory.GROUPS) {
      head.append(' ').append(g).append(" |");
      rule.append("---:|");
    }
    line(head + " NMT total | RSS |");
    line(rule + "---:|---:|");
    for (AppResult r : results) {
      for (int w = 0; w < 2; w++) {
        boolean idle = w == 0;
        StringBuilder row = new StringBuilder("| " + label(r.app) + " | " + (idle ? "idle" : "after load") + " |");
        for (String g : NativeMemory.GROUPS) {
          row.append(' ').append(signedMib(nmtDelta(r, idle, g))).append(" |");
        }
        row.append(' ').append(signedMib(nmtDelta(r, idle, "total"))).append(" |");
        row.append(' ').append(signedMib(delta(r.file.get(1), r.file.get(0), idle ? x -> x.rssIdleKb : x -> x.rssLoadedKb)))
            .append(" |");
        line(row.toString());
      }
    }
    line("");
    BenchmarkHarness.writeTools("### JDK tools with JAVA_TOOL_OPTIONS=-javaagent:jmesh-agent.jar (" + runs
        + " runs each, alternating)", tools, report);
  }

  /** Median with agent minus median without of one NMT group; null where a summary is missing. */
  private static Long nmtDelta(AppResult r, boolean idle, String group) {
    long[][] sides = new long[2][];
    for (int v = 0; v < 2; v++) {
      List<Sample> s = r.file.get(v);
      long[] vals = s.stream().map(x -> idle ? x.nmtIdle : x.nmtLoaded).filter(m -> m.containsKey(group))
          .mapToLong(m -> m.get(group)).toArray();
      if (vals.length == 0) {
        return null;
      }
      sides[v] = vals;
    }
    return BenchmarkHarness.median(sides[1]) - BenchmarkHarness.median(sides[0]);
  }

  /** Median with agent minus median without; null when either side has an unknown (-1) value. */
  private static Long delta(List<Sample> on, List<Sample> off, java.util.function.ToLongFunction<Sample> f) {
    long[] a = values(on, f);
    long[] b = values(off, f);
    if (Arrays.stream(a).anyMatch(x -> x < 0) || Arrays.stream(b).anyMatch(x -> x < 0)) {
      return null;
    }
    return BenchmarkHarness.median(a) - BenchmarkHarness.median(b);
  }

  /** Median (range) of the answered runs, and how many were not answered. */
  static String msRange(long[] ms) {
    long[] ok = answered(ms);
    int failed = ms.length - ok.length;
    String unanswered = failed == 0 ? "" : String.format(Locale.ROOT, ", %d unanswered", failed);
    if (ok.length == 0) {
      return "n/a" + unanswered;
    }
    return String.format(Locale.ROOT, "%d ms (%d–%d%s)", BenchmarkHarness.median(ok), BenchmarkHarness.min(ok),
        Arrays.stream(ok).max().orElse(0), unanswered);
  }

  /** Median with the agent minus median without, over the answered runs of each side. */
  static String addedMs(long[] on, long[] off) {
    long[] a = answered(on);
    long[] b = answered(off);
    return a.length == 0 || b.length == 0 ? "n/a"
        : String.format(Locale.ROOT, "%+d ms", BenchmarkHarness.median(a) - BenchmarkHarness.median(b));
  }

  private static long[] answered(long[] ms) {
    return Arrays.stream(ms).filter(x -> x != FAILED).toArray();
  }

  private static String mibRange(long[] kb) {
    if (Arrays.stream(kb).anyMatch(x -> x < 0)) {
      return "n/a";
    }
    return String.format(Locale.ROOT, "%.1f MiB (%.1f–%.1f)", BenchmarkHarness.median(kb) / 1024.0,
        BenchmarkHarness.min(kb) / 1024.0, Arrays.stream(kb).max().orElse(0) / 1024.0);
  }

  /** Idle CPU in ms per second of the idle window, median (range). */
  private String cpu(long[] ticks) {
    if (Arrays.stream(ticks).anyMatch(x -> x < 0)) {
      return "n/a";
    }
    double perTick = 1000.0 / ProcStat.TICKS_PER_SECOND / options.footprintIdleSeconds;
    return String.format(Locale.ROOT, "%.1f ms/s (%.1f–%.1f)", BenchmarkHarness.median(ticks) * perTick,
        BenchmarkHarness.min(ticks) * perTick, Arrays.stream(ticks).max().orElse(0) * perTick);
  }

  private String signedCpu(Long ticks) {
    return ticks == null ? "n/a"
        : String.format(Locale.ROOT, "%+.1f ms/s", ticks * 1000.0 / ProcStat.TICKS_PER_SECOND / options.footprintIdleSeconds);
  }

  private static String signedMib(Long kb) {
    return kb == null ? "n/a" : String.format(Locale.ROOT, "%+.1f MiB", kb / 1024.0);
  }

  private static String label(String app) {
    switch (app) {
      case "jdk":
        return "JDK HttpClient";
      case "okhttp":
        return "OkHttp 4.12";
      case "grpc":
        return "gRPC 1.83";
      case "spring":
        return "Spring Boot 3.5";
      default:
        return app;
    }
  }
}
