package io.jmesh.injector;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodSpec;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import tools.jackson.databind.json.JsonMapper;

/**
 * The mutation as a pure function: a pod and its namespace's metadata in, an {@link Outcome} out.
 * No I/O, no clock: the same input gives the same output, and the output fed back is skipped as
 * {@code already_injected}, so a re-invocation ({@code reinvocationPolicy: IfNeeded}) changes
 * nothing.
 *
 * <p>Order of the checks: already injected, opt-in (the pod's {@code disabled} first), {@code
 * hostNetwork}, the pod's jmesh annotations, the choice of containers, conflicts with what the pod
 * already has. Then the pod gets the agent volume (an emptyDir filled by an init container, or the
 * agent image as an image volume), the token and trust-anchor volumes, and each chosen container
 * its mounts, its {@code JMESH_*} variables and {@code -javaagent}.
 *
 * <p>Immutable and thread-safe; the pod passed in is never modified.
 */
public final class PodInjector {
  private static final JsonMapper COPIER = JsonMapper.builder().build();

  private final InjectorSettings settings;
  private final AgentVolumes volumes;

  public PodInjector(InjectorSettings settings) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.volumes = new AgentVolumes(settings);
  }

  /**
   * Decides and, when opted in, mutates. {@code namespace} is the metadata of the pod's namespace
   * (its labels and annotations; null when unknown, then only the pod can opt in).
   *
   * @throws IllegalArgumentException when the pod has no metadata or no spec
   */
  public Outcome inject(Pod input, ObjectMeta namespace) {
    if (input == null || input.getMetadata() == null || input.getSpec() == null) {
      throw new IllegalArgumentException(
          "pod: "
              + (input == null ? "null" : input.getMetadata() == null ? "no metadata" : "no spec")
              + " (expected: a pod with metadata and spec)");
    }
    String podRef = podRef(input, namespace);
    ObjectMeta meta = input.getMetadata();
    if (meta.getAnnotations() != null && meta.getAnnotations().containsKey(Annotations.INJECTED)) {
      return Outcome.skipped(
          Outcome.Skip.ALREADY_INJECTED,
          "pod "
              + podRef
              + " has "
              + Annotations.INJECTED
              + ": "
              + meta.getAnnotations().get(Annotations.INJECTED));
    }
    try {
      Optional<Outcome> skip = OptIn.check(meta, namespace, podRef);
      if (skip.isPresent()) {
        return skip.get();
      }
      if (Boolean.TRUE.equals(input.getSpec().getHostNetwork())) {
        return Outcome.skipped(
            Outcome.Skip.HOST_NETWORK,
            "pod " + podRef + " uses hostNetwork: the agent would capture the node's ports");
      }
      // Work on a copy: the caller's pod stays as it came, for the diff.
      Pod pod = COPIER.treeToValue(COPIER.valueToTree(input), Pod.class);
      return mutate(pod, podRef);
    } catch (InjectionRefused refused) {
      return refused.outcome();
    }
  }

  private Outcome mutate(Pod pod, String podRef) {
    ObjectMeta meta = pod.getMetadata();
    PodSpec spec = pod.getSpec();
    Map<String, String> annotations =
        meta.getAnnotations() == null ? Map.of() : meta.getAnnotations();
    String variableOverride =
        JavaOptions.parseOverride(annotations.get(Annotations.JAVA_OPTIONS_VARIABLE), podRef);
    List<ContainerChoice.Target> targets = ContainerChoice.choose(spec, annotations, podRef);
    if (targets.isEmpty()) {
      return Outcome.skipped(
          Outcome.Skip.NO_JVM_CONTAINER,
          "pod "
              + podRef
              + " has no container to inject: "
              + (spec.getContainers() == null
                  ? "none"
                  : spec.getContainers().stream()
                      .map(c -> c.getName() + " (" + c.getImage() + ")")
                      .collect(Collectors.joining(", ")))
              + " are known proxy sidecars");
    }

    List<String> warnings = new ArrayList<>();
    volumes.addTo(spec, targets, podRef);

    String agentOption = "-javaagent:" + AgentEnvironment.AGENT_DIR + "/" + settings.agentJarName();
    Set<Integer> declaredPorts = declaredPorts(spec);
    int nextAdminPort = AgentEnvironment.FIRST_ADMIN_PORT;
    Map<String, String> chosen = new LinkedHashMap<>();
    boolean first = true;
    for (ContainerChoice.Target target : targets) {
      Container c = target.container();
      volumes.mountIn(c, podRef);
      // Containers of one pod share its network: each agent after the first needs its own admin
      // port, and none may take a port a container declares.
      int adminPort = 0;
      if (!first) {
        do {
          nextAdminPort++;
        } while (declaredPorts.contains(nextAdminPort));
        adminPort = nextAdminPort;
      }
      first = false;
      String variable = JavaOptions.choose(c, variableOverride);
      List<EnvVar> env = c.getEnv() == null ? new ArrayList<>() : new ArrayList<>(c.getEnv());
      for (EnvVar v :
          AgentEnvironment.variables(
              settings, c, meta.getLabels(), meta.getAnnotations(), adminPort, warnings)) {
        if (JavaOptions.indexOf(env, v.getName()) < 0) {
          env.add(v);
        }
      }
      c.setEnv(env);
      JavaOptions.apply(c, variable, agentOption);
      chosen.put(c.getName(), variable);
    }

    Map<String, String> written = new LinkedHashMap<>(annotations);
    // The controller's Kubernetes source gives an identity only to pods with this annotation.
    written.put(Annotations.INJECT, Annotations.ENABLED);
    written.put(Annotations.INJECTED, settings.version());
    written.put(
        Annotations.INJECTED_CONTAINERS,
        chosen.entrySet().stream()
            .map(e -> e.getKey() + "=" + e.getValue())
            .collect(Collectors.joining(",")));
    meta.setAnnotations(written);
    return Outcome.injected(
        pod,
        "pod " + podRef + ": injected " + written.get(Annotations.INJECTED_CONTAINERS),
        warnings);
  }

  private static Set<Integer> declaredPorts(PodSpec spec) {
    Set<Integer> ports = new HashSet<>();
    List<Container> all = new ArrayList<>();
    if (spec.getContainers() != null) {
      all.addAll(spec.getContainers());
    }
    if (spec.getInitContainers() != null) {
      all.addAll(spec.getInitContainers());
    }
    for (Container c : all) {
      if (c.getPorts() != null) {
        for (ContainerPort p : c.getPorts()) {
          if (p.getContainerPort() != null) {
            ports.add(p.getContainerPort());
          }
        }
      }
    }
    return ports;
  }

  /** {@code namespace/name}, or {@code namespace/generateName*} for a pod not yet named. */
  static String podRef(Pod pod, ObjectMeta namespace) {
    ObjectMeta meta = pod.getMetadata();
    String ns = meta.getNamespace() != null ? meta.getNamespace() : namespace == null ? null : namespace.getName();
    String name =
        meta.getName() != null && !meta.getName().isEmpty()
            ? meta.getName()
            : (meta.getGenerateName() == null ? "" : meta.getGenerateName()) + "*";
    return (ns == null ? "" : ns + "/") + name;
  }
}
