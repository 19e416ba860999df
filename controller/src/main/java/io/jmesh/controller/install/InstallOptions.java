package io.jmesh.controller.install;

import java.util.Objects;

/**
 * What {@code jmesh install} may vary: the control plane's namespace and the controller's image.
 *
 * @param namespace the namespace of the controller and of its namespaced objects
 * @param image the controller's container image
 */
public record InstallOptions(String namespace, String image) {
  /** The namespace when none is given. */
  public static final String DEFAULT_NAMESPACE = "jmesh-system";

  /** The image repository; the tag is the project version. */
  public static final String IMAGE_REPOSITORY = "ghcr.io/jmesh/controller";

  public InstallOptions {
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(image, "image");
  }

  /** {@value #IMAGE_REPOSITORY}{@code :<project version>}. */
  public static String defaultImage() {
    return IMAGE_REPOSITORY + ":" + ProjectVersion.get();
  }
}
