package io.jmesh.injector;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import java.util.ArrayList;
import java.util.List;

/**
 * The files an agent needs, as volumes of the pod and mounts of each injected container: the
 * agent jar (an emptyDir the copy init container fills, or the agent image as an image volume),
 * the projected service-account token and the trust anchors. Each is added once; one the pod
 * already has is kept when it serves the same files, and refused ({@code conflict}) otherwise.
 *
 * <p>Immutable; mutates only the spec and containers handed to it.
 */
final class AgentVolumes {
  static final String AGENT_VOLUME = "jmesh-agent";
  static final String TOKEN_VOLUME = "jmesh-token";
  static final String ANCHORS_VOLUME = "jmesh-anchors";
  static final String INIT_CONTAINER = "jmesh-agent-init";
  static final String TOKEN_AUDIENCE = "jmesh-ca";

  private final InjectorSettings settings;

  AgentVolumes(InjectorSettings settings) {
    this.settings = settings;
  }

  /** The three volumes and, for {@code INIT_CONTAINER}, the copy step. */
  void addTo(PodSpec spec, List<ContainerChoice.Target> targets, String podRef) {
    ensureVolume(spec, agentVolume(), podRef);
    ensureVolume(spec, tokenVolume(), podRef);
    ensureVolume(spec, anchorsVolume(), podRef);
    if (settings.agentSource() == InjectorSettings.AgentSource.INIT_CONTAINER) {
      ensureInitContainer(spec, targets, podRef);
    }
  }

  /** The three read-only mounts. */
  void mountIn(Container c, String podRef) {
    ensureMount(c, agentMount(), podRef);
    ensureMount(c, mount(TOKEN_VOLUME, AgentEnvironment.TOKEN_DIR), podRef);
    ensureMount(c, mount(ANCHORS_VOLUME, AgentEnvironment.ANCHORS_DIR), podRef);
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
}
