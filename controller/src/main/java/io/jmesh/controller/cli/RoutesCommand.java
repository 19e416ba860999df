package io.jmesh.controller.cli;

import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code jmesh routes <service>}: the service's routes as the controller serves them. */
@Command(
    name = "routes",
    mixinStandardHelpOptions = true,
    description = {
      "Prints the routes of a service in the controller's snapshot, in match order (first match"
          + " wins; a request that matches none takes the implicit default route to every"
          + " endpoint): matches, weighted backends, timeout and retries."
    })
final class RoutesCommand implements Callable<Integer> {
  @ParentCommand JmeshCli parent;

  @Parameters(index = "0", paramLabel = "<service>", description = "hello, or hello.default")
  String service;

  @Override
  @SuppressWarnings("unchecked")
  public Integer call() {
    PrintWriter out = parent.spec().commandLine().getOut();
    PrintWriter err = parent.spec().commandLine().getErr();
    Map<String, Object> doc;
    try {
      doc = service(parent, service);
    } catch (AdminHttp.AdminException e) {
      err.println("jmesh routes: " + e.getMessage());
      return 1;
    }
    Table table = new Table("ROUTE", "MATCH", "BACKENDS", "TIMEOUT", "RETRIES");
    for (Object o : (List<Object>) doc.get("routes")) {
      Map<String, Object> r = (Map<String, Object>) o;
      List<String> matches = new ArrayList<>();
      for (Object m : (List<Object>) r.get("matches")) {
        matches.add(match((Map<String, Object>) m));
      }
      List<String> backends = new ArrayList<>();
      for (Object b : (List<Object>) r.get("backends")) {
        Map<String, Object> backend = (Map<String, Object>) b;
        Map<String, Object> subset = (Map<String, Object>) backend.get("subset");
        backends.add((subset.isEmpty() ? "all" : subset.toString().replace(" ", "")) + "=" + backend.get("weight"));
      }
      Object timeout = r.get("timeoutMillis");
      table.row(
          (String) r.get("name"),
          matches.isEmpty() ? "*" : String.join(" | ", matches),
          String.join(",", backends),
          timeout == null ? "-" : timeout + "ms",
          r.get("retryAttempts") + " attempts on " + r.get("retryOnStatus"));
    }
    out.println("service " + doc.get("name") + "." + doc.get("namespace") + " ports "
        + doc.get("ports") + ", snapshot version " + doc.get("version"));
    if (table.isEmpty()) {
      out.println("no routes: every request takes the implicit default route to every endpoint");
    } else {
      out.print(table.render());
    }
    out.flush();
    return 0;
  }

  private static String match(Map<String, Object> m) {
    List<String> parts = new ArrayList<>();
    if (m.get("method") != null) {
      parts.add(String.valueOf(m.get("method")));
    }
    if (m.get("path") != null) {
      parts.add(String.valueOf(m.get("path")).toLowerCase(java.util.Locale.ROOT).replaceFirst(" ", ":"));
    }
    for (Object h : (List<?>) m.get("headers")) {
      parts.add("header " + h);
    }
    return parts.isEmpty() ? "*" : String.join(" ", parts);
  }

  /** The controller's {@code /services/<name>} document. */
  @SuppressWarnings("unchecked")
  static Map<String, Object> service(JmeshCli parent, String name) throws AdminHttp.AdminException {
    String body =
        parent.http().get("controller admin", parent.controllerAdmin,
            "/services/" + URLEncoder.encode(name, StandardCharsets.UTF_8),
            JmeshCli.CONTROLLER_EXPECTATION);
    return (Map<String, Object>) Json.parse(body);
  }
}
