package io.jmesh.runtime.identity;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The kubelet's layout for a projected service-account token, on a real file system: {@code token
 * -> ..data/token}, {@code ..data -> ..<generation>}. {@link #rotate} does what the kubelet does
 * before the token expires: writes a new directory, points a new link at it, renames that link
 * over {@code ..data} (atomically), then removes the old directory.
 */
final class ProjectedVolume {
  private final Path dir;
  private Path current;
  private int generation;

  /** Lays out {@code dir} with {@code token} as the first token. */
  ProjectedVolume(Path dir, String token) throws IOException {
    this.dir = dir;
    this.current = write(token);
    Files.createSymbolicLink(dir.resolve("..data"), current.getFileName());
    Files.createSymbolicLink(dir.resolve("token"), Path.of("..data", "token"));
  }

  /** The path a pod is given: {@code <dir>/token}, a link through {@code ..data}. */
  Path token() {
    return dir.resolve("token");
  }

  /** Replaces the token as the kubelet does. */
  void rotate(String token) throws IOException {
    Path next = write(token);
    Path tmp = Files.createSymbolicLink(dir.resolve("..data_tmp"), next.getFileName());
    Files.move(tmp, dir.resolve("..data"), StandardCopyOption.ATOMIC_MOVE);
    Files.delete(current.resolve("token"));
    Files.delete(current);
    current = next;
  }

  private Path write(String token) throws IOException {
    Path d = Files.createDirectory(dir.resolve("..2026_12_07_05_00_0" + generation++));
    Files.writeString(d.resolve("token"), token + "\n");
    return d;
  }
}
