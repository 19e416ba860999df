package io.jmesh.smoke.demo;

import io.jmesh.smoke.apps.HelloServer;
import io.jmesh.smoke.apps.TrafficClient;
import io.jmesh.smoke.support.ControllerProcess;
import io.jmesh.smoke.support.Jvm;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The local demo (the README's first command), the mesh as it should run: the jmesh controller,
 * also the certificate authority ({@code --ca-dir} in a temp directory), watching a YAML file that
 * the demo rewrites as a discovery source or an operator would; three {@link HelloServer} JVMs
 * (v1-a, v1-b on version v1, v2-a on v2) and one {@link TrafficClient} JVM, applications without
 * a line of mesh code, each started with {@code -javaagent:jmesh-agent.jar}, {@code
 * JMESH_CONTROLLER} and a bootstrap token file that the demo issued ({@code jmesh-controller
 * token}). Each agent gets a SPIFFE certificate from the controller; each server is reached only
 * through its agent's mesh inbound listener (mTLS), which passes the caller's proven identity on
 * as {@code x-jmesh-client-id}; the client's calls go over mesh TLS. It shows, live, which
 * instance answered each call and the identities on both ends:
 *
 * <ol>
 *   <li>"90/10 split between v1 and v2": the route splits 90/10 between the subsets;
 *   <li>"v1-b stopped (killed)": the demo kills v1-b with SIGKILL and rewrites the file without
 *       it; until the controller pushes the change (well within a second) calls that picked v1-b
 *       are retried on another endpoint; then all v1 traffic goes to v1-a;
 *   <li>"operator shifts the split to 50/50": the demo rewrites the weights.
 * </ol>
 *
 * <p>Phases are driven by the client's per-second {@code STATS} lines: phase 2 starts after
 * second {@code round(0.4 * seconds)}, phase 3 after {@code round(0.65 * seconds)}.
 *
 * <p>On a terminal it redraws a small table once a second. Otherwise (or with {@code --plain
 * true}) it prints one line per second, which is also the machine-readable form the smoke test
 * parses:
 *
 * <pre>
 * t=7 phase=2 cfg=settled | last 1s: v1-a=36 v1-b=0 v2-a=4 errors=0 | phase share: v1-a=88.1% ...
 * </pre>
 *
 * {@code cfg=settled} means the agent had applied the version the controller made of the file
 * the demo wrote last before that second began, so the second shows only the new configuration; {@code cfg=pending} seconds may
 * mix the old and the new one.
 *
 * <p>It prints the {@code jmesh check} command for its controller; run during the demo, every
 * check passes (the smoke test runs it).
 *
 * <p>Every JVM it starts is stopped at the end, on failure and on Ctrl-C (shutdown hook); and
 * each one ends by itself when the demo's process disappears ({@link ChildGuard}). The last line
 * is {@code demo finished: ...} or {@code demo failed: ...}.
 *
 * <p>Usage, from the repository root after {@code ./mvnw -q -B -DskipTests install}: {@code java
 * -cp smoke-tests/target/classes io.jmesh.smoke.demo.Demo [--seconds 40] [--rps 50] [--plain
 * true]}
 */
public final class Demo {
  static final int FIXED_PORT = 18081;
  static final String URL = "http://hello:8080/";
  private static final Pattern APPLIED = Pattern.compile("jmesh INFO xDS: applied version ([0-9a-f]+)");
  /** The agent's line when it has its first certificate (IdentityManager). */
  private static final Pattern IDENTITY = Pattern.compile("jmesh INFO identity: (spiffe://\\S+)");
  private static final String TRUST_DOMAIN_PREFIX = "spiffe://cluster.local/";
  private static final String SERVER_ACCOUNT = "hello";
  private static final String CLIENT_ACCOUNT = "traffic-client";
  private static final String[] BANNERS = {
    "90/10 split between v1 and v2",
    "v1-b stopped (killed) \u2014 discovery removes it",
    "operator shifts the split to 50/50",
  };

  /** One HelloServer. */
  static final class Instance {
    final String name;
    final String version;
    String address;
    /** The mesh inbound listener's port: the endpoint in mesh.yaml. */
    int port;
    /** Where the application listens, on loopback behind the listener. */
    int appPort;
    Jvm jvm;
    boolean down;
    /** The SPIFFE id its agent got, and the caller identity it saw first (guarded by the Demo). */
    String identity;
    String callerSeen;

    Instance(String name, String version) {
      this.name = name;
      this.version = version;
    }
  }

  private final int seconds;
  private final int rps;
  private final boolean tty;
  private final PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
  private final List<Instance> instances =
      List.of(new Instance("v1-a", "v1"), new Instance("v1-b", "v1"), new Instance("v2-a", "v2"));
  private final List<Jvm> started = new ArrayList<>();
  private final int phase2Tick;
  private final int phase3Tick;
  private Path dir;
  private Path config;
  private ControllerProcess controller;
  private String clientIdentity; // guarded by "this"

  // Statistics, all guarded by "this".
  private final List<Map<String, Long>> phaseCounts = new ArrayList<>();
  private final long[] phaseErrors = new long[3];
  private final Map<String, Long> overall = new LinkedHashMap<>();
  private long overallErrors;
  private int phase; // 1..3
  private int lastTick;
  private Map<String, Long> lastSecond = new LinkedHashMap<>();
  private long lastErrors;
  private String pendingVersion;
  private boolean applied;
  private int reloadSeenAfterTick;
  private int drawn;

  Demo(int seconds, int rps, boolean tty) {
    this.seconds = seconds;
    this.rps = rps;
    this.tty = tty;
    this.phase2Tick = Math.max(3, Math.round(seconds * 0.4f));
    this.phase3Tick = Math.max(phase2Tick + 3, Math.round(seconds * 0.65f));
    for (int i = 0; i < 3; i++) {
      Map<String, Long> m = new LinkedHashMap<>();
      for (Instance in : instances) {
        m.put(in.name, 0L);
      }
      phaseCounts.add(m);
    }
    for (Instance in : instances) {
      overall.put(in.name, 0L);
    }
  }

  public static void main(String[] args) {
    Map<String, String> opts = parse(args);
    int seconds = Integer.parseInt(opts.getOrDefault("seconds", "40"));
    int rps = Integer.parseInt(opts.getOrDefault("rps", "50"));
    if (seconds < 9 || seconds > 600 || rps < 1 || rps > 2000) {
      System.err.println("--seconds must be 9..600 and --rps 1..2000");
      System.exit(2);
    }
    boolean plain =
        Boolean.parseBoolean(opts.getOrDefault("plain", "false"))
            || System.console() == null
            || "dumb".equals(System.getenv("TERM"));
    Demo demo = new Demo(seconds, rps, !plain);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> demo.stopAll("interrupted"), "jmesh-demo-stop"));
    int code = 0;
    try {
      demo.run();
      demo.stopAll("demo finished");
    } catch (Exception e) {
      demo.event("demo failed: " + e.getMessage());
      demo.stopAll("demo failed");
      code = 1;
    }
    System.exit(code);
  }

  void run() throws Exception {
    Path agent = Jvm.agentJar();
    Path classes = Jvm.appClasses();
    if (!Files.isRegularFile(agent) || !Files.isDirectory(classes.resolve("io/jmesh/smoke/apps"))) {
      throw new IllegalStateException(
          "missing " + agent + " or " + classes
              + ": run the demo from the repository root after ./mvnw -q -B -DskipTests install");
    }
    dir = Files.createTempDirectory("jmesh-demo-");
    config = dir.resolve("mesh.yaml");
    event("jmesh demo: " + seconds + " s of traffic at " + rps + " rps to " + URL
        + " (phase 2 after t=" + phase2Tick + " s, phase 3 after t=" + phase3Tick + " s)");
    event("every JVM runs the agent; the controller (watching " + config + ") is the CA;"
        + " each workload proves itself with a bootstrap token and every call is mutual TLS");

    for (int i = 0; i < instances.size(); i++) {
      Instance in = instances.get(i);
      pickAddress(in, "127.0.0." + (2 + i));
      in.appPort = freePort(0);
    }
    writeConfig(true, 90, 10, "all three endpoints, split 90/10");
    startController();
    event("started the jmesh controller as CA: xDS on " + controller.xdsAddress() + ", admin on http://127.0.0.1:"
        + controller.adminPort() + "/agents, pid " + controller.jvm().pid());
    Path serverToken = tokenFile(SERVER_ACCOUNT);
    Path clientToken = tokenFile(CLIENT_ACCOUNT);
    event("issued bootstrap tokens for service accounts " + SERVER_ACCOUNT + " and " + CLIENT_ACCOUNT
        + " (jmesh-controller token), handed over as files: " + serverToken + ", " + clientToken);

    for (Instance in : instances) {
      Jvm.Builder server = Jvm.builder(in.name);
      agentEnv(server, SERVER_ACCOUNT, serverToken);
      in.jvm = track(serveThroughMesh(server, in).start());
    }
    for (Instance in : instances) {
      awaitServer(in);
      event("started HelloServer " + in.name + " (version " + in.version + "), identity " + in.identity
          + ", mesh mTLS on " + in.address + ":" + in.port + ", app on 127.0.0.1:" + in.appPort + ", pid " + in.jvm.pid());
    }
    enterPhase(1);

    Jvm.Builder traffic = Jvm.builder("traffic-client");
    agentEnv(traffic, CLIENT_ACCOUNT, clientToken);
    // The first call to hello waits for its routes and endpoints rather than failing, and 30
    // calls in sequence open the TLS connections before the seconds that count begin.
    Jvm client = track(traffic
        .env("JMESH_XDS_FIRST_USE_TIMEOUT_MS", "30000")
        .main(ChildGuard.class.getName(), TrafficClient.class.getName(), "--url", URL,
            "--rps", Integer.toString(rps), "--seconds", Integer.toString(seconds),
            "--timeout-ms", "10000", "--warmup-calls", "30")
        .start());
    event("started TrafficClient with -javaagent, pid " + client.pid());
    event("check the mesh from another terminal, at the repository root: " + checkCommand());
    event("also: JMESH_CONTROLLER_ADMIN=127.0.0.1:" + controller.adminPort()
        + " bin/jmesh stat   (and tap hello --max 5, routes hello, endpoints hello)");

    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds + 120L);
    while (true) {
      long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
      // The first line waits for the agent's start; later ones come every second.
      String line = client.awaitLine(l -> true, Math.max(1, Math.min(left, lastTick == 0 ? 60_000 : 10_000)));
      if (line.startsWith("STATS ")) {
        onTick(line);
      } else if (line.startsWith("ERROR ")) {
        event("client error: " + line.substring(line.indexOf(' ', 6) + 1));
      } else if (line.startsWith("WARMUP ")) {
        event("client warm-up, outside the statistics: " + line.substring("WARMUP ".length()));
      } else if (line.startsWith("SEEN ")) {
        onSeen(line);
      } else if (line.startsWith("DONE ")) {
        event("client " + line);
        break;
      } else if (line.contains("jmesh ")) {
        onAgentLog(line);
      } else if (!line.contains("Sharing is only supported")) {
        event("[client] " + line);
      }
    }
    int exit = client.awaitExit(15_000);
    if (exit != 0) {
      throw new IllegalStateException("the client exited with " + exit);
    }
    if (lastTick != seconds) {
      throw new IllegalStateException("the client reported " + lastTick + " of " + seconds + " seconds");
    }
    summary();
  }

  /** Starts the controller as the mesh's CA; its files live in the demo's temp directory. */
  private void startController() throws IOException, InterruptedException {
    controller = new ControllerProcess(config, null).withArgs("--ca-dir", dir.resolve("ca").toString());
    track(controller.start().jvm());
  }

  /** The agent's settings for one workload: controller mode, a token file, an admin port of its own. */
  private void agentEnv(Jvm.Builder jvm, String serviceAccount, Path tokenFile) throws IOException {
    jvm.withAgent()
        // The controller's address, and its trust anchor, handed over out of band as a file.
        .env(controller.agentEnv())
        .env("JMESH_SERVICE", serviceAccount)
        .env("JMESH_BOOTSTRAP_TOKEN_FILE", tokenFile.toString())
        // Hold the application until it is meshed (config and certificate), also on a slow
        // machine where five JVMs start at once: the demo shows no unmeshed call.
        .env("JMESH_XDS_INITIAL_WAIT_MS", "30000")
        .env("JMESH_IDENTITY_WAIT_MS", "30000")
        // Every JVM with the agent needs an admin port of its own on a shared host.
        .env("JMESH_ADMIN_PORT", Integer.toString(freePort(0)));
  }

  /**
   * How a HelloServer is reached only through the mesh: the application listens on loopback, the
   * agent's inbound listener (mTLS) takes the endpoint's address and port and forwards to it.
   */
  private static Jvm.Builder serveThroughMesh(Jvm.Builder jvm, Instance in) {
    return jvm
        .env("JMESH_INBOUND_ADDRESS", in.address)
        .env("JMESH_INBOUND_PORT", Integer.toString(in.port))
        .env("JMESH_APP_PORT", Integer.toString(in.appPort))
        .main(ChildGuard.class.getName(), HelloServer.class.getName(), "--name", in.name,
            "--version", in.version, "--bind", "127.0.0.1", "--port", Integer.toString(in.appPort));
  }

  /**
   * Issues a bootstrap token for {@code serviceAccount} (namespace default) with the controller's
   * {@code token} command and writes it to a file only this user can read: a token never goes
   * into a {@code -D} property, which {@code ps} shows.
   */
  private Path tokenFile(String serviceAccount) throws IOException, InterruptedException {
    String token = ControllerProcess.token(dir.resolve("ca"), "default", serviceAccount, "1h");
    Path file = dir.resolve(serviceAccount + ".token");
    Files.createFile(file);
    try {
      Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    } catch (UnsupportedOperationException notPosix) {
      // Windows: the temp directory is the user's own.
    }
    Files.writeString(file, token + "\n");
    return file;
  }

  /** Waits, bounded, for the server's READY, its agent's identity and its inbound listener. */
  private void awaitServer(Instance in) throws InterruptedException {
    String listening = "mesh inbound listener on " + in.address + ":" + in.port;
    boolean ready = false;
    boolean listens = false;
    String identity = null;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    // The agent's lines and the application's READY come in either order.
    while (!ready || !listens || identity == null) {
      long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
      String line = in.jvm.awaitLine(l -> true, Math.max(1, left));
      ready |= line.startsWith("READY ");
      listens |= line.contains(listening);
      Matcher m = IDENTITY.matcher(line);
      if (m.find()) {
        identity = m.group(1);
      }
    }
    synchronized (this) {
      in.identity = identity;
    }
  }

  /** The {@code jmesh check} command for this demo's controller, as a user types it. */
  private String checkCommand() {
    return "bin/jmesh --controller-admin 127.0.0.1:" + controller.adminPort() + " check";
  }

  /** {@code preferred} when it is free on loopback (0: any), else any free port. */
  private static int freePort(int preferred) throws IOException {
    try (ServerSocket s = new ServerSocket()) {
      s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), preferred));
      return s.getLocalPort();
    } catch (IOException taken) {
      try (ServerSocket s = new ServerSocket()) {
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        return s.getLocalPort();
      }
    }
  }

  /** 127.0.0.x:18081 when free; else a free port on 127.0.0.x; else a free port on 127.0.0.1. */
  private static void pickAddress(Instance in, String loopback) {
    for (String[] candidate : new String[][] {{loopback, "" + FIXED_PORT}, {loopback, "0"}, {"127.0.0.1", "0"}}) {
      try (ServerSocket s = new ServerSocket()) {
        s.bind(new InetSocketAddress(InetAddress.getByName(candidate[0]), Integer.parseInt(candidate[1])));
        in.address = candidate[0];
        // The endpoint goes into mesh.yaml before the listener starts: keep the port just found.
        in.port = s.getLocalPort();
        return;
      } catch (IOException e) {
        // Taken, or no such loopback address (macOS has only 127.0.0.1): try the next.
      }
    }
    throw new IllegalStateException("no free loopback port for " + in.name);
  }

  private void onTick(String line) throws Exception {
    int t = 0;
    long errors = 0;
    Map<String, Long> counts = new LinkedHashMap<>();
    for (Instance in : instances) {
      counts.put(in.name, 0L);
    }
    for (String token : line.substring("STATS ".length()).trim().split(" ")) {
      int eq = token.indexOf('=');
      String key = token.substring(0, eq);
      long value = Long.parseLong(token.substring(eq + 1));
      if (key.equals("t")) {
        t = (int) value;
      } else if (key.equals("errors")) {
        errors = value;
      } else if (key.equals("skipped")) {
        event("client could not keep up: " + value + " calls skipped in second " + t);
      } else {
        counts.merge(key, value, Long::sum);
      }
    }
    synchronized (this) {
      lastTick = t;
      lastSecond = counts;
      lastErrors = errors;
      Map<String, Long> phaseMap = phaseCounts.get(phase - 1);
      counts.forEach((k, v) -> {
        phaseMap.merge(k, v, Long::sum);
        overall.merge(k, v, Long::sum);
      });
      phaseErrors[phase - 1] += errors;
      overallErrors += errors;
      boolean settled = applied && t >= reloadSeenAfterTick + 2;
      if (tty) {
        redraw(null);
      } else {
        StringBuilder s = new StringBuilder("t=").append(t).append(" phase=").append(phase)
            .append(" cfg=").append(settled ? "settled" : "pending").append(" | last 1s:");
        counts.forEach((k, v) -> s.append(' ').append(k).append('=').append(v));
        s.append(" errors=").append(errors).append(" | phase share:");
        long sum = sum(phaseMap);
        phaseMap.forEach((k, v) -> s.append(' ').append(k).append('=').append(pct(v, sum)));
        out.println(s);
      }
    }
    if (t == phase2Tick) {
      enterPhase(2);
      Instance b = instances.get(1);
      ProcessHandle.of(b.jvm.pid()).ifPresent(ProcessHandle::destroyForcibly);
      b.jvm.awaitExit(10_000);
      synchronized (this) {
        b.down = true;
      }
      event("killed " + b.name + " (pid " + b.jvm.pid() + ") with SIGKILL");
      writeConfig(false, 90, 10, "discovery removed " + b.name + "'s endpoint");
    } else if (t == phase3Tick) {
      enterPhase(3);
      writeConfig(false, 50, 50, "operator set the split to 50/50");
    }
  }

  /** {@code SEEN <instance> client=<id>}: the caller identity that instance's application saw. */
  private void onSeen(String line) {
    String[] parts = line.split(" ");
    String seen = parts.length > 2 && parts[2].startsWith("client=") ? parts[2].substring("client=".length()) : "?";
    synchronized (this) {
      for (Instance in : instances) {
        if (in.name.equals(parts[1])) {
          in.callerSeen = seen;
        }
      }
    }
    event(parts[1] + " answered its first call: the caller it saw (x-jmesh-client-id) is " + seen);
  }

  private void onAgentLog(String line) {
    Matcher id = IDENTITY.matcher(line);
    if (id.find()) {
      synchronized (this) {
        clientIdentity = id.group(1);
      }
      event("the client's agent has its identity " + id.group(1) + " from the controller's CA");
      return;
    }
    Matcher m = APPLIED.matcher(line);
    if (m.find()) {
      synchronized (this) {
        if (m.group(1).equals(pendingVersion)) {
          applied = true;
          // Before the first second there was no traffic yet: every second is settled.
          reloadSeenAfterTick = lastTick == 0 ? -1 : lastTick;
        }
      }
      event("the agent in the client applied version " + m.group(1) + " from the controller");
    } else {
      int at = line.indexOf("jmesh ");
      event("[agent] " + line.substring(at + "jmesh ".length()));
    }
  }

  private void enterPhase(int p) {
    synchronized (this) {
      phase = p;
    }
    event((tty ? "\033[1m" : "") + "=== phase " + p + "/3: " + BANNERS[p - 1] + " ===" + (tty ? "\033[0m" : ""));
  }

  private void writeConfig(boolean withV1b, int v1Weight, int v2Weight, String why) throws IOException {
    StringBuilder y = new StringBuilder();
    y.append("# written by the jmesh demo: ").append(why).append('\n');
    // The identity hello's endpoints must prove: with it the client's calls go over mesh TLS.
    y.append("services:\n  - name: hello\n    ports: [8080]\n    identities: [").append(TRUST_DOMAIN_PREFIX)
        .append("ns/default/sa/").append(SERVER_ACCOUNT).append("]\n    endpoints:\n");
    for (Instance in : instances) {
      if (in.name.equals("v1-b") && !withV1b) {
        continue;
      }
      y.append("      - {address: ").append(in.address).append(", port: ").append(in.port)
          .append(", labels: {version: ").append(in.version).append("}}\n");
    }
    y.append("    routes:\n      - name: split\n        backends:\n");
    y.append("          - {subset: {version: v1}, weight: ").append(v1Weight).append("}\n");
    y.append("          - {subset: {version: v2}, weight: ").append(v2Weight).append("}\n");
    String version = ControllerProcess.write(config, y.toString());
    synchronized (this) {
      pendingVersion = version;
      applied = false;
    }
    event("wrote mesh.yaml version " + version + ": " + why);
  }

  /** Prints a line above the live table (terminal) or as it is (plain). */
  synchronized void event(String text) {
    String line = (lastTick > 0 ? "[t=" + lastTick + "] " : "") + text;
    if (tty) {
      redraw(line);
    } else {
      out.println(line);
    }
  }

  private void redraw(String eventLine) {
    StringBuilder s = new StringBuilder();
    if (drawn > 0) {
      s.append("\033[").append(drawn).append("F\033[J");
    }
    if (eventLine != null) {
      s.append(eventLine).append('\n');
    }
    if (lastTick == 0) {
      drawn = 0;
      out.print(s);
      out.flush();
      return;
    }
    List<String> block = new ArrayList<>();
    block.add(String.format(Locale.ROOT, "\033[1mjmesh demo\033[0m  t=%d/%d s  %d rps  config %s %s", lastTick, seconds, rps,
        pendingVersion, applied ? "(applied by the agent)" : "(waiting for the controller and the agent)"));
    block.add("\033[1mphase " + phase + "/3: " + BANNERS[phase - 1] + "\033[0m");
    block.add("  mutual TLS; identities are " + TRUST_DOMAIN_PREFIX + "<shown>; client "
        + shortId(clientIdentity));
    block.add(String.format(Locale.ROOT, "  %-8s %-9s %7s   %-28s %8s   %-20s %s", "instance", "version", "last 1s",
        "share this phase", "overall", "server identity", "caller it saw"));
    Map<String, Long> phaseMap = phaseCounts.get(phase - 1);
    long phaseSum = sum(phaseMap);
    long overallSum = sum(overall);
    for (Instance in : instances) {
      long p = phaseMap.getOrDefault(in.name, 0L);
      double share = phaseSum == 0 ? 0 : 100.0 * p / phaseSum;
      String bar = "\u2588".repeat((int) Math.round(share / 5));
      block.add(String.format(Locale.ROOT, "  %-8s %-9s %7d   %6.1f%% %-20s %8s   %-20s %s", in.name,
          in.version + (in.down ? " DOWN" : ""), lastSecond.getOrDefault(in.name, 0L), share, bar,
          pct(overall.getOrDefault(in.name, 0L), overallSum), shortId(in.identity), shortId(in.callerSeen)));
    }
    block.add(String.format(Locale.ROOT, "  %-8s %-9s %7d   this phase %d, overall %d", "errors", "", lastErrors,
        phaseErrors[phase - 1], overallErrors));
    for (String l : block) {
      s.append(l).append('\n');
    }
    drawn = block.size();
    out.print(s);
    out.flush();
  }

  private void summary() {
    List<String> lines = new ArrayList<>();
    synchronized (this) {
      lines.add("");
      lines.add("summary: " + seconds + " s at " + rps + " rps; calls answered by each instance (share of answered calls)");
      StringBuilder head = new StringBuilder(String.format(Locale.ROOT, "  %-48s", "phase"));
      for (Instance in : instances) {
        head.append(String.format(Locale.ROOT, " %15s", in.name));
      }
      lines.add(head.append(String.format(Locale.ROOT, " %8s", "errors")).toString());
      for (int p = 0; p < 3; p++) {
        lines.add(row((p + 1) + " " + BANNERS[p], phaseCounts.get(p), phaseErrors[p]));
      }
      lines.add(row("all phases", overall, overallErrors));
      lines.add("identities (mutual TLS on every call): client " + clientIdentity);
      for (Instance in : instances) {
        lines.add("  " + in.name + " served as " + in.identity + " and saw the caller " + in.callerSeen);
      }
      drawn = 0;
    }
    for (String l : lines) {
      out.println(l);
    }
  }

  /** A SPIFFE id without the trust domain's prefix, which the table names once. */
  private static String shortId(String id) {
    if (id == null) {
      return "-";
    }
    return id.startsWith(TRUST_DOMAIN_PREFIX) ? id.substring(TRUST_DOMAIN_PREFIX.length()) : id;
  }

  private String row(String label, Map<String, Long> counts, long errors) {
    long sum = sum(counts);
    StringBuilder r = new StringBuilder(String.format(Locale.ROOT, "  %-48s", label));
    for (Instance in : instances) {
      long n = counts.getOrDefault(in.name, 0L);
      r.append(String.format(Locale.ROOT, " %15s", n + " (" + pct(n, sum) + ")"));
    }
    return r.append(String.format(Locale.ROOT, " %8d", errors)).toString();
  }

  private Jvm track(Jvm jvm) {
    synchronized (started) {
      started.add(jvm);
    }
    return jvm;
  }

  /** Stops every JVM this demo started (idempotent; also the shutdown hook) and removes the temp files. */
  void stopAll(String why) {
    List<Jvm> jvms;
    synchronized (started) {
      jvms = new ArrayList<>(started);
      started.clear();
    }
    if (jvms.isEmpty() && dir == null) {
      return;
    }
    List<Long> alive = new ArrayList<>();
    for (Jvm jvm : jvms) {
      jvm.close();
      if (jvm.isAlive()) {
        alive.add(jvm.pid());
      }
    }
    Path d = dir;
    dir = null;
    if (d != null) {
      // mesh.yaml, the CA's directory (its keys) and the token files.
      try (java.util.stream.Stream<Path> all = Files.walk(d)) {
        for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      } catch (IOException e) {
        out.println("could not remove " + d + ": " + e);
      }
    }
    synchronized (this) {
      drawn = 0;
    }
    out.println(why + ": stopped " + jvms.size() + " JVMs"
        + (alive.isEmpty() ? ", none left running" : ", STILL RUNNING: pids " + alive));
    out.flush();
  }

  /** {@code --key value} pairs. */
  static Map<String, String> parse(String[] args) {
    Map<String, String> opts = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (!args[i].startsWith("--") || i + 1 >= args.length) {
        throw new IllegalArgumentException(
            "usage: Demo [--seconds 40] [--rps 50] [--plain true] (bad argument " + args[i] + ")");
      }
      opts.put(args[i].substring(2), args[++i]);
    }
    return opts;
  }

  private static long sum(Map<String, Long> m) {
    long s = 0;
    for (long v : m.values()) {
      s += v;
    }
    return s;
  }

  private static String pct(long n, long of) {
    return of == 0 ? "0.0%" : String.format(Locale.ROOT, "%.1f%%", 100.0 * n / of);
  }
}
