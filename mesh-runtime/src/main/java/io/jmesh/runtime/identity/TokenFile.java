package io.jmesh.runtime.identity;

import io.jmesh.runtime.RuntimeLog;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * A bearer token kept in a file that something else rewrites: read again, and trimmed, at each
 * {@link #get()}, that is at each CA request. In Kubernetes it is a projected service-account
 * token that the kubelet replaces before it expires (through a swap of the {@code ..data}
 * symlink), so a token read once at start would fail every renewal after its expiry.
 *
 * <p>When the file cannot be read, is empty or holds a value that cannot be a token, the last good
 * token is used and one warning names the file and the error (one per run of failures, not per
 * request); the token itself is never logged.
 *
 * <p>Thread-safe: {@link #get()} may be called from any thread; it blocks on file I/O, so call it
 * off an event loop.
 */
public final class TokenFile implements Supplier<String> {
  private final Path file;
  private volatile String lastGood;
  private boolean failing; // guarded by this

  /**
   * @param file the file, re-read at each {@link #get()}
   * @param firstToken the token read from it at start, already checked with {@link #problem}
   */
  public TokenFile(Path file, String firstToken) {
    this.file = Objects.requireNonNull(file, "file");
    this.lastGood = Objects.requireNonNull(firstToken, "firstToken");
  }

  /** The token in the file now, or the last good one when the file has none. */
  @Override
  public String get() {
    String token;
    String error;
    try {
      token = Files.readString(file, StandardCharsets.UTF_8).trim();
      String bad = problem(token);
      error = token.isEmpty() ? "it is empty"
          : bad == null ? null : "it holds " + bad + ", not printable ASCII without spaces";
    } catch (IOException | RuntimeException e) {
      token = null;
      error = "cannot read it (" + e + ")";
    }
    synchronized (this) {
      if (error == null) {
        lastGood = token;
        failing = false;
        return token;
      }
      if (!failing) {
        failing = true;
        RuntimeLog.log(
            Level.WARNING,
            "bootstrap token file " + file + ": " + error
                + " (expected: a file holding the token); using the last good token read from it");
      }
      return lastGood;
    }
  }

  /** The file read at each request. */
  public Path file() {
    return file;
  }

  /**
   * Why {@code token} cannot be a bearer token, or null when it can. It travels as an HTTP/2
   * header value ({@code authorization: Bearer <token>}): printable ASCII without spaces only. The
   * answer, "a token of n characters (not shown) with U+0020 at position i", never shows the token.
   */
  public static String problem(String token) {
    for (int i = 0; i < token.length(); i++) {
      char c = token.charAt(i);
      if (c <= 0x20 || c >= 0x7f) {
        return "a token of " + token.length() + " characters (not shown) with U+"
            + String.format("%04X", (int) c) + " at position " + i;
      }
    }
    return null;
  }
}
