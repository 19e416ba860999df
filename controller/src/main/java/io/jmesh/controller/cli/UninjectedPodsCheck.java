package io.jmesh.controller.cli;

import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.jmesh.controller.kubernetes.UninjectedPods;
import io.jmesh.controller.kubernetes.UninjectedPods.PodWithoutAgent;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The line of {@code jmesh check --kubernetes} on opted-in pods that run without the agent: the
 * controller's rule ({@link UninjectedPods}) applied to the pods and namespaces the API lists now,
 * so it answers even when no controller runs. Lists at most {@value #SHOWN} pods, then a count.
 */
final class UninjectedPodsCheck {
  static final int SHOWN = 10;

  private final KubernetesClient client;
  private final String namespace;
  private final CheckLines lines;

  UninjectedPodsCheck(KubernetesClient client, String namespace, CheckLines lines) {
    this.client = client;
    this.namespace = namespace;
    this.lines = lines;
  }

  void run() {
    List<Pod> pods;
    Map<String, ObjectMeta> namespaces = new HashMap<>();
    try {
      for (Namespace ns : client.namespaces().list().getItems()) {
        namespaces.put(ns.getMetadata().getName(), ns.getMetadata());
      }
      pods = client.pods().inAnyNamespace().list().getItems();
    } catch (KubernetesClientException e) {
      lines.warn("cannot tell whether an opted-in pod runs without the agent: HTTP " + e.getCode()
          + ": " + String.valueOf(e.getMessage()).lines().findFirst().orElse(""),
          "run jmesh check as a user who may list pods and namespaces in every namespace");
      return;
    }
    UninjectedPods.Findings found = UninjectedPods.find(pods, namespaces, namespace);
    String skipped = skipped(found.skipped());
    List<PodWithoutAgent> without = found.withoutAgent();
    if (without.isEmpty()) {
      lines.ok("no opted-in pod runs without the agent" + skipped);
      return;
    }
    String listed = without.stream().limit(SHOWN)
        .map(p -> p.ref() + " (" + (p.badValue() ? p.optedInBy() + ", refused by the injector"
            : p.optedInBy() + (p.webhookSees() ? "" : ", which the webhook does not select")) + ")")
        .collect(Collectors.joining(", "));
    int more = without.size() - SHOWN;
    lines.fail(without.size() + (without.size() == 1 ? " opted-in pod runs" : " opted-in pods run")
        + " without the agent: " + listed + (more > 0 ? " and " + more + " more" : "") + skipped,
        "the injector sees a pod only when it is created: for " + without.get(0).ref() + ", "
            + without.get(0).restart() + "; the controller's Event on each pod says what to do"
            + " (kubectl get events -A --field-selector reason=" + UninjectedPods.EVENT_REASON + ")");
  }

  /** {@code " (2 skipped on purpose: 1 host_network, 1 no_jvm_container)"}, or nothing. */
  private static String skipped(List<UninjectedPods.SkippedPod> skipped) {
    if (skipped.isEmpty()) {
      return "";
    }
    Map<String, Integer> byCode = new LinkedHashMap<>();
    skipped.forEach(s -> byCode.merge(s.verdict().code(), 1, Integer::sum));
    return " (" + skipped.size() + " opted-in skipped on purpose by the injector: "
        + byCode.entrySet().stream().map(e -> e.getValue() + " " + e.getKey())
            .collect(Collectors.joining(", ")) + ")";
  }
}
