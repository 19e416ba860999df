package io.jmesh.runtime.config;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Everything the data plane knows about the mesh at one moment: the services the application may
 * call, their endpoints and their routes. Immutable; the runtime swaps whole snapshots atomically.
 *
 * @param version identifies this snapshot in logs and on the admin endpoint (a content hash in
 *     file mode)
 * @param services the services, in declaration order; qualified names are unique
 * @param unresolved services that discovery declares (their names and ports are mesh
 *     destinations) but whose routes, policy and endpoints are fetched only on first use; always
 *     empty in file mode. Their {@code endpoints}, {@code routes} and {@code policy} are empty and
 *     default. A name is never in both lists.
 */
public record MeshSnapshot(String version, List<Service> services, List<Service> unresolved) {

  public MeshSnapshot {
    Objects.requireNonNull(version, "version");
    services = List.copyOf(services);
    unresolved = List.copyOf(unresolved);
  }

  /** A snapshot where every service is resolved. */
  public MeshSnapshot(String version, List<Service> services) {
    this(version, services, List.of());
  }

  /** A snapshot with no service: nothing is mesh traffic. */
  public static MeshSnapshot empty() {
    return new MeshSnapshot("empty", List.of());
  }

  /** The service {@code name} in {@code namespace}, if declared. */
  public Optional<Service> service(String name, String namespace) {
    for (Service service : services) {
      if (service.name().equals(name) && service.namespace().equals(namespace)) {
        return Optional.of(service);
      }
    }
    return Optional.empty();
  }

  /**
   * Where this snapshot sets a policy other than the defaults (a service's {@code policy}, a
   * route's {@code timeout}, {@code retry} or {@code fault}), as field paths.
   */
  public List<String> nonDefaultPolicies() {
    List<String> out = new java.util.ArrayList<>();
    for (Service s : services) {
      if (!s.policy().equals(DestinationPolicy.DEFAULT)) {
        out.add(s.qualifiedName() + ".policy");
      }
      for (Route r : s.routes()) {
        if (!r.policy().equals(RoutePolicy.DEFAULT)) {
          out.add(s.qualifiedName() + ".routes[" + r.name() + "]");
        }
      }
    }
    return out;
  }
}
