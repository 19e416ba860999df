package io.jmesh.injector;

import java.util.Objects;

/**
 * What the injector puts into every pod it mutates, the same for all pods: where the agent comes
 * from, the controller's address, the token and the trust anchors. Per-pod choices are
 * annotations (see {@link Annotations}).
 *
 * <p>Immutable; safe to share between threads.
 *
 * @param version this injector's version, written to {@code jmesh.io/injected}
 * @param agentImage the image that holds the agent jar at {@code agentJarInImage}
 * @param agentJarInImage the absolute path of {@code jmesh-agent.jar} inside {@code agentImage}
 * @param agentSource how the jar reaches the application containers
 * @param controller the value of {@code JMESH_CONTROLLER}: comma-separated xDS {@code host:port}
 * @param trustDomain the value of {@code JMESH_TRUST_DOMAIN}: the controller's {@code
 *     --trust-domain}
 * @param tokenExpirationSeconds the projected token's {@code expirationSeconds} (600..86400)
 * @param trustAnchorsConfigMap the ConfigMap of the trust anchors, in the pod's namespace
 * @param initRunAsUser the UID (and GID) the copy init container runs as; not 0
 */
public record InjectorSettings(
    String version,
    String agentImage,
    String agentJarInImage,
    AgentSource agentSource,
    String controller,
    String trustDomain,
    long tokenExpirationSeconds,
    String trustAnchorsConfigMap,
    long initRunAsUser) {

  /** How the agent jar reaches the application containers. */
  public enum AgentSource {
    /** An init container copies the jar into an emptyDir (any Kubernetes version). */
    INIT_CONTAINER,
    /**
     * The agent image is mounted as an image volume (Kubernetes 1.33+, where the {@code
     * ImageVolume} feature is on); no init container.
     */
    IMAGE_VOLUME
  }

  public InjectorSettings {
    requireText(version, "version");
    requireText(agentImage, "agentImage");
    requireText(agentJarInImage, "agentJarInImage");
    if (!agentJarInImage.startsWith("/")
        || !agentJarInImage.endsWith(".jar")
        || agentJarInImage.lastIndexOf('/') == 0) {
      throw new IllegalArgumentException(
          "agentJarInImage: \""
              + agentJarInImage
              + "\" (expected: an absolute path in a folder, ending in .jar, for example"
              + " /jmesh/jmesh-agent.jar)");
    }
    Objects.requireNonNull(agentSource, "agentSource");
    requireText(controller, "controller");
    requireText(trustDomain, "trustDomain");
    if (tokenExpirationSeconds < 600 || tokenExpirationSeconds > 86400) {
      // The API server refuses a projected token shorter than 10 minutes.
      throw new IllegalArgumentException(
          "tokenExpirationSeconds: " + tokenExpirationSeconds + " (expected: 600..86400)");
    }
    requireText(trustAnchorsConfigMap, "trustAnchorsConfigMap");
    if (initRunAsUser <= 0) {
      throw new IllegalArgumentException(
          "initRunAsUser: " + initRunAsUser + " (expected: > 0, a non-root UID)");
    }
  }

  /**
   * The defaults of the README's table for the given version, agent image and controller
   * address.
   */
  public static InjectorSettings defaults(String version, String agentImage, String controller) {
    return new InjectorSettings(
        version,
        agentImage,
        "/jmesh/jmesh-agent.jar",
        AgentSource.INIT_CONTAINER,
        controller,
        "cluster.local",
        3600,
        "jmesh-trust-anchors",
        65532);
  }

  /** A copy with another agent source. */
  public InjectorSettings withAgentSource(AgentSource source) {
    return new InjectorSettings(
        version,
        agentImage,
        agentJarInImage,
        source,
        controller,
        trustDomain,
        tokenExpirationSeconds,
        trustAnchorsConfigMap,
        initRunAsUser);
  }

  /** The jar's file name, for example {@code jmesh-agent.jar}. */
  String agentJarName() {
    return agentJarInImage.substring(agentJarInImage.lastIndexOf('/') + 1);
  }

  /** The jar's folder inside the image without the leading slash: an image volume's subPath. */
  String agentFolderInImage() {
    return agentJarInImage.substring(1, agentJarInImage.lastIndexOf('/'));
  }

  private static void requireText(String value, String name) {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException(name + ": \"" + value + "\" (expected: a non-empty value)");
    }
  }
}
