package io.jmesh.controller.source;

import io.jmesh.runtime.config.MeshSnapshot;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Optional;

/**
 * Where the controller learns what the mesh looks like: services, endpoints and routing policy.
 * One implementation watches a YAML file ({@link FileMeshSource}), another the Kubernetes API
 * ({@code io.jmesh.controller.kubernetes.KubernetesMeshSource}); {@link CompositeMeshSource} serves
 * several as one. Every implementation feeds the same translation into xDS.
 *
 * <p>Config fails safe: a source that cannot read its truth (a bad edit, an API server outage)
 * keeps its last good snapshot, reports why through {@link #lastError}, and calls the listener
 * again only when it has a new good snapshot.
 *
 * <p>Thread-safety: {@link #current} and {@link #lastError} may be called from any thread.
 * {@link #start} and {@link #close} are called once each, by the owner.
 */
public interface MeshSource extends AutoCloseable {

  /** Receives each new good snapshot. */
  @FunctionalInterface
  interface Listener {
    /**
     * Called with every new good snapshot, in order, never concurrently with itself, on a thread
     * of the source (for the first snapshot possibly on the thread that calls {@link #start}).
     * Must not block for long: it delays the next look at the source. An exception it throws is
     * logged by the source and does not stop it.
     */
    void onSnapshot(MeshSnapshot snapshot);

    /**
     * {@link #onSnapshot(MeshSnapshot)} with what each namespace may see of it. Sources with
     * namespaces (Kubernetes) call this one; the default ignores the views, for listeners that
     * serve the whole snapshot.
     */
    default void onSnapshot(MeshSnapshot snapshot, MeshViews views) {
      onSnapshot(snapshot);
    }
  }

  /**
   * Starts watching. Implementations should deliver the first snapshot, when one is available
   * at once, before this returns, so that a controller is ready as soon as it can be.
   *
   * @throws IllegalStateException if already started or closed
   */
  void start(Listener listener);

  /** The last good snapshot, or empty while there has been none. */
  Optional<MeshSnapshot> current();

  /**
   * Why the last look at the source failed, in one line that names the thing, the value and the
   * expectation (for a file: path, line and field); empty when the last look was good.
   */
  Optional<String> lastError();

  /**
   * What this source watches, for logs and the admin API, for example {@code file
   * /etc/jmesh/mesh.yaml}.
   */
  String description();

  /**
   * Registers the source's own meters, if it has any, in the controller's registry; called once,
   * before {@link #start}. The default has none.
   */
  default void bindTo(MeterRegistry registry) {}

  /** Stops watching; the listener is not called after this returns. Idempotent. */
  @Override
  void close();
}
