package io.jmesh.controller.install;

import java.util.Objects;

/**
 * What {@code jmesh install} may vary: the control plane's namespace and its images.
 *
 * @param namespace the namespace of the controller, the injector and their namespaced objects
 * @param image the controller's container image
 * @param injectorImage the injector webhook's container image
 * @param agentImage the image holding the agent jar, which the injector puts into pods
 */
public record InstallOptions(String namespace, String image, String injectorImage, String agentImage) {
  /** The namespace when none is given. */
  public static final String DEFAULT_NAMESPACE = "jmesh-system";

  /** The image repository; the tag is the project version. */
  public static final String IMAGE_REPOSITORY = "ghcr.io/jmesh/controller";

  /** The injector's image repository; the tag is the project version. */
  public static final String INJECTOR_IMAGE_REPOSITORY = "ghcr.io/jmesh/injector";

  /** The agent's image repository; the tag is the project version. */
  public static final String AGENT_IMAGE_REPOSITORY = "ghcr.io/jmesh/agent";

  public InstallOptions {
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(image, "image");
    Objects.requireNonNull(injectorImage, "injectorImage");
    Objects.requireNonNull(agentImage, "agentImage");
  }

  /** The controller's {@code image}, the injector's and the agent's at the project version. */
  public InstallOptions(String namespace, String image) {
    this(namespace, image, defaultImage(INJECTOR_IMAGE_REPOSITORY), defaultImage(AGENT_IMAGE_REPOSITORY));
  }

  /** {@value #IMAGE_REPOSITORY}{@code :<project version>}. */
  public static String defaultImage() {
    return defaultImage(IMAGE_REPOSITORY);
  }

  /** {@code repository:<project version>}. */
  public static String defaultImage(String repository) {
    return repository + ":" + ProjectVersion.get();
  }
}
