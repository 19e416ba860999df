package io.jmesh.injector;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.PodSpec;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Which containers get the agent.
 *
 * <p>By default every application container ({@code spec.containers}) except a known proxy
 * sidecar, wherever it stands in the list (the OpenTelemetry Operator took the first container and
 * so instrumented {@code istio-proxy}). Native sidecars ({@code initContainers} with {@code
 * restartPolicy: Always}) are left alone by default: they are usually infrastructure (a proxy, a
 * log shipper), and Istio's own proxy is one. {@code jmesh.io/inject-containers} names the
 * containers instead, native sidecars included; a name the pod does not have is refused, never
 * replaced by a guess.
 *
 * <p>The injector cannot look into an image to see whether it runs a JVM. It treats every
 * container that is no known proxy as a JVM: for a process that is not one, the additions are an
 * environment variable it ignores and three read-only mounts.
 */
final class ContainerChoice {
  /** A container to inject; {@code nativeSidecar} when it is in {@code initContainers}. */
  record Target(Container container, boolean nativeSidecar) {}

  private static final Set<String> PROXY_NAMES = Set.of("istio-proxy", "linkerd-proxy");

  private ContainerChoice() {}

  /** The targets, in pod order; empty when no container qualifies (a skip, not an error). */
  static List<Target> choose(PodSpec spec, Map<String, String> annotations, String podRef) {
    String named = annotations == null ? null : annotations.get(Annotations.INJECT_CONTAINERS);
    List<Container> containers = spec.getContainers() == null ? List.of() : spec.getContainers();
    List<Container> initContainers =
        spec.getInitContainers() == null ? List.of() : spec.getInitContainers();
    if (named == null) {
      List<Target> targets = new ArrayList<>();
      for (Container c : containers) {
        if (!isKnownProxy(c)) {
          targets.add(new Target(c, false));
        }
      }
      return targets;
    }
    Set<String> names = new LinkedHashSet<>();
    for (String part : named.split(",", -1)) {
      String name = part.trim();
      if (name.isEmpty()) {
        throw new InjectionRefused(
            Outcome.Denial.BAD_ANNOTATION,
            "pod "
                + podRef
                + ": "
                + Annotations.INJECT_CONTAINERS
                + ": \""
                + named
                + "\" (expected: comma-separated container names, none empty)");
      }
      names.add(name);
    }
    List<Target> targets = new ArrayList<>();
    for (Container c : containers) {
      if (names.remove(c.getName())) {
        refuseProxy(c, podRef);
        targets.add(new Target(c, false));
      }
    }
    // Native sidecars after the application containers: the order of the written annotation.
    for (Container c : initContainers) {
      if (names.remove(c.getName())) {
        if (!"Always".equals(c.getRestartPolicy())) {
          throw new InjectionRefused(
              Outcome.Denial.CONTAINER_NOT_INJECTABLE,
              "pod "
                  + podRef
                  + ": "
                  + Annotations.INJECT_CONTAINERS
                  + " names \""
                  + c.getName()
                  + "\", an init container that runs to completion (expected: an application"
                  + " container or a native sidecar, restartPolicy: Always)");
        }
        refuseProxy(c, podRef);
        targets.add(new Target(c, true));
      }
    }
    if (!names.isEmpty()) {
      throw new InjectionRefused(
          Outcome.Denial.CONTAINER_NOT_FOUND,
          "pod "
              + podRef
              + ": "
              + Annotations.INJECT_CONTAINERS
              + " names "
              + names.stream().map(n -> "\"" + n + "\"").collect(Collectors.joining(", "))
              + ", which the pod does not have (expected: one of "
              + Stream.concat(containers.stream(), initContainers.stream())
                  .filter(c -> !isKnownProxy(c))
                  .map(Container::getName)
                  .collect(Collectors.joining(", "))
              + ")");
    }
    return targets;
  }

  private static void refuseProxy(Container c, String podRef) {
    if (isKnownProxy(c)) {
      throw new InjectionRefused(
          Outcome.Denial.CONTAINER_NOT_INJECTABLE,
          "pod "
              + podRef
              + ": "
              + Annotations.INJECT_CONTAINERS
              + " names \""
              + c.getName()
              + "\", a proxy sidecar (image "
              + c.getImage()
              + "; expected: an application container)");
    }
  }

  /**
   * Istio's and Linkerd's proxies by container name, and Envoy, Istio's {@code proxyv2} and
   * Linkerd's {@code proxy} by image repository, whatever the registry and tag.
   */
  static boolean isKnownProxy(Container c) {
    if (PROXY_NAMES.contains(c.getName())) {
      return true;
    }
    String repository = repository(c.getImage());
    return repository.equals("envoy")
        || repository.endsWith("/envoy")
        || repository.contains("envoyproxy/")
        || repository.endsWith("istio/proxyv2")
        || repository.endsWith("linkerd/proxy");
  }

  /** The image reference without digest and tag: {@code registry/path/name}. */
  static String repository(String image) {
    if (image == null) {
      return "";
    }
    String ref = image;
    int at = ref.indexOf('@');
    if (at >= 0) {
      ref = ref.substring(0, at);
    }
    int colon = ref.lastIndexOf(':');
    if (colon > ref.lastIndexOf('/')) {
      ref = ref.substring(0, colon);
    }
    return ref;
  }
}
