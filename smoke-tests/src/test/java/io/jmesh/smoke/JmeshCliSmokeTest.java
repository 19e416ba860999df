package io.jmesh.smoke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.jmesh.smoke.support.ControllerProcess;
import io.jmesh.smoke.support.Jvm;
import io.jmesh.smoke.support.Ports;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code jmesh} CLI against a live mesh: a controller, one plain HelloServer and a
 * TrafficClient JVM with the real agent sending steady traffic. Each CLI command runs as its own
 * JVM from the controller jar, as {@code bin/jmesh} runs it, and its output is checked: {@code
 * check} passes with the agent ACKed, {@code stat} shows hello's route with a success rate and
 * latencies, {@code tap} prints five calls with status 200, and {@code routes} and {@code
 * endpoints} show the config. Loopback only; no sleeps (bounded waits on real output).
 */
class JmeshCliSmokeTest {
  private static final long START_MILLIS = 60_000;
  private static final long CLI_MILLIS = 60_000;

  @TempDir Path dir;

  /** The exit code and output of one CLI run. */
  record Run(int code, String output) {}

  private Run jmesh(ControllerProcess controller, String... args) throws Exception {
    return jmesh("127.0.0.1:" + controller.adminPort(), args);
  }

  /** Runs {@code jmesh --controller-admin <controllerAdmin> args...} as bin/jmesh does, in a JVM of its own. */
  static Run jmesh(String controllerAdmin, String... args) throws Exception {
    List<String> all = new ArrayList<>(List.of("--controller-admin", controllerAdmin));
    all.addAll(List.of(args));
    try (Jvm cli = Jvm.builder("jmesh " + String.join(" ", args))
        .classPath(Jvm.controllerJar().toString())
        .main("io.jmesh.controller.cli.JmeshCli", all.toArray(new String[0]))
        .start()) {
      int code = cli.awaitExit(CLI_MILLIS);
      // The exit can be seen before the reader has the last lines: wait for the stream's end.
      await().atMost(Duration.ofSeconds(10)).until(() -> !cli.isAlive());
      return new Run(code, cli.output());
    }
  }

  @Test
  void checkStatTapRoutesAndEndpointsAgainstALiveMesh() throws Exception {
    try (Jvm server =
        Jvm.builder("hello-v1")
            .main("io.jmesh.smoke.apps.HelloServer", "--name", "v1-a", "--version", "v1", "--bind", "127.0.0.2", "--port", "0")
            .start()) {
      int port = server.awaitReady(START_MILLIS);
      Path config = dir.resolve("mesh.yaml");
      ControllerProcess.write(
          config,
          String.join(
              "\n",
              "services:",
              "  - name: hello",
              "    ports: [8080]",
              "    endpoints:",
              "      - {address: 127.0.0.2, port: " + port + ", labels: {version: v1}}",
              "    routes:",
              "      - name: split",
              "        backends: [{subset: {version: v1}, weight: 1}]",
              ""));
      try (ControllerProcess controller = new ControllerProcess(config, null).start();
          Jvm client =
              Jvm.builder("traffic-client")
                  .withAgent()
                  .env(controller.agentEnv())
                  .env("JMESH_SERVICE", "traffic-client")
                  .env("JMESH_ADMIN_PORT", String.valueOf(Ports.unused()))
                  .main("io.jmesh.smoke.apps.TrafficClient", "--url", "http://hello:8080/", "--rps", "20", "--seconds", "120")
                  .start()) {
        // Traffic flows once the client reports its first second.
        client.awaitLine(l -> l.startsWith("STATS "), START_MILLIS);

        // check: the controller is ready, no CA (a warning), one agent ACKed and ready.
        AtomicReference<Run> check = new AtomicReference<>();
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofSeconds(1)).until(() -> {
          check.set(jmesh(controller, "check", "--expect-agents", "1"));
          return check.get().code() == 0;
        });
        assertThat(check.get().output())
            .contains("\u221a controller admin 127.0.0.1:" + controller.adminPort() + " is ready")
            .contains("\u221a 1 agent connected")
            .containsPattern("\u221a agent traffic-client\\.default~\\S+ \\(traffic-client\\.default\\) ACKed listener, route, cluster, endpoint; admin 127\\.0\\.0\\.1:\\d+ ready")
            .contains("Status check results are \u221a");

        // stat: hello's route, every call a success, ~20 rps, latencies. Column widths follow the
        // longest cell: a first call that timed out waiting for discovery on a loaded machine
        // can add a row for the implicit route "default" (FirstUseGate) and widen ROUTE.
        Run stat = jmesh(controller, "stat", "--window", "2s");
        assertThat(stat.code()).as(stat.output()).isZero();
        assertThat(stat.output())
            .as(stat.output())
            .containsPattern("SERVICE\\s+ROUTE\\s+SUCCESS\\s+RPS")
            .containsPattern("hello\\.default\\s+split\\s+100\\.00%\\s+\\d+\\.\\d\\s+\\d+(\\.\\d)?ms\\s+\\d+(\\.\\d)?ms\\s+\\d+(\\.\\d)?ms");

        // tap: five calls to hello, each answered 200 by the one endpoint.
        Run tap = jmesh(controller, "tap", "hello", "--max", "5");
        assertThat(tap.code()).as(tap.output()).isZero();
        List<String> calls = tap.output().lines().filter(l -> l.startsWith("req ")).toList();
        assertThat(calls).as(tap.output()).hasSize(5);
        assertThat(calls)
            .allSatisfy(l -> assertThat(l)
                .matches("req id=0:\\d+ proxy=out src=traffic-client\\.default dst=hello\\.default tls=false"
                    + " :method=GET :authority=hello:8080 :path=/ :status=200 latency=\\d+\u00b5s"
                    + " endpoint=127\\.0\\.0\\.2:" + port + " route=split"));

        Run routes = jmesh(controller, "routes", "hello");
        assertThat(routes.code()).as(routes.output()).isZero();
        assertThat(routes.output()).containsPattern("split\\s+prefix:/\\s+\\{version=v1\\}=1\\s+-\\s+3 attempts on \\[502, 503, 504\\]");

        Run endpoints = jmesh(controller, "endpoints", "hello");
        assertThat(endpoints.code()).as(endpoints.output()).isZero();
        assertThat(endpoints.output())
            .containsPattern("127\\.0\\.0\\.2:" + port + "\\s+1\\s+version=v1\\s+traffic-client\\.default~\\S+\\s+\\S+\\s+\\d+\\s+\\d+\\.\\dms");
      }
    }
  }
}
