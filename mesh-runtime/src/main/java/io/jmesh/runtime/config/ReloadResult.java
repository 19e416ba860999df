package io.jmesh.runtime.config;

import java.util.Objects;
import java.util.Optional;

/**
 * The outcome of one look at the config file.
 *
 * @param status what happened
 * @param snapshot the snapshot in force afterwards (the new one when {@link Status#LOADED}, the
 *     last good one otherwise)
 * @param error the precise error when {@link Status#FAILED}, otherwise {@code null}
 */
public record ReloadResult(Status status, MeshSnapshot snapshot, String error) {

  /** What a reload did. */
  public enum Status {
    /** The file changed and its new content is now in force. */
    LOADED,
    /** The content is the same as last time; nothing was done. */
    UNCHANGED,
    /** The file is missing, unreadable or invalid; the last good snapshot stays in force. */
    FAILED
  }

  public ReloadResult {
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(snapshot, "snapshot");
    if ((status == Status.FAILED) != (error != null)) {
      throw new IllegalArgumentException("error: " + error + " (expected: set only when FAILED)");
    }
  }

  /** The error, when the reload failed. */
  public Optional<String> errorMessage() {
    return Optional.ofNullable(error);
  }
}
