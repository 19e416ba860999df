package io.jmesh.controller.cli;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code jmesh stat}: like {@code linkerd viz stat}, per destination service and route, what the
 * callers saw in the last window: success rate, requests per second, latency percentiles. See
 * {@link Stat} for how each number is computed.
 */
@Command(
    name = "stat",
    mixinStandardHelpOptions = true,
    description = {
      "Scrapes every agent's /metrics twice, --window apart, and prints per destination service"
          + " and route: success rate, requests per second and p50/p95/p99 latency of the calls"
          + " that finished in between (as callers saw them, retries included)."
    })
final class StatCommand implements Callable<Integer> {
  @ParentCommand JmeshCli parent;

  @Option(
      names = "--from",
      paramLabel = "<service>",
      description = "Only calls made by this service (hello, or hello.default). Default: all callers.")
  String from;

  @Option(
      names = "--window",
      paramLabel = "<duration>",
      defaultValue = "10s",
      converter = JmeshCli.DurationConverter.class,
      description = "How long to measure (10s, 1m, 500ms). Default: ${DEFAULT-VALUE}.")
  Duration window;

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter out = parent.spec().commandLine().getOut();
    PrintWriter err = parent.spec().commandLine().getErr();
    AdminHttp http = parent.http();
    List<MeshAgent> agents;
    try {
      agents = JmeshCli.reachable(parent.agents(http), err);
    } catch (AdminHttp.AdminException e) {
      err.println("jmesh stat: " + e.getMessage());
      return 1;
    }
    if (agents.isEmpty()) {
      err.println("jmesh stat: no agent with an admin endpoint is connected to the controller at "
          + parent.controllerAdmin + " (expected: at least one; see jmesh check)");
      return 1;
    }
    Map<String, List<PrometheusText.Sample>> before = scrape(http, agents, err);
    long start = System.nanoTime();
    // The CLI's only job meanwhile is to wait for the window to pass.
    Thread.sleep(window.toMillis());
    Map<String, List<PrometheusText.Sample>> after = scrape(http, agents, err);
    double seconds = (System.nanoTime() - start) / 1e9;
    if (after.isEmpty()) {
      err.println("jmesh stat: no agent answered on /metrics (see the messages above)");
      return 1;
    }
    List<Stat.Row> rows = Stat.compute(before, after, seconds, from);
    if (rows.isEmpty()) {
      err.println("jmesh stat: no outbound calls recorded by " + after.size()
          + (after.size() == 1 ? " agent" : " agents") + (from == null ? "" : " from " + from)
          + " yet (the services are listed once a call to them has finished)");
      return 0;
    }
    out.print(Stat.render(rows));
    out.flush();
    return 0;
  }

  /** Each agent's samples by its name; an agent that does not answer is left out with a warning. */
  private static Map<String, List<PrometheusText.Sample>> scrape(
      AdminHttp http, List<MeshAgent> agents, PrintWriter err) {
    Map<String, List<PrometheusText.Sample>> out = new LinkedHashMap<>();
    for (MeshAgent a : agents) {
      try {
        String text = http.get("agent " + a.name() + " admin", a.adminAddress(), "/metrics",
            "the agent's JMESH_ADMIN_PORT, reachable from this host");
        out.put(a.name() + "@" + a.adminAddress(), PrometheusText.parse(text));
      } catch (AdminHttp.AdminException | IllegalArgumentException e) {
        err.println("jmesh stat: " + e.getMessage() + ": left out");
      }
    }
    return out;
  }
}
