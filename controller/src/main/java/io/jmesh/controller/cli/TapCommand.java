package io.jmesh.controller.cli;

import java.io.PrintWriter;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code jmesh tap <service>}: a live stream of the calls to a service, merged from every agent's
 * {@code /tap} (agent/README.md, "Tap"), one line per finished call, until {@code --max} calls or
 * Ctrl-C.
 *
 * <p>Threading: one reader thread per agent stream puts lines on a queue; the command's thread
 * prints them in arrival order.
 */
@Command(
    name = "tap",
    mixinStandardHelpOptions = true,
    description = {
      "Streams the calls to a service as they finish, from every agent: direction, caller,"
          + " method, authority, path, status, latency, endpoint, route, mesh TLS. Until --max"
          + " calls or Ctrl-C. The agents' /tap answers loopback callers only."
    })
final class TapCommand implements Callable<Integer> {
  @ParentCommand JmeshCli parent;

  @Parameters(index = "0", paramLabel = "<service>", description = "hello, or hello.default")
  String service;

  @Option(
      names = "--max",
      paramLabel = "<n>",
      defaultValue = "0",
      description = "Stop after this many calls. Default: 0, until Ctrl-C.")
  long max;

  /** A line from agent {@code agent}, or (line null) the end of its stream. */
  private record Item(int agent, String line, String end) {}

  @Override
  @SuppressWarnings("unchecked")
  public Integer call() throws InterruptedException {
    PrintWriter out = parent.spec().commandLine().getOut();
    PrintWriter err = parent.spec().commandLine().getErr();
    if (max < 0) {
      err.println("jmesh tap: --max " + max + " (expected: >= 0; 0 for no limit)");
      return 2;
    }
    AdminHttp http = parent.http();
    List<MeshAgent> agents;
    try {
      agents = JmeshCli.reachable(parent.agents(http), err);
    } catch (AdminHttp.AdminException e) {
      err.println("jmesh tap: " + e.getMessage());
      return 1;
    }
    if (agents.isEmpty()) {
      err.println("jmesh tap: no agent with an admin endpoint is connected to the controller at "
          + parent.controllerAdmin + " (expected: at least one; see jmesh check)");
      return 1;
    }
    String path = "/tap?destination=" + URLEncoder.encode(service, StandardCharsets.UTF_8)
        + (max > 0 ? "&max=" + max : "");
    BlockingQueue<Item> queue = new LinkedBlockingQueue<>();
    List<Stream<String>> streams = new CopyOnWriteArrayList<>();
    for (int i = 0; i < agents.size(); i++) {
      int index = i;
      MeshAgent agent = agents.get(i);
      Thread reader = new Thread(() -> read(http, agent, index, path, queue, streams), "jmesh-tap-" + agent.name());
      reader.setDaemon(true); // Ctrl-C or the last line ends the CLI, not these threads
      reader.start();
    }
    long printed = 0;
    int open = agents.size();
    long[] sequence = new long[agents.size()];
    try {
      while (open > 0 && (max == 0 || printed < max)) {
        Item item = queue.take();
        if (item.line() == null) {
          open--;
          if (item.end() != null) {
            err.println("jmesh tap: " + item.end());
          }
          continue;
        }
        if (item.line().isBlank()) {
          continue; // the agent's heartbeat
        }
        Map<String, Object> event;
        try {
          event = (Map<String, Object>) Json.parse(item.line());
        } catch (IllegalArgumentException e) {
          err.println("jmesh tap: agent " + agents.get(item.agent()).name() + ": " + e.getMessage());
          continue;
        }
        if (event.containsKey("dropped")) {
          err.println("jmesh tap: agent " + agents.get(item.agent()).name() + " dropped "
              + event.get("dropped") + " calls: this terminal read too slowly");
          continue;
        }
        out.println(format(item.agent(), ++sequence[item.agent()], event));
        out.flush();
        printed++;
      }
    } finally {
      // Closing a body stream cancels it: the agent's next write fails and its tap ends.
      streams.forEach(Stream::close);
    }
    if (max > 0 && printed < max) {
      err.println("jmesh tap: every agent's stream ended after " + printed + " of " + max + " calls");
      return 1;
    }
    return 0;
  }

  private static void read(
      AdminHttp http, MeshAgent agent, int index, String path, BlockingQueue<Item> queue,
      List<Stream<String>> streams) {
    String what = "agent " + agent.name() + " admin " + agent.adminAddress() + path;
    String end = null;
    try {
      HttpResponse<Stream<String>> response = http.lines(agent.adminAddress(), path).get();
      try (Stream<String> body = response.body()) {
        streams.add(body);
        if (response.statusCode() != 200) {
          end = what + ": HTTP " + response.statusCode() + ": "
              + body.findFirst().orElse("")
              + (response.statusCode() == 403 ? " (run jmesh tap on the agent's host)" : "");
        } else {
          body.forEach(line -> queue.add(new Item(index, line, null)));
        }
      }
    } catch (ExecutionException e) {
      end = AdminHttp.failure("agent " + agent.name() + " admin", agent.adminAddress(), path,
          e.getCause(), "the agent's JMESH_ADMIN_PORT, reachable from this host");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      // The stream was closed under us (the CLI is done) or the connection broke.
      end = null;
    }
    queue.add(new Item(index, null, end));
  }

  /**
   * {@code req id=0:1 proxy=out src=client.default dst=hello.default tls=false :method=GET
   * :authority=hello:8080 :path=/ :status=200 latency=1234µs endpoint=127.0.0.2:8080 route=split}.
   */
  static String format(int agent, long sequence, Map<String, Object> e) {
    boolean outbound = "outbound".equals(e.get("direction"));
    StringBuilder s = new StringBuilder("req id=").append(agent).append(':').append(sequence);
    s.append(" proxy=").append(outbound ? "out" : "in");
    s.append(" src=").append(orDash(outbound ? e.get("source") : e.get("peer")));
    s.append(" dst=").append(orDash(e.get("destination")));
    s.append(" tls=").append(e.get("tls"));
    s.append(" :method=").append(orDash(e.get("method")));
    if (outbound) {
      s.append(" :authority=").append(orDash(e.get("authority")));
      s.append(" :path=").append(orDash(e.get("path")));
    }
    Object status = e.get("status");
    s.append(" :status=").append(status instanceof Number n && n.longValue() == 0 ? "-" : String.valueOf(status));
    s.append(" latency=").append(e.get("latencyMicros")).append("\u00b5s");
    if (outbound) {
      s.append(" endpoint=").append(orDash(e.get("endpoint")));
      s.append(" route=").append(orDash(e.get("route")));
      Object attempts = e.get("attempts");
      if (attempts instanceof Number n && n.longValue() > 1) {
        s.append(" attempts=").append(n);
      }
    }
    if (e.get("errorType") != null) {
      s.append(" error=").append(e.get("errorType"));
    }
    return s.toString();
  }

  private static String orDash(Object o) {
    return o == null ? "-" : o.toString();
  }
}
