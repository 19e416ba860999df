package io.jmesh.controller.kubernetes;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Pod;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which pods are opted in to the mesh but run without the agent: the injector's opt-in rule,
 * applied to the pods that exist, as a pure function (no I/O, no clock; thread-safe).
 *
 * <p>The rule is the injector's ({@code injector-webhook}: {@code PodInjector}, {@code OptIn},
 * {@code ContainerChoice}), written again here rather than shared: the controller does not depend
 * on the injector's module (its Netty server and shaded jar) for a dozen lines. {@code
 * UninjectedPodsTest} runs this rule over every fixture case of the injector's own tests and
 * requires the same decision, so the two cannot drift apart unnoticed.
 *
 * <p>In order, as the injector decides: a pod with {@code jmesh.io/injected} has the agent; a pod
 * in {@code kube-system} or the controller's namespace is never sent to the injector (the
 * webhook's selectors exclude them); {@code jmesh.io/inject} on the pod ({@code disabled} first,
 * label or annotation), else on the namespace; a pod value other than {@code enabled} or {@code
 * disabled} is one the injector refuses, so a pod that runs with it never went through the
 * injector; {@code hostNetwork} and "every container is a known proxy" are skips the injector
 * makes on purpose. The injector leaves no mark on a pod it skips, so these two are derived here
 * from the pod itself and reported as skipped, not as missed.
 */
public final class UninjectedPods {
  /** On a namespace or pod, label or annotation: {@code enabled} or {@code disabled}. */
  public static final String INJECT = "jmesh.io/inject";
  /** Written by the injector on every pod it injected: its version. */
  public static final String INJECTED = "jmesh.io/injected";
  /** The reason of the Warning Event the controller's leader puts on each such pod. */
  public static final String EVENT_REASON = "JmeshNotInjected";
  static final String INJECT_CONTAINERS = "jmesh.io/inject-containers";
  static final String ENABLED = "enabled";
  static final String DISABLED = "disabled";
  /** Excluded by the webhook's namespaceSelector, with the control plane's own namespace. */
  static final String KUBE_SYSTEM = "kube-system";

  private static final Set<String> PROXY_NAMES = Set.of("istio-proxy", "linkerd-proxy");

  private UninjectedPods() {}

  /** What the injector makes, or made, of a pod. */
  public enum Verdict {
    /** It carries {@code jmesh.io/injected}: the injector's {@code already_injected}. */
    INJECTED("already_injected"),
    /** In {@code kube-system} or the control plane's namespace: the webhook never sees it. */
    EXCLUDED_NAMESPACE("excluded_namespace"),
    /** {@code disabled} on the pod: the injector's {@code opted_out}. */
    OPTED_OUT("opted_out"),
    /** Neither pod nor namespace says {@code enabled}: the injector's {@code not_opted_in}. */
    NOT_OPTED_IN("not_opted_in"),
    /** Opted in, {@code hostNetwork: true}: skipped on purpose, the injector's {@code host_network}. */
    HOST_NETWORK("host_network"),
    /** Opted in, every container a known proxy: skipped on purpose ({@code no_jvm_container}). */
    NO_JVM_CONTAINER("no_jvm_container"),
    /** Opted in and would be injected (or refused) by the injector, yet has no agent. */
    WITHOUT_AGENT("without_agent");

    private final String code;

    Verdict(String code) {
      this.code = code;
    }

    /** The injector's skip code where there is one. */
    public String code() {
      return code;
    }
  }

  /**
   * The decision for one pod.
   *
   * @param verdict what the injector makes of it
   * @param optedInBy for opted-in pods, what opts it in ({@code namespace label
   *     jmesh.io/inject=enabled}); for a value the injector refuses, that value; else null
   * @param webhookSees whether {@code jmesh install}'s webhook selectors send the pod to the
   *     injector at all: they match labels only, so an annotation alone is never seen
   */
  public record Judgement(Verdict verdict, String optedInBy, boolean webhookSees) {}

  /** An opted-in pod that runs without the agent, and what to tell its owner. */
  public record PodWithoutAgent(
      String namespace, String name, String uid, String optedInBy, boolean webhookSees,
      boolean badValue, String restart) {

    /** {@code namespace/name}. */
    public String ref() {
      return namespace + "/" + name;
    }

    /** One sentence: why it counts, why it has no agent, and what to do. */
    public String message() {
      if (badValue) {
        return "pod " + ref() + " has " + optedInBy + " (expected: enabled or disabled) and no jmesh"
            + " agent: the injector refuses a pod with this value, so it never went through the"
            + " injector; fix the value in the pod template, then " + restart;
      }
      if (!webhookSees) {
        return "pod " + ref() + " is opted in by " + optedInBy + " but has no jmesh agent: the"
            + " injector's webhook selects by label only and never saw it; label the pod template or"
            + " the namespace " + INJECT + "=" + ENABLED + ", then " + restart;
      }
      return "pod " + ref() + " is opted in by " + optedInBy + " but has no jmesh agent: it was"
          + " created while the injector was unavailable or before the label; " + restart;
    }
  }

  /** An opted-in pod the injector skips on purpose ({@link Verdict#HOST_NETWORK}, {@link Verdict#NO_JVM_CONTAINER}). */
  public record SkippedPod(String namespace, String name, Verdict verdict) {
    public String ref() {
      return namespace + "/" + name;
    }
  }

  /** The pods found, each list sorted by namespace and name. */
  public record Findings(List<PodWithoutAgent> withoutAgent, List<SkippedPod> skipped) {
    public Findings {
      withoutAgent = List.copyOf(withoutAgent);
      skipped = List.copyOf(skipped);
    }
  }

  /**
   * The live pods (scheduled on a node, not finished, not being deleted) that are opted in and
   * have no agent, and those skipped on purpose.
   *
   * @param namespaces the metadata of each namespace by name; a pod whose namespace is missing is
   *     judged on its own labels and annotations, as the injector does
   * @param controllerNamespace the control plane's namespace, excluded like {@code kube-system}
   */
  public static Findings find(
      Collection<Pod> pods, Map<String, ObjectMeta> namespaces, String controllerNamespace) {
    List<PodWithoutAgent> without = new ArrayList<>();
    List<SkippedPod> skipped = new ArrayList<>();
    for (Pod pod : pods) {
      if (!live(pod)) {
        continue;
      }
      ObjectMeta meta = pod.getMetadata();
      Judgement j = judge(pod, namespaces.get(meta.getNamespace()), controllerNamespace);
      switch (j.verdict()) {
        case WITHOUT_AGENT -> without.add(new PodWithoutAgent(
            meta.getNamespace(), meta.getName(), meta.getUid(), j.optedInBy(), j.webhookSees(),
            badValue(value(meta.getLabels())) || badValue(value(meta.getAnnotations())),
            restart(pod)));
        case HOST_NETWORK, NO_JVM_CONTAINER ->
            skipped.add(new SkippedPod(meta.getNamespace(), meta.getName(), j.verdict()));
        default -> { }
      }
    }
    without.sort(Comparator.comparing(PodWithoutAgent::namespace).thenComparing(PodWithoutAgent::name));
    skipped.sort(Comparator.comparing(SkippedPod::namespace).thenComparing(SkippedPod::name));
    return new Findings(without, skipped);
  }

  /** Scheduled, not finished, not being deleted: a pod that runs, or is about to, as it is. */
  static boolean live(Pod pod) {
    if (pod.getMetadata() == null || pod.getSpec() == null
        || pod.getMetadata().getDeletionTimestamp() != null) {
      return false;
    }
    String nodeName = pod.getSpec().getNodeName();
    String phase = pod.getStatus() == null ? null : pod.getStatus().getPhase();
    return nodeName != null && !nodeName.isEmpty()
        && !"Succeeded".equals(phase) && !"Failed".equals(phase);
  }

  /**
   * What the injector makes of {@code pod} in a namespace with metadata {@code namespace} (null:
   * unknown, only the pod can opt in).
   */
  public static Judgement judge(Pod pod, ObjectMeta namespace, String controllerNamespace) {
    ObjectMeta meta = pod.getMetadata();
    Map<String, String> annotations = meta.getAnnotations() == null ? Map.of() : meta.getAnnotations();
    if (annotations.containsKey(INJECTED)) {
      return new Judgement(Verdict.INJECTED, null, true);
    }
    String ns = meta.getNamespace() != null ? meta.getNamespace()
        : namespace == null ? null : namespace.getName();
    if (KUBE_SYSTEM.equals(ns) || (ns != null && ns.equals(controllerNamespace))) {
      return new Judgement(Verdict.EXCLUDED_NAMESPACE, null, false);
    }
    String podLabel = value(meta.getLabels());
    String podAnnotation = value(annotations);
    String nsLabel = namespace == null ? null : value(namespace.getLabels());
    String nsAnnotation = namespace == null ? null : value(namespace.getAnnotations());
    // The webhook of jmesh install: a labelled namespace sends pods not labelled disabled; any
    // other namespace sends pods labelled enabled.
    boolean webhookSees = ENABLED.equals(nsLabel) ? !DISABLED.equals(podLabel) : ENABLED.equals(podLabel);

    String optedInBy;
    if (badValue(podLabel) || badValue(podAnnotation)) {
      // The injector refuses the pod whatever its namespace says.
      optedInBy = badValue(podLabel)
          ? "label " + INJECT + "=\"" + podLabel + "\""
          : "annotation " + INJECT + "=\"" + podAnnotation + "\"";
    } else if (DISABLED.equals(podAnnotation) || DISABLED.equals(podLabel)) {
      return new Judgement(Verdict.OPTED_OUT, null, webhookSees);
    } else if (ENABLED.equals(podLabel)) {
      optedInBy = "pod label " + INJECT + "=" + ENABLED;
    } else if (ENABLED.equals(podAnnotation)) {
      optedInBy = "pod annotation " + INJECT + "=" + ENABLED;
    } else if (DISABLED.equals(nsAnnotation) || DISABLED.equals(nsLabel)) {
      return new Judgement(Verdict.NOT_OPTED_IN, null, webhookSees);
    } else if (ENABLED.equals(nsLabel)) {
      optedInBy = "namespace label " + INJECT + "=" + ENABLED;
    } else if (ENABLED.equals(nsAnnotation)) {
      optedInBy = "namespace annotation " + INJECT + "=" + ENABLED;
    } else {
      return new Judgement(Verdict.NOT_OPTED_IN, null, webhookSees);
    }
    if (!badValue(podLabel) && !badValue(podAnnotation)) {
      if (Boolean.TRUE.equals(pod.getSpec().getHostNetwork())) {
        return new Judgement(Verdict.HOST_NETWORK, optedInBy, webhookSees);
      }
      if (!annotations.containsKey(INJECT_CONTAINERS) && onlyProxies(pod)) {
        return new Judgement(Verdict.NO_JVM_CONTAINER, optedInBy, webhookSees);
      }
    }
    return new Judgement(Verdict.WITHOUT_AGENT, optedInBy, webhookSees);
  }

  private static String value(Map<String, String> map) {
    return map == null ? null : map.get(INJECT);
  }

  private static boolean badValue(String value) {
    return value != null && !ENABLED.equals(value) && !DISABLED.equals(value);
  }

  private static boolean onlyProxies(Pod pod) {
    List<Container> containers = pod.getSpec().getContainers();
    return containers == null || containers.stream().allMatch(UninjectedPods::isKnownProxy);
  }

  /** The injector's {@code ContainerChoice.isKnownProxy}: by name, or by image repository. */
  static boolean isKnownProxy(Container c) {
    if (PROXY_NAMES.contains(c.getName())) {
      return true;
    }
    String repository = c.getImage() == null ? "" : c.getImage();
    int at = repository.indexOf('@');
    if (at >= 0) {
      repository = repository.substring(0, at);
    }
    int colon = repository.lastIndexOf(':');
    if (colon > repository.lastIndexOf('/')) {
      repository = repository.substring(0, colon);
    }
    return repository.equals("envoy")
        || repository.endsWith("/envoy")
        || repository.contains("envoyproxy/")
        || repository.endsWith("istio/proxyv2")
        || repository.endsWith("linkerd/proxy");
  }

  /**
   * How to get the pod made again through the injector: a rollout restart of its Deployment,
   * StatefulSet or DaemonSet, else deleting it so its owner makes a new one, or recreating it.
   */
  static String restart(Pod pod) {
    ObjectMeta meta = pod.getMetadata();
    String kubectl = "kubectl -n " + meta.getNamespace() + " ";
    OwnerReference owner = meta.getOwnerReferences() == null ? null
        : meta.getOwnerReferences().stream()
            .filter(o -> Boolean.TRUE.equals(o.getController())).findFirst().orElse(null);
    if (owner == null) {
      return "create it again (" + kubectl + "delete pod " + meta.getName() + ", then apply it)";
    }
    String hash = meta.getLabels() == null ? null : meta.getLabels().get("pod-template-hash");
    String workload = switch (owner.getKind()) {
      case "ReplicaSet" -> hash != null && owner.getName().endsWith("-" + hash)
          ? "deployment/" + owner.getName().substring(0, owner.getName().length() - hash.length() - 1)
          : null;
      case "StatefulSet" -> "statefulset/" + owner.getName();
      case "DaemonSet" -> "daemonset/" + owner.getName();
      default -> null;
    };
    if (workload == null) {
      return "delete it so that its " + owner.getKind() + " " + owner.getName() + " makes a new one ("
          + kubectl + "delete pod " + meta.getName() + ")";
    }
    return "restart its workload (" + kubectl + "rollout restart " + workload + ")";
  }
}
