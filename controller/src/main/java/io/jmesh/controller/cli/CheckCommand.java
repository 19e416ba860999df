package io.jmesh.controller.cli;

import java.io.PrintWriter;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code jmesh check}: a preflight in the manner of {@code linkerd check}. Each check prints one
 * line, {@code √} or {@code ×} (or {@code ‼} for a warning that does not fail); exit code 1 when
 * any failed.
 */
@Command(
    name = "check",
    mixinStandardHelpOptions = true,
    description = {
      "Checks that the controller is reachable and ready, that its certificate authority (if any)"
          + " is valid, and that every connected agent has ACKed the controller's latest config"
          + " and answers on its admin endpoint. Exit code 1 when a check fails."
    })
final class CheckCommand implements Callable<Integer> {
  /** A CA whose issuer expires sooner than this is worth a warning. */
  static final Duration CA_WARNING = Duration.ofDays(30);

  @ParentCommand JmeshCli parent;

  @Option(
      names = "--expect-agents",
      paramLabel = "<n>",
      defaultValue = "0",
      description = "Fail unless at least this many agents are connected. Default: ${DEFAULT-VALUE}.")
  int expectAgents;

  private PrintWriter out;
  private int failures;

  @Override
  public Integer call() {
    out = parent.spec().commandLine().getOut();
    AdminHttp http = parent.http();
    String controller = parent.controllerAdmin;

    // The controller answers, and has a snapshot to serve.
    try {
      HttpResponse<String> ready =
          http.getAnyStatus("controller admin", controller, "/ready", JmeshCli.CONTROLLER_EXPECTATION);
      if (ready.statusCode() == 200) {
        ok("controller admin " + controller + " is ready");
      } else {
        fail("controller admin " + controller + "/ready: HTTP " + ready.statusCode() + ": "
            + AdminHttp.firstLine(ready.body()));
      }
    } catch (AdminHttp.AdminException e) {
      fail(e.getMessage());
      return summary();
    }

    // The certificate authority, when the controller runs one.
    try {
      ca(Json.parse(http.get("controller admin", controller, "/ca", JmeshCli.CONTROLLER_EXPECTATION)));
    } catch (AdminHttp.AdminException | RuntimeException e) {
      fail("certificate authority: " + e.getMessage());
    }

    // Every agent: ACKed, and its admin endpoint ready.
    List<MeshAgent> agents;
    try {
      agents = parent.agents(http);
    } catch (AdminHttp.AdminException e) {
      fail(e.getMessage());
      return summary();
    }
    if (agents.size() < expectAgents) {
      fail(agents.size() + " agents connected (expected: at least " + expectAgents
          + "; are the workloads started with -javaagent and JMESH_CONTROLLER=<the controller's xDS address>?)");
    } else if (agents.isEmpty()) {
      warn("no agent is connected yet (workloads start with -javaagent and JMESH_CONTROLLER)");
    } else {
      ok(agents.size() + (agents.size() == 1 ? " agent" : " agents") + " connected");
    }
    for (MeshAgent agent : agents) {
      agent(http, agent);
    }
    return summary();
  }

  @SuppressWarnings("unchecked")
  private void ca(Object doc) {
    Map<String, Object> ca = (Map<String, Object>) doc;
    if (!Boolean.TRUE.equals(ca.get("enabled"))) {
      warn("no certificate authority (the controller runs without --ca-dir): mesh TLS is off");
      return;
    }
    List<Object> anchors = (List<Object>) ca.get("anchors");
    Map<String, Object> issuer = (Map<String, Object>) ca.get("issuer");
    if (issuer == null || anchors == null || anchors.isEmpty()) {
      fail("certificate authority: no issuer or no trust anchor (expected: both, in --ca-dir)");
      return;
    }
    Instant notAfter;
    Instant notBefore;
    try {
      notAfter = Instant.parse((String) issuer.get("notAfter"));
      notBefore = Instant.parse((String) issuer.get("notBefore"));
    } catch (DateTimeParseException | NullPointerException | ClassCastException e) {
      fail("certificate authority: issuer validity unreadable: " + issuer);
      return;
    }
    Instant now = Instant.now();
    String what = "certificate authority for spiffe://" + ca.get("trustDomain") + ": issuer " + issuer.get("subject");
    if (now.isAfter(notAfter)) {
      fail(what + " expired at " + notAfter + " (expected: a valid issuer; rotate the CA)");
    } else if (now.isBefore(notBefore)) {
      fail(what + " is valid only from " + notBefore + " (is this host's clock right?)");
    } else if (Duration.between(now, notAfter).compareTo(CA_WARNING) < 0) {
      warn(what + " expires at " + notAfter + ", in less than " + CA_WARNING.toDays() + " days");
    } else {
      ok(what + " valid until " + notAfter);
    }
  }

  private void agent(AdminHttp http, MeshAgent agent) {
    StringBuilder problems = new StringBuilder();
    agent.types().forEach((type, problem) -> {
      if (problem != null) {
        problems.append(problems.length() == 0 ? "" : "; ").append(type).append(": ").append(problem);
      }
    });
    if (agent.types().isEmpty()) {
      problems.append("has subscribed to nothing yet");
    }
    if (problems.length() > 0) {
      fail("agent " + agent.label() + ": " + problems);
      return;
    }
    if (agent.adminAddress() == null) {
      warn("agent " + agent.label() + " ACKed " + String.join(", ", agent.types().keySet())
          + "; it announced no admin port (JMESH_ADMIN_PORT=0?), so stat and tap cannot see it");
      return;
    }
    try {
      HttpResponse<String> ready =
          http.getAnyStatus("agent " + agent.name() + " admin", agent.adminAddress(), "/ready",
              "the agent's JMESH_ADMIN_PORT, reachable from this host");
      if (ready.statusCode() != 200) {
        fail("agent " + agent.label() + " admin " + agent.adminAddress() + "/ready: HTTP "
            + ready.statusCode() + ": " + AdminHttp.firstLine(ready.body()));
        return;
      }
    } catch (AdminHttp.AdminException e) {
      fail(e.getMessage());
      return;
    }
    ok("agent " + agent.label() + " ACKed " + String.join(", ", agent.types().keySet())
        + "; admin " + agent.adminAddress() + " ready");
  }

  private void ok(String line) {
    out.println("\u221a " + line);
  }

  private void warn(String line) {
    out.println("\u203c " + line);
  }

  private void fail(String line) {
    failures++;
    out.println("\u00d7 " + line);
  }

  private int summary() {
    out.println();
    out.println(failures == 0 ? "Status check results are \u221a" : failures + (failures == 1 ? " check" : " checks") + " failed");
    out.flush();
    return failures == 0 ? 0 : 1;
  }
}
