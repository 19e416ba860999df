package io.jmesh.controller.xds;

import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.jmesh.runtime.xds.XdsNames;
import java.util.List;
import java.util.Objects;

/**
 * What one node group is served: its resources, a version per resource type, and the cache's
 * {@link Snapshot} of both. A type whose resources equal those of a base (the group's previous
 * snapshot, or the public view's) keeps that base's version, so java-control-plane's cache does
 * not answer its watches again: an endpoint change sends ClusterLoadAssignments only. A type that
 * changed gets the fresh version given, which no earlier snapshot of the group used for other
 * content.
 *
 * <p>Versions keep their meaning across groups: a version without {@code /} is the public view's
 * content of that type at that source version; a namespace whose content of a type differs from
 * the public view's labels it {@code <version>/<namespace>}. So an agent that moves between groups
 * (it reconnects with its certificate) and names a version it holds is sent the type again
 * exactly when the content differs.
 *
 * <p>Cost: comparing is {@code List.equals} of protobuf messages (no serialization, stops at the
 * first difference); a list compared with itself is equal at once.
 *
 * <p>Immutable; safe from any thread.
 */
final class TypedSnapshot {
  private final XdsResources resources;
  private final String[] versions; // listener, route, cluster, endpoint
  private final Snapshot snapshot;

  private TypedSnapshot(XdsResources resources, String[] versions) {
    this.resources = resources;
    this.versions = versions;
    this.snapshot =
        Snapshot.create(
            resources.clusters(),
            versions[2],
            resources.endpoints(),
            versions[3],
            resources.listeners(),
            versions[0],
            resources.routes(),
            versions[1],
            List.of(),
            resources.version());
  }

  /**
   * Labels {@code resources}: each type takes the version of the first base whose resources of
   * that type are equal, else {@code fresh}.
   *
   * @param bases earlier snapshots whose versions may be kept; null entries are skipped
   */
  static TypedSnapshot of(XdsResources resources, String fresh, TypedSnapshot... bases) {
    Objects.requireNonNull(resources, "resources");
    Objects.requireNonNull(fresh, "fresh");
    String[] versions = new String[4];
    for (int type = 0; type < 4; type++) {
      List<?> wanted = list(resources, type);
      versions[type] = fresh;
      for (TypedSnapshot base : bases) {
        if (base != null && sameContent(list(base.resources, type), wanted)) {
          versions[type] = base.versions[type];
          break;
        }
      }
    }
    return new TypedSnapshot(resources, versions);
  }

  private static boolean sameContent(List<?> a, List<?> b) {
    return a == b || (a.size() == b.size() && a.equals(b));
  }

  private static List<?> list(XdsResources resources, int type) {
    switch (type) {
      case 0:
        return resources.listeners();
      case 1:
        return resources.routes();
      case 2:
        return resources.clusters();
      default:
        return resources.endpoints();
    }
  }

  XdsResources resources() {
    return resources;
  }

  Snapshot snapshot() {
    return snapshot;
  }

  /** Listener, route, cluster and endpoint versions, in that order. */
  String[] versions() {
    return versions.clone();
  }

  /** The version of {@code typeUrl}; null for a type not served. */
  String version(String typeUrl) {
    switch (typeUrl) {
      case XdsNames.LISTENER_TYPE:
        return versions[0];
      case XdsNames.ROUTE_TYPE:
        return versions[1];
      case XdsNames.CLUSTER_TYPE:
        return versions[2];
      case XdsNames.ENDPOINT_TYPE:
        return versions[3];
      default:
        return null;
    }
  }

  /**
   * The source version a type's version was set with: the part before {@code /} (namespace
   * versions carry the namespace after it).
   */
  static String sourceVersion(String typeVersion) {
    int slash = typeVersion.indexOf('/');
    return slash < 0 ? typeVersion : typeVersion.substring(0, slash);
  }
}
