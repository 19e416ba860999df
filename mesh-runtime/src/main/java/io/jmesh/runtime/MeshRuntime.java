package io.jmesh.runtime;

import io.jmesh.runtime.config.MeshSnapshot;
import java.nio.file.Path;
import java.util.concurrent.ScheduledExecutorService;

/**
 * The data plane of one JVM: holds the mesh snapshot in force and routes outbound requests.
 *
 * <p>Thread-safety: every method may be called from any thread. {@link #route} takes no lock; the
 * snapshot is immutable and swapped atomically.
 */
public final class MeshRuntime implements AutoCloseable {

  /** Options of one runtime; see agent/README.md for how the agent fills them. */
  public record Options(String namespace, String clusterDomain) {
    public static Options defaults() {
      return new Options("default", "cluster.local");
    }
  }

  /**
   * A runtime in file mode: loads {@code configFile} now (a bad file leaves an empty snapshot
   * and logs the error) and re-reads it when it changes, polled on {@code scheduler} every
   * {@code pollMillis}.
   */
  public static MeshRuntime fileMode(
      Path configFile, Options options, ScheduledExecutorService scheduler, long pollMillis) {
    throw new UnsupportedOperationException("TODO");
  }

  /** A runtime with a fixed snapshot, for tests and embedding. */
  public static MeshRuntime of(MeshSnapshot snapshot, Options options) {
    throw new UnsupportedOperationException("TODO");
  }

  /** Whether {@code host:port} names a mesh destination in the snapshot in force. Cheap. */
  public boolean isMeshDestination(String host, int port) {
    throw new UnsupportedOperationException("TODO");
  }

  /**
   * Routes {@code request}: returns {@code null} when its authority is no mesh destination (the
   * adapter then leaves the call untouched), otherwise the call with its route and backend.
   */
  public OutboundCall route(OutboundRequest request) {
    throw new UnsupportedOperationException("TODO");
  }

  /** The snapshot in force. */
  public MeshSnapshot snapshot() {
    throw new UnsupportedOperationException("TODO");
  }

  /** Stops watching the config file. Idempotent. */
  @Override
  public void close() {}
}
