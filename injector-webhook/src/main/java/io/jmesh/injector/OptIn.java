package io.jmesh.injector;

import io.fabric8.kubernetes.api.model.ObjectMeta;
import java.util.Map;
import java.util.Optional;

/**
 * Whether a pod is opted in. {@code jmesh.io/inject} may be a label or an annotation, on the pod
 * or its namespace. The pod decides when it says anything, {@code disabled} first; otherwise the
 * namespace decides. Labels exist so that the webhook's {@code objectSelector} and {@code
 * namespaceSelector} can select; annotations so that a pod template can opt in the way Linkerd's
 * users are used to.
 */
final class OptIn {
  private OptIn() {}

  /**
   * Empty when the pod is opted in; otherwise the skip. A pod value other than {@code enabled} or
   * {@code disabled} is refused: a typo must not leave a pod silently without the agent.
   */
  static Optional<Outcome> check(ObjectMeta pod, ObjectMeta namespace, String podRef) {
    String podAnnotation = get(pod.getAnnotations());
    String podLabel = get(pod.getLabels());
    refuseUnknown(podAnnotation, "annotation", podRef);
    refuseUnknown(podLabel, "label", podRef);
    if (Annotations.DISABLED.equals(podAnnotation) || Annotations.DISABLED.equals(podLabel)) {
      return Optional.of(
          Outcome.skipped(
              Outcome.Skip.OPTED_OUT,
              "pod " + podRef + " says " + Annotations.INJECT + ": disabled"));
    }
    if (Annotations.ENABLED.equals(podAnnotation) || Annotations.ENABLED.equals(podLabel)) {
      return Optional.empty();
    }
    String nsName = namespace == null ? null : namespace.getName();
    String nsAnnotation = namespace == null ? null : get(namespace.getAnnotations());
    String nsLabel = namespace == null ? null : get(namespace.getLabels());
    if (Annotations.DISABLED.equals(nsAnnotation) || Annotations.DISABLED.equals(nsLabel)) {
      return Optional.of(
          Outcome.skipped(
              Outcome.Skip.NOT_OPTED_IN,
              "namespace " + nsName + " says " + Annotations.INJECT + ": disabled"));
    }
    if (Annotations.ENABLED.equals(nsAnnotation) || Annotations.ENABLED.equals(nsLabel)) {
      return Optional.empty();
    }
    return Optional.of(
        Outcome.skipped(
            Outcome.Skip.NOT_OPTED_IN,
            "neither pod "
                + podRef
                + " nor namespace "
                + nsName
                + " says "
                + Annotations.INJECT
                + ": enabled"
                + (nsAnnotation != null || nsLabel != null
                    ? " (the namespace says \""
                        + (nsAnnotation != null ? nsAnnotation : nsLabel)
                        + "\"; expected: enabled or disabled)"
                    : "")));
  }

  private static void refuseUnknown(String value, String kind, String podRef) {
    if (value != null && !Annotations.ENABLED.equals(value) && !Annotations.DISABLED.equals(value)) {
      throw new InjectionRefused(
          Outcome.Denial.BAD_ANNOTATION,
          "pod "
              + podRef
              + ": "
              + kind
              + " "
              + Annotations.INJECT
              + ": \""
              + value
              + "\" (expected: enabled or disabled)");
    }
  }

  private static String get(Map<String, String> map) {
    return map == null ? null : map.get(Annotations.INJECT);
  }
}
