package io.jmesh.controller.cli;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.jmesh.controller.install.Manifests;
import io.jmesh.controller.kubernetes.TrustAnchorCopies;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The {@code jmesh check --kubernetes} line for the anchors' copies: every namespace that has an
 * injected pod (annotation {@value #INJECTED}) holds ConfigMap {@value Manifests#TRUST_ANCHORS}
 * with the anchors of the controller's namespace, written by the controller ({@link
 * TrustAnchorCopies}). A missing or stale copy fails (an injected pod there cannot start, or
 * distrusts a rotated controller); one the controller does not manage is a warning, since the
 * controller leaves it alone. Reads only.
 */
final class AnchorCopiesCheck {
  /** The annotation the injector puts on every pod it injects. */
  static final String INJECTED = "jmesh.io/injected";

  private AnchorCopiesCheck() {}

  /**
   * @param namespace the controller's namespace
   * @param anchors the anchors its ConfigMap holds, or null when unknown (then only presence counts)
   */
  static void run(KubernetesClient client, String namespace, String anchors, CheckLines lines) {
    String name = Manifests.TRUST_ANCHORS;
    String hint = "the controller's leader writes them (--trust-anchors-namespaces); kubectl -n "
        + namespace + " logs deployment/" + Manifests.CONTROLLER + " | grep 'trust anchors'";
    TreeSet<String> injected = new TreeSet<>();
    try {
      for (Pod pod : client.pods().inAnyNamespace().list().getItems()) {
        Map<String, String> annotations = pod.getMetadata().getAnnotations();
        if (annotations != null && annotations.containsKey(INJECTED)) {
          injected.add(pod.getMetadata().getNamespace());
        }
      }
    } catch (KubernetesClientException e) {
      lines.warn("cannot list pods to find the namespaces with injected pods: HTTP " + e.getCode(),
          "may you list pods in every namespace?");
      return;
    }
    if (injected.isEmpty()) {
      lines.ok("no injected pod yet: no namespace needs a copy of configmap " + name);
      return;
    }
    List<String> missing = new ArrayList<>();
    List<String> stale = new ArrayList<>();
    List<String> foreign = new ArrayList<>();
    List<String> good = new ArrayList<>();
    for (String ns : injected) {
      if (ns.equals(namespace)) {
        continue; // the original, checked above
      }
      ConfigMap cm;
      try {
        cm = client.configMaps().inNamespace(ns).withName(name).get();
      } catch (KubernetesClientException e) {
        lines.warn("configmap " + ns + "/" + name + ": HTTP " + e.getCode(),
            "may you read configmaps in " + ns + "?");
        continue;
      }
      if (cm == null) {
        missing.add(ns);
        continue;
      }
      Map<String, String> labels = cm.getMetadata().getLabels();
      String pem = cm.getData() == null ? null : cm.getData().get(Manifests.TRUST_ANCHORS_KEY);
      boolean current = anchors == null ? pem != null : anchors.equals(pem);
      if (labels == null || !TrustAnchorCopies.MANAGER.equals(labels.get(TrustAnchorCopies.MANAGED_BY))) {
        foreign.add(ns + (current ? "" : " (other anchors)"));
      } else if (!current) {
        stale.add(ns);
      } else {
        good.add(ns);
      }
    }
    if (!foreign.isEmpty()) {
      lines.warn("configmap " + name + " not written by the controller (no label "
          + TrustAnchorCopies.MANAGED_BY + "=" + TrustAnchorCopies.MANAGER + ") in "
          + String.join(", ", foreign) + ": the controller leaves it alone",
          "delete it to let the controller keep it: kubectl -n <namespace> delete configmap " + name);
    }
    if (!missing.isEmpty() || !stale.isEmpty()) {
      List<String> what = new ArrayList<>();
      if (!missing.isEmpty()) {
        what.add("missing in " + String.join(", ", missing)
            + " (injected pods there cannot mount it and do not start)");
      }
      if (!stale.isEmpty()) {
        what.add("stale in " + String.join(", ", stale) + " (not the anchors of configmap "
            + namespace + "/" + name + ")");
      }
      lines.fail("configmap " + name + " " + String.join("; ", what), hint);
    } else if (!good.isEmpty()) {
      lines.ok("configmap " + name + " present" + (anchors == null ? "" : " and current") + " in "
          + good.size() + (good.size() == 1 ? " namespace" : " namespaces") + " with injected pods ("
          + String.join(", ", good) + ")");
    }
  }
}
