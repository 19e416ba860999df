package io.jmesh.controller;

import io.jmesh.controller.ca.CertificateAuthority;
import io.jmesh.controller.xds.AgentStatus;
import io.jmesh.runtime.config.MeshSnapshot;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What the admin API shows, read fresh for every request. {@link Controller} implements it over
 * its parts.
 *
 * <p>Thread-safety: implementations are called from the admin server's threads, concurrently.
 */
interface AdminModel {

  /** Why the controller is not ready, in one line; empty when it is. */
  Optional<String> notReadyReason();

  /** The snapshot served and the state of the source. */
  SnapshotStatus snapshot();

  /** The agents connected now. */
  List<AgentStatus> agents();

  /** The certificate authority served, or null when the controller runs without one. */
  CertificateAuthority ca();

  /** The meters in the Prometheus text format. */
  String scrape();

  /**
   * @param source what the source watches, for example {@code file /etc/jmesh/mesh.yaml}
   * @param applied the snapshot in the xDS cache; null before the first
   * @param appliedAt when it was set; null before the first
   * @param sourceVersion the version of the source's latest good snapshot; differs from {@code
   *     applied} while that one cannot be translated; null before the first
   * @param sourceError why the source's last look failed; null when it was good
   * @param translationError why the source's latest good snapshot could not be translated to xDS;
   *     null when it could
   * @param servedVersion the version agents are sent: {@code applied}'s, plus the overrides' hash
   *     when there are overrides; null before the first
   * @param overrides the overrides file and how many resources it replaces; null without one
   * @param overridesError why the overrides file was last rejected; null when it was good
   */
  record SnapshotStatus(
      String source,
      MeshSnapshot applied,
      Instant appliedAt,
      String sourceVersion,
      String sourceError,
      String translationError,
      String servedVersion,
      String overrides,
      String overridesError) {
    public SnapshotStatus {
      Objects.requireNonNull(source, "source");
    }
  }
}
