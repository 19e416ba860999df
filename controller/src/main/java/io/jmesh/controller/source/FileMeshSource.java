package io.jmesh.controller.source;

import io.jmesh.runtime.config.ConfigFileWatcher;
import io.jmesh.runtime.config.MeshSnapshot;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;

/**
 * A {@link MeshSource} on a YAML file in the format of {@code mesh-runtime/README.md} (file mode),
 * polled through mesh-runtime's {@link ConfigFileWatcher}: the same parser, the same precise
 * errors (file, line, field) and the same rule that a bad or missing file keeps the last good
 * snapshot. The snapshot version is the watcher's content hash, so an unchanged file never makes
 * a new snapshot.
 *
 * <p>{@link #start} reads the file once on the calling thread, then polls on the given scheduler;
 * the listener runs on whichever of the two read the change.
 */
public final class FileMeshSource implements MeshSource {
  private static final Logger LOG = System.getLogger(FileMeshSource.class.getName());

  private final ScheduledExecutorService scheduler;
  private final long pollMillis;
  private final ConfigFileWatcher watcher;

  private volatile Listener listener;
  private volatile MeshSnapshot current; // null until the first good file
  private boolean started; // guarded by this
  private boolean closed; // guarded by this

  /**
   * @param file the YAML file; it need not exist yet
   * @param defaultNamespace the namespace of services that do not name one
   * @param scheduler where the file is polled; owned by the caller
   * @param pollMillis how often the file's size and modification time are compared ({@code > 0})
   */
  public FileMeshSource(
      Path file, String defaultNamespace, ScheduledExecutorService scheduler, long pollMillis) {
    if (pollMillis <= 0) {
      throw new IllegalArgumentException("pollMillis: " + pollMillis + " (expected: > 0)");
    }
    this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
    this.pollMillis = pollMillis;
    this.watcher = new ConfigFileWatcher(file, defaultNamespace, this::loaded);
  }

  @Override
  public void start(Listener listener) {
    Objects.requireNonNull(listener, "listener");
    synchronized (this) {
      if (started || closed) {
        throw new IllegalStateException(description() + ": already started or closed");
      }
      started = true;
      this.listener = listener;
    }
    // A missing or bad file at start is not fatal: the watcher has logged it, lastError() reports
    // it, and the poll picks the file up as soon as it is fixed.
    watcher.reloadNow();
    watcher.start(scheduler, pollMillis);
  }

  /** Reads the file now, whatever its modification time; for tests and a future reload signal. */
  public void reloadNow() {
    watcher.reloadNow();
  }

  private void loaded(MeshSnapshot snapshot) {
    current = snapshot;
    Listener l = listener;
    if (l == null) {
      return;
    }
    try {
      l.onSnapshot(snapshot);
    } catch (RuntimeException e) {
      // The watcher would log it too, but without saying which snapshot the listener refused.
      LOG.log(
          Level.ERROR,
          description() + ": listener failed on snapshot version " + snapshot.version(),
          e);
    }
  }

  @Override
  public Optional<MeshSnapshot> current() {
    return Optional.ofNullable(current);
  }

  @Override
  public Optional<String> lastError() {
    return watcher.lastError();
  }

  @Override
  public String description() {
    return "file " + watcher.file();
  }

  @Override
  public void close() {
    synchronized (this) {
      closed = true;
    }
    watcher.close();
    listener = null;
  }
}
