package io.jmesh.runtime.config;

import io.jmesh.runtime.RuntimeLog;
import java.util.List;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Keeps a {@link MeshSnapshot} in step with a YAML file (file mode). Polls the file's size and
 * modification time on a scheduler and re-reads it when either changed; applies new content only
 * when its hash differs from the content seen last. Polling rather than {@code WatchService},
 * because a WatchService misses changes on network and overlay file systems and through the
 * symlink swaps that Kubernetes ConfigMap volumes use.
 *
 * <p>Config fails safe: a missing, unreadable or invalid file logs one warning and leaves the last
 * good snapshot in force. A missing file at start gives the empty snapshot.
 *
 * <p>Thread-safety: {@link #reloadNow} and the poll are serialized by this object's lock; they run
 * on the config thread, never on the request path. {@link #snapshot} and {@link #lastError} may be
 * read from any thread.
 */
public final class ConfigFileWatcher implements AutoCloseable {

  private final Path file;
  private final String defaultNamespace;
  private final Consumer<MeshSnapshot> onLoad;

  // Guarded by this; written only by reload().
  private long lastSize = -1;
  private long lastModifiedMillis = Long.MIN_VALUE;
  private String lastContentVersion; // hash of the content seen last, good or bad; null if none
  private ScheduledFuture<?> pollTask;
  private boolean closed;

  private volatile MeshSnapshot snapshot = MeshSnapshot.empty();
  private volatile String lastError;

  /**
   * Creates a watcher; nothing is read until {@link #reloadNow} or {@link #start}.
   *
   * @param onLoad called on the config thread with every new good snapshot, before {@link
   *     #reloadNow} returns
   */
  public ConfigFileWatcher(Path file, String defaultNamespace, Consumer<MeshSnapshot> onLoad) {
    this.file = Objects.requireNonNull(file, "file");
    this.defaultNamespace = Objects.requireNonNull(defaultNamespace, "defaultNamespace");
    this.onLoad = Objects.requireNonNull(onLoad, "onLoad");
  }

  /** Polls the file every {@code pollMillis} on {@code scheduler} until {@link #close}. */
  public synchronized void start(ScheduledExecutorService scheduler, long pollMillis) {
    if (pollMillis <= 0) {
      throw new IllegalArgumentException("pollMillis: " + pollMillis + " (expected: > 0)");
    }
    if (closed || pollTask != null) {
      throw new IllegalStateException("already started or closed");
    }
    pollTask =
        scheduler.scheduleWithFixedDelay(this::poll, pollMillis, pollMillis, TimeUnit.MILLISECONDS);
  }

  /** The file watched. */
  public Path file() {
    return file;
  }

  /** The last good snapshot, or the empty snapshot when none was loaded yet. */
  public MeshSnapshot snapshot() {
    return snapshot;
  }

  /** The error of the last look at the file, if it failed; empty once a good file loads. */
  public Optional<String> lastError() {
    return Optional.ofNullable(lastError);
  }

  /**
   * Reads the file now, whatever its size and modification time, and applies it if its content
   * changed. Synchronous: when this returns LOADED, {@code onLoad} has run.
   */
  public synchronized ReloadResult reloadNow() {
    return reload(true);
  }

  /** One scheduled poll: cheap when the file did not change. Never throws. */
  void poll() {
    try {
      synchronized (this) {
        if (!closed) {
          reload(false);
        }
      }
    } catch (Throwable t) {
      // An exception would cancel the periodic task and silently stop watching.
      RuntimeLog.log(Level.WARNING, "unexpected error while polling " + file + ": " + t);
    }
  }

  private ReloadResult reload(boolean force) {
    long size;
    long modified;
    try {
      BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
      size = attributes.size();
      modified = attributes.lastModifiedTime().toMillis();
    } catch (NoSuchFileException e) {
      return missing();
    } catch (IOException e) {
      return failed(file + ": cannot read: " + e, "unreadable:" + e);
    }
    if (!force && size == lastSize && modified == lastModifiedMillis) {
      return unchanged();
    }
    String content;
    try {
      content = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      return missing();
    } catch (IOException e) {
      return failed(file + ": cannot read: " + e, "unreadable:" + e);
    }
    lastSize = size;
    lastModifiedMillis = modified;
    String version = MeshConfigParser.version(content);
    if (version.equals(lastContentVersion)) {
      return unchanged();
    }
    lastContentVersion = version;
    MeshSnapshot parsed;
    try {
      parsed = MeshConfigParser.parse(file.toString(), content, defaultNamespace);
    } catch (MeshConfigException e) {
      return failed(e.getMessage(), version);
    }
    snapshot = parsed;
    lastError = null;
    onLoad.accept(parsed);
    RuntimeLog.log(
        Level.INFO,
        "loaded " + file + " version " + parsed.version() + ": " + parsed.services().size()
            + " services");
    List<String> policies = parsed.nonDefaultPolicies();
    if (!policies.isEmpty()) {
      RuntimeLog.log(Level.INFO, "policies other than the defaults: " + policies);
    }
    return new ReloadResult(ReloadResult.Status.LOADED, parsed, null);
  }

  private ReloadResult missing() {
    // Forget what was seen, so that the file is read again as soon as it reappears.
    lastSize = -1;
    lastModifiedMillis = Long.MIN_VALUE;
    return failed(file + ": no such file", "missing");
  }

  private ReloadResult unchanged() {
    if (lastError != null) {
      return new ReloadResult(ReloadResult.Status.FAILED, snapshot, lastError);
    }
    return new ReloadResult(ReloadResult.Status.UNCHANGED, snapshot, null);
  }

  /** Records a failure; logs it only when it differs from the previous one (no log per poll). */
  private ReloadResult failed(String error, String contentVersion) {
    boolean repeated = error.equals(lastError);
    lastContentVersion = contentVersion;
    lastError = error;
    if (!repeated) {
      RuntimeLog.log(
          Level.WARNING,
          error + "; keeping the last good config (version " + snapshot.version() + ")");
    }
    return new ReloadResult(ReloadResult.Status.FAILED, snapshot, error);
  }

  /** Stops polling. Idempotent. */
  @Override
  public synchronized void close() {
    closed = true;
    if (pollTask != null) {
      pollTask.cancel(false);
    }
  }
}
