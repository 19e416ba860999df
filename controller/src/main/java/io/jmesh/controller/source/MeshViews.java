package io.jmesh.controller.source;

import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.config.Service;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What the agents of each namespace may see of a source's {@link MeshSnapshot}, which holds every
 * service with its producer routes (those that apply to every client).
 *
 * <ul>
 *   <li><b>Visibility</b>: a service listed in {@link #exportTo()} is seen only by the namespaces
 *       its set names (Kubernetes annotation {@code jmesh.io/export-to}); every other service is
 *       seen by all.
 *   <li><b>Consumer routes</b> (GAMMA): {@link #consumerServices()} gives, per client namespace,
 *       services whose routes are that namespace's consumer routes. For that namespace's clients
 *       they replace the service with its producer routes.
 * </ul>
 *
 * <p>The <em>public</em> view ({@link #publicView}) is what a client of no known namespace sees:
 * the services exported to all namespaces, with producer routes. A namespace that may see no
 * restricted service and has no consumer route sees exactly the public view ({@link
 * #seesPublicView}), so it can share its translation. A source without namespaces (the file) has
 * {@link #NONE}: every namespace sees the whole snapshot.
 *
 * <p>Immutable and thread-safe.
 */
public final class MeshViews {
  /** No restriction and no consumer route: every view is the whole snapshot. */
  public static final MeshViews NONE = new MeshViews(Map.of(), Map.of());

  private final Map<String, Set<String>> exportTo;
  private final Map<String, Map<String, Service>> consumerServices;
  private final Set<String> restrictedReaders; // namespaces that may see a restricted service

  /**
   * @param exportTo per service ({@link Service#qualifiedName()}), the namespaces that may see
   *     it; a service not listed is seen by all
   * @param consumerServices per client namespace, the services it sees with its consumer routes
   */
  public MeshViews(
      Map<String, Set<String>> exportTo, Map<String, List<Service>> consumerServices) {
    Map<String, Set<String>> exports = new TreeMap<>();
    Set<String> readers = new HashSet<>();
    exportTo.forEach(
        (service, namespaces) -> {
          // Sorted: the Kubernetes source hashes the views into the version.
          exports.put(service, Collections.unmodifiableSortedSet(new TreeSet<>(namespaces)));
          readers.addAll(namespaces);
        });
    Map<String, Map<String, Service>> consumers = new TreeMap<>();
    consumerServices.forEach(
        (namespace, services) -> {
          Map<String, Service> byName = new TreeMap<>();
          services.forEach(s -> byName.put(s.qualifiedName(), s));
          if (!byName.isEmpty()) {
            consumers.put(namespace, Collections.unmodifiableMap(byName));
          }
        });
    this.exportTo = Collections.unmodifiableMap(exports);
    this.consumerServices = Collections.unmodifiableMap(consumers);
    this.restrictedReaders = Set.copyOf(readers);
  }

  /** Per restricted service, the namespaces that may see it (sorted by service). */
  public Map<String, Set<String>> exportTo() {
    return exportTo;
  }

  /** Per client namespace (sorted), its services with consumer routes, by qualified name. */
  public Map<String, Map<String, Service>> consumerServices() {
    return consumerServices;
  }

  /** Whether the agents of {@code namespace} see exactly {@link #publicView}. */
  public boolean seesPublicView(String namespace) {
    return !restrictedReaders.contains(namespace) && !consumerServices.containsKey(namespace);
  }

  /** The services exported to all namespaces, with producer routes; {@code full} if all are. */
  public MeshSnapshot publicView(MeshSnapshot full) {
    if (exportTo.isEmpty()) {
      return full;
    }
    List<Service> services = new ArrayList<>();
    for (Service s : full.services()) {
      if (!exportTo.containsKey(s.qualifiedName())) {
        services.add(s);
      }
    }
    return new MeshSnapshot(full.version(), services, full.unresolved());
  }

  /**
   * What the agents of {@code namespace} see: the services exported to it, each with that
   * namespace's consumer routes where it has some. The same version as {@code full}.
   */
  public MeshSnapshot view(MeshSnapshot full, String namespace) {
    Objects.requireNonNull(namespace, "namespace");
    if (seesPublicView(namespace)) {
      return publicView(full);
    }
    Map<String, Service> consumer = consumerServices.getOrDefault(namespace, Map.of());
    List<Service> services = new ArrayList<>();
    for (Service s : full.services()) {
      Set<String> readers = exportTo.get(s.qualifiedName());
      if (readers == null || readers.contains(namespace)) {
        services.add(consumer.getOrDefault(s.qualifiedName(), s));
      }
    }
    return new MeshSnapshot(full.version(), services, full.unresolved());
  }

  /**
   * The views of several sources served as one ({@link CompositeMeshSource}); where two name the
   * same service, the first's entry is kept, as the composite keeps the first's service.
   */
  static MeshViews merge(List<MeshViews> views) {
    Map<String, Set<String>> exports = new LinkedHashMap<>();
    Map<String, Map<String, Service>> consumers = new LinkedHashMap<>();
    for (MeshViews v : views) {
      v.exportTo.forEach(exports::putIfAbsent);
      v.consumerServices.forEach(
          (ns, byName) -> {
            Map<String, Service> into = consumers.computeIfAbsent(ns, k -> new LinkedHashMap<>());
            byName.forEach(into::putIfAbsent);
          });
    }
    Map<String, List<Service>> lists = new LinkedHashMap<>();
    consumers.forEach((ns, byName) -> lists.put(ns, List.copyOf(byName.values())));
    return new MeshViews(exports, lists);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof MeshViews v
        && exportTo.equals(v.exportTo)
        && consumerServices.equals(v.consumerServices);
  }

  @Override
  public int hashCode() {
    return Objects.hash(exportTo, consumerServices);
  }

  @Override
  public String toString() {
    return "MeshViews{exportTo=" + exportTo + ", consumers=" + consumerServices.keySet() + "}";
  }
}
