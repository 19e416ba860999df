package io.jmesh.injector;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
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
  static final String AGENT_VOLUME = "jmesh-agent";
  static final String TOKEN_VOLUME = "jmesh-token";
  static final String ANCHORS_VOLUME = "jmesh-anchors";
  static final String INIT_CONTAINER = "jmesh-agent-init";
  static final String TOKEN_AUDIENCE = "jmesh-ca";

  private static final JsonMapper COPIER = JsonMapper.builder().build();

  private final InjectorSettings settings;

  public PodInjector(InjectorSettings settings) {
    this.settings = Objects.requireNonNull(settings, "settings");
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
          "pod: " + input + " (expected: a pod with metadata and spec)");
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
    ensureVolume(spec, agentVolume(), podRef);
    ensureVolume(spec, tokenVolume(), podRef);
    ensureVolume(spec, anchorsVolume(), podRef);
    if (settings.agentSource() == InjectorSettings.AgentSource.INIT_CONTAINER) {
      ensureInitContainer(spec, targets, podRef);
    }

    String agentOption = "-javaagent:" + AgentEnvironment.AGENT_DIR + "/" + settings.agentJarName();
    Set<Integer> declaredPorts = declaredPorts(spec);
    int nextAdminPort = AgentEnvironment.FIRST_ADMIN_PORT;
    Map<String, String> chosen = new LinkedHashMap<>();
    boolean first = true;
    for (ContainerChoice.Target target : targets) {
      Container c = target.container();
      ensureMount(c, agentMount(), podRef);
      ensureMount(c, mount(TOKEN_VOLUME, AgentEnvironment.TOKEN_DIR), podRef);
      ensureMount(c, mount(ANCHORS_VOLUME, AgentEnvironment.ANCHORS_DIR), podRef);
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

  private Volume agentVolume() {
    VolumeBuilder b = new VolumeBuilder().withName(AGENT_VOLUME);
    if (settings.agentSource() == InjectorSettings.AgentSource.IMAGE_VOLUME) {
      return b.withNewImage()
          .withReference(settings.agentImage())
          .withPullPolicy("IfNotPresent")
          .endImage()
          .build();
    }
    // The jar is some 25 MiB; the limit only bounds what a broken copy could write.
    return b.withNewEmptyDir().withSizeLimit(new Quantity("64Mi")).endEmptyDir().build();
  }

  private Volume tokenVolume() {
    return new VolumeBuilder()
        .withName(TOKEN_VOLUME)
        .withNewProjected()
        .addNewSource()
        .withNewServiceAccountToken()
        .withAudience(TOKEN_AUDIENCE)
        .withExpirationSeconds(settings.tokenExpirationSeconds())
        .withPath("token")
        .endServiceAccountToken()
        .endSource()
        .endProjected()
        .build();
  }

  private Volume anchorsVolume() {
    return new VolumeBuilder()
        .withName(ANCHORS_VOLUME)
        .withNewConfigMap()
        .withName(settings.trustAnchorsConfigMap())
        .endConfigMap()
        .build();
  }

  private VolumeMount agentMount() {
    VolumeMountBuilder b =
        new VolumeMountBuilder()
            .withName(AGENT_VOLUME)
            .withMountPath(AgentEnvironment.AGENT_DIR)
            .withReadOnly(true);
    if (settings.agentSource() == InjectorSettings.AgentSource.IMAGE_VOLUME) {
      b.withSubPath(settings.agentFolderInImage());
    }
    return b.build();
  }

  private static VolumeMount mount(String volume, String path) {
    return new VolumeMountBuilder()
        .withName(volume)
        .withMountPath(path)
        .withReadOnly(true)
        .build();
  }

  /**
   * The copy step, restricted-compliant on its own (it relies on no pod-level field). It goes
   * before the first native sidecar it must serve, otherwise last: init containers run in order,
   * and application containers start after all of them.
   */
  private void ensureInitContainer(
      PodSpec spec, List<ContainerChoice.Target> targets, String podRef) {
    Container init =
        new ContainerBuilder()
            .withName(INIT_CONTAINER)
            .withImage(settings.agentImage())
            .withImagePullPolicy("IfNotPresent")
            .withCommand(
                "cp",
                settings.agentJarInImage(),
                AgentEnvironment.AGENT_DIR + "/" + settings.agentJarName())
            .withNewResources()
            .addToRequests("cpu", new Quantity("10m"))
            .addToRequests("memory", new Quantity("16Mi"))
            .addToLimits("cpu", new Quantity("100m"))
            .addToLimits("memory", new Quantity("64Mi"))
            .endResources()
            .withNewSecurityContext()
            .withRunAsNonRoot(true)
            .withRunAsUser(settings.initRunAsUser())
            .withRunAsGroup(settings.initRunAsUser())
            .withAllowPrivilegeEscalation(false)
            .withPrivileged(false)
            .withReadOnlyRootFilesystem(true)
            .withNewCapabilities()
            .addToDrop("ALL")
            .endCapabilities()
            .withNewSeccompProfile()
            .withType("RuntimeDefault")
            .endSeccompProfile()
            .endSecurityContext()
            .withTerminationMessagePolicy("FallbackToLogsOnError")
            .addNewVolumeMount()
            .withName(AGENT_VOLUME)
            .withMountPath(AgentEnvironment.AGENT_DIR)
            .endVolumeMount()
            .build();
    if (spec.getContainers() != null) {
      for (Container c : spec.getContainers()) {
        if (INIT_CONTAINER.equals(c.getName())) {
          throw conflict(podRef, "container", INIT_CONTAINER);
        }
      }
    }
    List<Container> inits =
        spec.getInitContainers() == null ? new ArrayList<>() : new ArrayList<>(spec.getInitContainers());
    for (Container c : inits) {
      if (INIT_CONTAINER.equals(c.getName())) {
        // With the API server's defaults filled in it is no longer equal to ours: judge it by
        // the image, which decides the jar copied.
        if (settings.agentImage().equals(c.getImage())) {
          return;
        }
        throw conflict(podRef, "init container", INIT_CONTAINER);
      }
    }
    int at = inits.size();
    for (ContainerChoice.Target t : targets) {
      if (t.nativeSidecar()) {
        at = Math.min(at, inits.indexOf(t.container()));
      }
    }
    inits.add(at, init);
    spec.setInitContainers(inits);
  }

  /**
   * Adds the volume, or keeps one of that name that serves the same files. The API server fills
   * defaults in ({@code defaultMode}, ...) before a webhook sees the pod, so a volume someone
   * wrote by hand, as controller/README.md shows, is judged by what it mounts, not compared
   * field by field.
   */
  private void ensureVolume(PodSpec spec, Volume volume, String podRef) {
    List<Volume> volumes =
        spec.getVolumes() == null ? new ArrayList<>() : new ArrayList<>(spec.getVolumes());
    for (Volume v : volumes) {
      if (volume.getName().equals(v.getName())) {
        if (servesTheSame(v)) {
          return;
        }
        throw conflict(podRef, "volume", volume.getName());
      }
    }
    volumes.add(volume);
    spec.setVolumes(volumes);
  }

  private boolean servesTheSame(Volume v) {
    switch (v.getName()) {
      case AGENT_VOLUME:
        return settings.agentSource() == InjectorSettings.AgentSource.IMAGE_VOLUME
            ? v.getImage() != null && settings.agentImage().equals(v.getImage().getReference())
            : v.getEmptyDir() != null;
      case TOKEN_VOLUME:
        return v.getProjected() != null
            && v.getProjected().getSources() != null
            && v.getProjected().getSources().stream()
                .anyMatch(
                    s ->
                        s.getServiceAccountToken() != null
                            && TOKEN_AUDIENCE.equals(s.getServiceAccountToken().getAudience())
                            && "token".equals(s.getServiceAccountToken().getPath()));
      case ANCHORS_VOLUME:
        return v.getConfigMap() != null
            && settings.trustAnchorsConfigMap().equals(v.getConfigMap().getName());
      default:
        return false;
    }
  }

  private static void ensureMount(Container c, VolumeMount mount, String podRef) {
    List<VolumeMount> mounts =
        c.getVolumeMounts() == null ? new ArrayList<>() : new ArrayList<>(c.getVolumeMounts());
    for (VolumeMount m : mounts) {
      if (mount.getMountPath().equals(m.getMountPath())) {
        if (mount.getName().equals(m.getName())) {
          return;
        }
        throw new InjectionRefused(
            Outcome.Denial.CONFLICT,
            "pod "
                + podRef
                + ": container "
                + c.getName()
                + " already mounts volume "
                + m.getName()
                + " at "
                + m.getMountPath()
                + " (expected: nothing there; the injector mounts "
                + mount.getName()
                + " there)");
      }
    }
    mounts.add(mount);
    c.setVolumeMounts(mounts);
  }

  private static InjectionRefused conflict(String podRef, String what, String name) {
    return new InjectionRefused(
        Outcome.Denial.CONFLICT,
        "pod "
            + podRef
            + " already has a "
            + what
            + " named "
            + name
            + ", unlike the injector's (expected: none of that name, or jmesh.io/inject:"
            + " disabled on the pod)");
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
