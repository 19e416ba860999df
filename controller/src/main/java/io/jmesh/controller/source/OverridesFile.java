package io.jmesh.controller.source;

import io.jmesh.controller.xds.XdsOverrides;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Watches the controller's overrides file ({@link XdsOverrides}): re-read when its content
 * changes; a missing file means no overrides; a file that does not parse is rejected with its
 * error and the last good overrides stay, as a bad mesh file is.
 */
public final class OverridesFile implements AutoCloseable {
  private static final Logger LOG = System.getLogger(OverridesFile.class.getName());

  private final Path file;
  private final Consumer<XdsOverrides> onChange;
  private volatile XdsOverrides current = XdsOverrides.NONE;
  private volatile String lastError;
  private String lastContent; // null: missing; only touched by check()
  private boolean checked;
  private ScheduledFuture<?> task;

  /** @param onChange receives each new good overrides, on the thread that calls {@link #check} */
  public OverridesFile(Path file, Consumer<XdsOverrides> onChange) {
    this.file = Objects.requireNonNull(file, "file");
    this.onChange = Objects.requireNonNull(onChange, "onChange");
  }

  /** Reads the file now, then every {@code pollMillis} on {@code scheduler}. */
  public synchronized void start(ScheduledExecutorService scheduler, long pollMillis) {
    check();
    task = scheduler.scheduleWithFixedDelay(this::checkQuietly, pollMillis, pollMillis, TimeUnit.MILLISECONDS);
  }

  private void checkQuietly() {
    try {
      check();
    } catch (RuntimeException e) {
      LOG.log(Level.ERROR, "overrides file " + file + ": unexpected error; keeping the last good overrides", e);
    }
  }

  /** Reads the file if its content changed; calls the listener with new good overrides. */
  public synchronized void check() {
    String content;
    try {
      content = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      content = null;
    } catch (IOException e) {
      fail("overrides file " + file + ": cannot read: " + e);
      return;
    }
    if (checked && Objects.equals(content, lastContent)) {
      return;
    }
    checked = true;
    lastContent = content;
    XdsOverrides next;
    if (content == null) {
      next = XdsOverrides.NONE;
    } else {
      try {
        next = XdsOverrides.parse(file.toString(), content);
      } catch (IllegalArgumentException e) {
        fail(e.getMessage());
        return;
      }
    }
    lastError = null;
    if (!next.equals(current)) {
      current = next;
      LOG.log(
          Level.INFO,
          content == null
              ? "overrides file " + file + " is absent: no overrides"
              : "overrides file " + file + ": " + next.size() + " resources replace the translation's");
      onChange.accept(next);
    }
  }

  private void fail(String error) {
    if (!error.equals(lastError)) {
      LOG.log(Level.WARNING, error + "; keeping the last good overrides (" + current.size() + " resources)");
    }
    lastError = error;
  }

  public XdsOverrides current() {
    return current;
  }

  /** Why the last read was rejected; empty when it was good. */
  public Optional<String> lastError() {
    return Optional.ofNullable(lastError);
  }

  public String description() {
    return "file " + file + ", " + current.size() + " resources";
  }

  @Override
  public synchronized void close() {
    if (task != null) {
      task.cancel(false);
    }
  }
}
