package io.jmesh.smoke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.jmesh.smoke.demo.Demo;
import io.jmesh.smoke.support.Jvm;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Runs the local demo ({@link Demo}) as its own JVM, 15 s at 40 rps, and checks from its plain,
 * machine-readable output that the three phases really happened with mTLS on:
 *
 * <ul>
 *   <li>while it runs, the {@code jmesh check} command it prints is all green: the controller
 *       is the CA, and every agent (three servers, one client) has ACKed and answers on its admin
 *       port; no warning and no failure line.
 *   <li>identities: each server's agent holds {@code sa/hello}, the client's {@code
 *       sa/traffic-client}, and each server saw the client's SPIFFE id in {@code
 *       x-jmesh-client-id}, which only the mesh inbound listener sets.
 *   <li>phase 1 (90/10): v2's share of the answered calls is between 3% and 25%, and no errors.
 *   <li>phase 2 (v1-b killed, then removed from the file): every second that began after the
 *       agent reloaded the file ({@code cfg=settled}) has no call to v1-b and no error, and v1-a
 *       takes the v1 traffic. Errors between the kill and the reload are allowed (no retries yet).
 *   <li>phase 3 (50/50): over the settled seconds, v1's share and v2's share are each within
 *       35%..65%.
 *   <li>every JVM the demo started is gone after it exits.
 * </ul>
 *
 * <p>Statistical tolerance: the split is random per call. Phase 1 has about 6 s x 40 = 240
 * calls: v2's expected share is 10% with a standard deviation of about 1.9 points, so 3%..25%
 * is more than 3.5 standard deviations away on either side. Phase 3 has at least about 3 settled
 * seconds (120 calls): the standard deviation of a 50% share is about 4.6 points, so 35%..65%
 * is more than 3.2 standard deviations away (a false failure well under 1 in 500 runs).
 *
 * <p>No sleeps: the test waits, bounded, for the demo's lines, and polls {@code jmesh check}
 * (bounded) until one run is green: a run during a config push may see an agent that has not yet
 * ACKed the new version, which is a real but passing state.
 */
class DemoSmokeTest {
  private static final Pattern TICK =
      Pattern.compile("^t=(\\d+) phase=(\\d) cfg=(settled|pending) \\| last 1s: (.*?) \\|");
  private static final Pattern PID = Pattern.compile("pid (\\d+)");
  private static final Pattern CHECK = Pattern.compile("bin/jmesh --controller-admin (\\S+) check");
  private static final String SERVER_ID = "spiffe://cluster.local/ns/default/sa/hello";
  private static final String CLIENT_ID = "spiffe://cluster.local/ns/default/sa/traffic-client";

  record Tick(int t, int phase, boolean settled, Map<String, Long> counts, long errors) {
    long v1() {
      return counts.getOrDefault("v1-a", 0L) + counts.getOrDefault("v1-b", 0L);
    }

    long v2() {
      return counts.getOrDefault("v2-a", 0L);
    }
  }

  @Test
  void demoShowsSplitFailoverAndShift() throws Exception {
    List<String> lines;
    try (Jvm demo =
        Jvm.builder("demo")
            .jvmArg("-Djmesh.agent.jar=" + Jvm.agentJar())
            .jvmArg("-Djmesh.apps.classes=" + Jvm.appClasses())
            .jvmArg("-Djmesh.controller.jar=" + Jvm.controllerJar())
            .main(Demo.class.getName(), "--seconds", "15", "--rps", "40", "--plain", "true")
            .start()) {
      // The demo prints the check command once the client is started; check once it counts calls.
      Matcher printed = CHECK.matcher(demo.awaitLine(l -> CHECK.matcher(l).find(), 150_000));
      assertThat(printed.find()).isTrue();
      demo.awaitLine(l -> l.startsWith("t=1 "), 120_000);
      AtomicReference<JmeshCliSmokeTest.Run> check = new AtomicReference<>();
      await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(500)).until(() -> {
        check.set(JmeshCliSmokeTest.jmesh(printed.group(1), "check", "--expect-agents", "3"));
        return check.get().code() == 0
            && check.get().output().lines().noneMatch(l -> l.startsWith("\u203c") || l.startsWith("\u00d7"));
      });
      assertThat(check.get().output())
          .contains("\u221a certificate authority for spiffe://cluster.local")
          .contains("Status check results are \u221a");
      assertThat(check.get().output().lines().filter(l -> l.startsWith("\u221a agent ") && l.contains(" ready")))
          .as(check.get().output())
          .hasSizeGreaterThanOrEqualTo(3);

      String last = demo.awaitLine(l -> l.startsWith("demo finished") || l.startsWith("demo failed"), 150_000);
      assertThat(demo.awaitExit(20_000)).as(demo.output()).isZero();
      assertThat(last).as(demo.output()).isEqualTo("demo finished: stopped 5 JVMs, none left running");
      lines = demo.lines();
    }
    String output = String.join("\n", lines);

    List<Tick> ticks = new ArrayList<>();
    List<Long> pids = new ArrayList<>();
    for (String line : lines) {
      Matcher m = TICK.matcher(line);
      if (m.find()) {
        Map<String, Long> counts = new LinkedHashMap<>();
        long errors = 0;
        for (String token : m.group(4).trim().split(" ")) {
          String[] kv = token.split("=");
          if (kv[0].equals("errors")) {
            errors = Long.parseLong(kv[1]);
          } else {
            counts.put(kv[0], Long.parseLong(kv[1]));
          }
        }
        ticks.add(new Tick(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)),
            m.group(3).equals("settled"), counts, errors));
      } else if (line.contains("started ")) {
        Matcher p = PID.matcher(line);
        if (p.find()) {
          pids.add(Long.parseLong(p.group(1)));
        }
      }
    }
    assertThat(ticks).as(output).hasSize(15);
    assertThat(pids).as(output).hasSize(5);

    // mTLS: every server holds hello's identity and saw the client's, proven by its certificate.
    for (String instance : List.of("v1-a", "v1-b", "v2-a")) {
      assertThat(lines).as(output).anyMatch(l -> l.startsWith("started HelloServer " + instance + " ")
          && l.contains("identity " + SERVER_ID + ","));
      assertThat(lines).as(output).contains(
          instance + " answered its first call: the caller it saw (x-jmesh-client-id) is " + CLIENT_ID);
    }
    assertThat(lines).as(output).contains(
        "the client's agent has its identity " + CLIENT_ID + " from the controller's CA");
    assertThat(output).doesNotContain("mesh TLS is off").doesNotContain("no mesh inbound listener");

    // Phase 1: 90/10.
    List<Tick> p1 = ticks.stream().filter(t -> t.phase() == 1).toList();
    assertThat(p1).as(output).isNotEmpty().allMatch(Tick::settled);
    long p1v1 = p1.stream().mapToLong(Tick::v1).sum();
    long p1v2 = p1.stream().mapToLong(Tick::v2).sum();
    assertThat(p1.stream().mapToLong(Tick::errors).sum()).as(output).isZero();
    // Which v1 instance takes v1's calls is peak-EWMA's choice: the one that answers faster first
    // keeps the lower estimate, so either may get them all (README, "The demo"). Issue 25 makes the
    // split within v1 even; until then the test asserts only that v1 as a whole was served.
    assertThat(p1v1).as(output).isPositive();
    assertThat(100.0 * p1v2 / (p1v1 + p1v2)).as("phase 1 v2 share\n" + output).isBetween(3.0, 25.0);

    // Phase 2: after the reload, nothing reaches v1-b and nothing fails.
    List<Tick> p2 = ticks.stream().filter(t -> t.phase() == 2 && t.settled()).toList();
    assertThat(p2).as("settled seconds in phase 2\n" + output).isNotEmpty();
    for (Tick t : p2) {
      assertThat(t.counts().getOrDefault("v1-b", 0L)).as("v1-b at t=" + t.t() + "\n" + output).isZero();
      assertThat(t.errors()).as("errors at t=" + t.t() + "\n" + output).isZero();
      assertThat(t.counts().getOrDefault("v1-a", 0L)).as("v1-a at t=" + t.t() + "\n" + output).isPositive();
    }

    // Phase 3: 50/50 once the agent has the new weights.
    List<Tick> p3 = ticks.stream().filter(t -> t.phase() == 3 && t.settled()).toList();
    assertThat(p3).as("settled seconds in phase 3\n" + output).hasSizeGreaterThanOrEqualTo(2);
    long p3v1 = p3.stream().mapToLong(Tick::v1).sum();
    long p3v2 = p3.stream().mapToLong(Tick::v2).sum();
    assertThat(p3.stream().mapToLong(Tick::errors).sum()).as(output).isZero();
    // binomial(n, 0.5), five standard deviations either side. The fixed 35..65 % it replaces was
    // 2.7 sd for the two settled seconds (80 calls) that a slow machine may leave, where one run
    // in 140 fails; at 80 calls the bound is 22..78 %, still well clear of phase 1's 90 %.
    long n3 = p3v1 + p3v2;
    double margin = 5 * 100.0 * Math.sqrt(0.25 / n3);
    assertThat(100.0 * p3v1 / n3).as("phase 3 v1 share of %d calls\n%s", n3, output).isBetween(50 - margin, 50 + margin);

    // Nothing left behind.
    for (long pid : pids) {
      assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))
          .as("pid " + pid + " still alive")
          .isFalse();
    }
  }
}
