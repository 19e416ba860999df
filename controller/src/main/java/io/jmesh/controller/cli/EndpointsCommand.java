package io.jmesh.controller.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code jmesh endpoints <service>}: the service's endpoints as the controller serves them, and
 * how each agent that calls the service sees them now (balancer state, requests in flight,
 * peak-EWMA latency).
 */
@Command(
    name = "endpoints",
    mixinStandardHelpOptions = true,
    description = {
      "Prints the endpoints of a service from the controller's snapshot and, for each agent that"
          + " calls it, the endpoint's state there (ready, ejected, probing), requests in flight"
          + " and the peak-EWMA latency the balancer uses. The agents' /endpoints answer loopback"
          + " callers only: run it on the agents' host for that part."
    })
final class EndpointsCommand implements Callable<Integer> {
  @ParentCommand JmeshCli parent;

  @Parameters(index = "0", paramLabel = "<service>", description = "hello, or hello.default")
  String service;

  @Override
  @SuppressWarnings("unchecked")
  public Integer call() {
    PrintWriter out = parent.spec().commandLine().getOut();
    PrintWriter err = parent.spec().commandLine().getErr();
    Map<String, Object> doc;
    List<MeshAgent> agents;
    AdminHttp http = parent.http();
    try {
      doc = RoutesCommand.service(parent, service);
      agents = JmeshCli.reachable(parent.agents(http), err);
    } catch (AdminHttp.AdminException e) {
      err.println("jmesh endpoints: " + e.getMessage());
      return 1;
    }
    String qualified = doc.get("name") + "." + doc.get("namespace");
    // Per endpoint host:port, what each agent says of it.
    Map<String, List<String[]>> seen = new TreeMap<>();
    for (MeshAgent a : agents) {
      Map<String, Object> byService;
      try {
        byService = (Map<String, Object>) Json.parse(
            http.get("agent " + a.name() + " admin", a.adminAddress(), "/endpoints",
                "the agent's JMESH_ADMIN_PORT; /endpoints answers loopback callers only"));
      } catch (AdminHttp.AdminException | RuntimeException e) {
        err.println("jmesh endpoints: " + e.getMessage() + ": left out");
        continue;
      }
      Object list = byService.get(qualified);
      if (list == null) {
        continue; // this agent has not called the service
      }
      for (Object o : (List<Object>) list) {
        Map<String, Object> e = (Map<String, Object>) o;
        Object ewma = e.get("ewmaMillis");
        seen.computeIfAbsent(e.get("host") + ":" + e.get("port"), k -> new ArrayList<>())
            .add(new String[] {
              a.name(),
              String.valueOf(e.get("state")).toLowerCase(Locale.ROOT),
              String.valueOf(e.get("inFlight")),
              ewma instanceof Number n ? String.format(Locale.ROOT, "%.1fms", n.doubleValue()) : "-"
            });
      }
    }
    Table table = new Table("ENDPOINT", "WEIGHT", "LABELS", "AGENT", "STATE", "IN_FLIGHT", "EWMA");
    for (Object o : (List<Object>) doc.get("endpoints")) {
      Map<String, Object> e = (Map<String, Object>) o;
      String address = e.get("host") + ":" + e.get("port");
      Map<String, Object> labels = (Map<String, Object>) e.get("labels");
      String labelText = labels.isEmpty() ? "-" : labels.toString().replace(" ", "").replaceAll("[{}]", "");
      List<String[]> views = seen.getOrDefault(address, List.of());
      if (views.isEmpty()) {
        table.row(address, String.valueOf(e.get("weight")), labelText, "-", "-", "-", "-");
      }
      for (String[] v : views) {
        table.row(address, String.valueOf(e.get("weight")), labelText, v[0], v[1], v[2], v[3]);
      }
    }
    out.println("service " + qualified + ", snapshot version " + doc.get("version"));
    if (table.isEmpty()) {
      out.println("no endpoints");
    } else {
      out.print(table.render());
    }
    out.flush();
    return 0;
  }
}
