package io.jmesh.controller.kubernetes;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.Namespace;
import java.util.Map;
import java.util.Set;

/**
 * The pure part of {@link TrustAnchorCopies}: which namespaces get a copy of the trust-anchor
 * ConfigMap, what the copy holds, and what to do given what the namespace holds now. No API call.
 */
final class AnchorCopyPlan {
  /** Namespaces of the cluster itself: no workload is injected there (Istio skips them too). */
  static final Set<String> SYSTEM_NAMESPACES = Set.of("kube-system", "kube-public", "kube-node-lease");

  /** The namespace label that opts a namespace's pods in, as the injector's webhook selects. */
  static final String INJECT_LABEL = "jmesh.io/inject";

  private AnchorCopyPlan() {}

  /**
   * Why {@code namespace} gets no copy, or null when it gets one.
   *
   * @param namespace the namespace as cached, or null when it is gone
   * @param own the controller's namespace, where {@link TrustAnchorsConfigMap} publishes the
   *     original (and the injector never injects)
   */
  static String skipReason(Namespace namespace, String own, TrustAnchorCopies.Scope scope) {
    if (namespace == null) {
      return "deleted";
    }
    String name = namespace.getMetadata().getName();
    if (scope == TrustAnchorCopies.Scope.NONE) {
      return "copies turned off (--trust-anchors-namespaces=none)";
    }
    if (name.equals(own)) {
      return "the controller's own namespace, which holds the original";
    }
    if (SYSTEM_NAMESPACES.contains(name)) {
      return "a system namespace";
    }
    if (namespace.getMetadata().getDeletionTimestamp() != null
        || (namespace.getStatus() != null && "Terminating".equals(namespace.getStatus().getPhase()))) {
      // The API server refuses new objects there (403) and deletes what is left.
      return "being deleted";
    }
    if (scope == TrustAnchorCopies.Scope.INJECTION_ENABLED) {
      Map<String, String> labels = namespace.getMetadata().getLabels();
      if (labels == null || !"enabled".equals(labels.get(INJECT_LABEL))) {
        return "not labelled " + INJECT_LABEL + "=enabled (--trust-anchors-namespaces=injection-enabled)";
      }
    }
    return null;
  }

  /** The copy {@code namespace} should hold: the anchors under {@value TrustAnchorsConfigMap#KEY}, marked as ours. */
  static ConfigMap desired(String namespace, String pem) {
    return new ConfigMapBuilder()
        .withNewMetadata()
        .withName(TrustAnchorsConfigMap.NAME)
        .withNamespace(namespace)
        .addToLabels(TrustAnchorCopies.MANAGED_BY, TrustAnchorCopies.MANAGER)
        .addToLabels("app.kubernetes.io/part-of", "jmesh")
        .addToAnnotations(
            "jmesh.io/contents",
            "the mesh's trust anchors, copied by the jmesh controller's leader; edits are"
                + " overwritten (controller README, Trust anchors in every namespace)")
        .endMetadata()
        .addToData(TrustAnchorsConfigMap.KEY, pem)
        .build();
  }

  /** What to do with a namespace's ConfigMap of that name. */
  enum Action {
    /** Absent: create it. */
    CREATE,
    /** Ours, holding something else: rewrite it. */
    UPDATE,
    /** Ours and current. */
    NONE,
    /** Not ours (no {@value TrustAnchorCopies#MANAGED_BY} label of ours): leave it and say so. */
    FOREIGN
  }

  static Action decide(ConfigMap existing, String pem) {
    if (existing == null) {
      return Action.CREATE;
    }
    if (!managed(existing)) {
      return Action.FOREIGN;
    }
    boolean noBinary = existing.getBinaryData() == null || existing.getBinaryData().isEmpty();
    return noBinary && Map.of(TrustAnchorsConfigMap.KEY, pem).equals(existing.getData())
        ? Action.NONE
        : Action.UPDATE;
  }

  /** Whether jmesh's controller wrote it (its label says so). */
  static boolean managed(ConfigMap configMap) {
    Map<String, String> labels = configMap.getMetadata().getLabels();
    return labels != null && TrustAnchorCopies.MANAGER.equals(labels.get(TrustAnchorCopies.MANAGED_BY));
  }

  /**
   * {@code current} rewritten to hold {@code pem} only, keeping its metadata (labels others added,
   * and the resourceVersion, so that a concurrent write is a 409 and not lost).
   */
  static ConfigMap rewrite(ConfigMap current, String pem) {
    ConfigMap want = desired(current.getMetadata().getNamespace(), pem);
    return new ConfigMapBuilder(current)
        .editMetadata()
        .addToLabels(want.getMetadata().getLabels())
        .addToAnnotations(want.getMetadata().getAnnotations())
        .endMetadata()
        .withData(want.getData())
        .withBinaryData(null)
        .build();
  }
}
