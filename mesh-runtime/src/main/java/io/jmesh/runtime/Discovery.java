package io.jmesh.runtime;

import io.jmesh.runtime.config.MeshSnapshot;
import java.util.function.Consumer;

/**
 * A source of snapshots that loads a service's routes, policy and endpoints on its first use
 * (the xDS client). It declares every mesh destination up front ({@link
 * MeshSnapshot#unresolved()}) so that the runtime knows, without waiting, which hosts are mesh
 * traffic.
 *
 * <p>Threading: {@link #start} and {@link #close} are called once each; {@link #watch} may be
 * called from any thread and must return at once. Snapshots are delivered on the discovery's own
 * thread, one at a time.
 */
public interface Discovery extends AutoCloseable {

  /** Starts discovery; every new snapshot goes to {@code onSnapshot}. */
  void start(Consumer<MeshSnapshot> onSnapshot);

  /**
   * Asks for the resources of service {@code qualifiedName} ({@code hello.default}) and keeps
   * them up to date from then on. Idempotent; returns at once.
   */
  void watch(String qualifiedName);

  /** Stops discovery. The last snapshot stays in force. Idempotent. */
  @Override
  void close();
}
