package io.jmesh.controller.cli;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.jmesh.controller.install.InstallOptions;
import io.jmesh.controller.install.Manifests;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code jmesh check}: a preflight in the manner of {@code linkerd check}. Each check prints one
 * line, {@code √} or {@code ×} (or {@code ‼} for a warning that does not fail); exit code 1 when
 * any failed. With {@code --kubernetes}, {@link KubernetesChecks} run first.
 */
@Command(
    name = "check",
    mixinStandardHelpOptions = true,
    description = {
      "Checks that the controller is reachable and ready, that its certificate authority (if any)"
          + " is valid, and that every connected agent has ACKed the controller's latest config"
          + " and answers on its admin endpoint; with --kubernetes, first the control plane in the"
          + " cluster (controller/README.md, \"jmesh check --kubernetes\"). Exit code 1 when a check"
          + " fails."
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

  @Option(
      names = "--kubernetes",
      description = "Check the control plane in Kubernetes first: API reachable, CRDs and their versions,"
          + " the controller's RBAC, its Deployment ready, the trust-anchor ConfigMap. The cluster is"
          + " the kube config's (KUBECONFIG, ~/.kube/config, or in-cluster), as for kubectl.")
  boolean kubernetes;

  @Option(
      names = "--namespace",
      paramLabel = "<name>",
      defaultValue = InstallOptions.DEFAULT_NAMESPACE,
      description = "With --kubernetes: the control plane's namespace. Default: ${DEFAULT-VALUE}.")
  String namespace;

  /** The Kubernetes client, made only with --kubernetes; tests hand in a mock server's. */
  private final Supplier<KubernetesClient> kubernetesClient;

  CheckCommand() {
    this(() -> new KubernetesClientBuilder().build());
  }

  CheckCommand(Supplier<KubernetesClient> kubernetesClient) {
    this.kubernetesClient = kubernetesClient;
  }

  private CheckLines lines;

  @Override
  public Integer call() {
    lines = new CheckLines(parent.spec().commandLine().getOut());
    AdminHttp http = parent.http();
    String controller = parent.controllerAdmin;

    if (kubernetes) {
      try (KubernetesClient client = kubernetesClient.get()) {
        new KubernetesChecks(client, namespace, lines).run();
      }
    }

    // The controller answers, and has a snapshot to serve.
    try {
      HttpResponse<String> ready =
          http.getAnyStatus("controller admin", controller, "/ready", JmeshCli.CONTROLLER_EXPECTATION);
      if (ready.statusCode() == 200) {
        lines.ok("controller admin " + controller + " is ready");
      } else {
        lines.fail("controller admin " + controller + "/ready: HTTP " + ready.statusCode() + ": "
            + AdminHttp.firstLine(ready.body()));
      }
    } catch (AdminHttp.AdminException e) {
      if (kubernetes) {
        lines.fail(e.getMessage(), "in Kubernetes: kubectl -n " + namespace + " port-forward deployment/"
            + Manifests.CONTROLLER + " " + Manifests.ADMIN_PORT + ", then --controller-admin 127.0.0.1:"
            + Manifests.ADMIN_PORT);
      } else {
        lines.fail(e.getMessage());
      }
      return lines.summary();
    }

    // The certificate authority, when the controller runs one.
    try {
      ca(Json.parse(http.get("controller admin", controller, "/ca", JmeshCli.CONTROLLER_EXPECTATION)));
    } catch (AdminHttp.AdminException | RuntimeException e) {
      lines.fail("certificate authority: " + e.getMessage());
    }

    // Every agent: ACKed, and its admin endpoint ready.
    List<MeshAgent> agents;
    try {
      agents = parent.agents(http);
    } catch (AdminHttp.AdminException e) {
      lines.fail(e.getMessage());
      return lines.summary();
    }
    if (agents.size() < expectAgents) {
      lines.fail(agents.size() + " agents connected (expected: at least " + expectAgents
          + "; are the workloads started with -javaagent and JMESH_CONTROLLER=<the controller's xDS address>?)");
    } else if (agents.isEmpty()) {
      lines.warn("no agent is connected yet (workloads start with -javaagent and JMESH_CONTROLLER)");
    } else {
      lines.ok(agents.size() + (agents.size() == 1 ? " agent" : " agents") + " connected");
    }
    for (MeshAgent agent : agents) {
      agent(http, agent);
    }
    return lines.summary();
  }

  @SuppressWarnings("unchecked")
  private void ca(Object doc) {
    Map<String, Object> ca = (Map<String, Object>) doc;
    if (!Boolean.TRUE.equals(ca.get("enabled"))) {
      lines.warn("no certificate authority (the controller runs without --ca-dir): mesh TLS is off");
      return;
    }
    List<Object> anchors = (List<Object>) ca.get("anchors");
    Map<String, Object> issuer = (Map<String, Object>) ca.get("issuer");
    if (issuer == null || anchors == null || anchors.isEmpty()) {
      lines.fail("certificate authority: no issuer or no trust anchor (expected: both, in --ca-dir)");
      return;
    }
    Instant notAfter;
    Instant notBefore;
    try {
      notAfter = Instant.parse((String) issuer.get("notAfter"));
      notBefore = Instant.parse((String) issuer.get("notBefore"));
    } catch (DateTimeParseException | NullPointerException | ClassCastException e) {
      lines.fail("certificate authority: issuer validity unreadable: " + issuer);
      return;
    }
    Instant now = Instant.now();
    String what = "certificate authority for spiffe://" + ca.get("trustDomain") + ": issuer " + issuer.get("subject");
    if (now.isAfter(notAfter)) {
      lines.fail(what + " expired at " + notAfter + " (expected: a valid issuer; rotate the CA)");
    } else if (now.isBefore(notBefore)) {
      lines.fail(what + " is valid only from " + notBefore + " (is this host's clock right?)");
    } else if (Duration.between(now, notAfter).compareTo(CA_WARNING) < 0) {
      lines.warn(what + " expires at " + notAfter + ", in less than " + CA_WARNING.toDays() + " days");
    } else {
      lines.ok(what + " valid until " + notAfter);
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
      lines.fail("agent " + agent.label() + ": " + problems);
      return;
    }
    if (agent.adminAddress() == null) {
      lines.warn("agent " + agent.label() + " ACKed " + String.join(", ", agent.types().keySet())
          + "; it announced no admin port (JMESH_ADMIN_PORT=0?), so stat and tap cannot see it");
      return;
    }
    try {
      HttpResponse<String> ready =
          http.getAnyStatus("agent " + agent.name() + " admin", agent.adminAddress(), "/ready",
              "the agent's JMESH_ADMIN_PORT, reachable from this host");
      if (ready.statusCode() != 200) {
        lines.fail("agent " + agent.label() + " admin " + agent.adminAddress() + "/ready: HTTP "
            + ready.statusCode() + ": " + AdminHttp.firstLine(ready.body()));
        return;
      }
    } catch (AdminHttp.AdminException e) {
      lines.fail(e.getMessage());
      return;
    }
    lines.ok("agent " + agent.label() + " ACKed " + String.join(", ", agent.types().keySet())
        + "; admin " + agent.adminAddress() + " ready");
  }
}
