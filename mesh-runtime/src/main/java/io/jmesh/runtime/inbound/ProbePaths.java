package io.jmesh.runtime.inbound;

import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Set;

/**
 * The workload's declared health-check paths ({@link InboundTerminator.Options#probePaths}): how a
 * setting is read and checked. A path is exact, compared byte for byte with the request's path
 * (its query ignored), so it must be one a caller can send as is: it starts with {@code /}, holds
 * printable ASCII without spaces, no query ({@code ?}), fragment ({@code #}) or {@code ..}
 * segment (an application that normalizes paths would serve another one).
 *
 * <p>Stateless and thread-safe.
 */
final class ProbePaths {
  static final String EXPECTED =
      "an exact path such as /healthz: starting with '/', printable ASCII without spaces, no '?', '#' or '..' segment";

  private ProbePaths() {}

  /** The paths of a comma-separated list; blank entries are skipped. */
  static Set<String> parse(String commaSeparated) {
    Objects.requireNonNull(commaSeparated, "commaSeparated");
    Set<String> paths = new LinkedHashSet<>();
    for (String part : commaSeparated.split(",", -1)) {
      String p = part.strip();
      if (!p.isEmpty()) {
        paths.add(check(p));
      }
    }
    return Set.copyOf(paths);
  }

  /** {@code paths}, each checked, as an immutable set. */
  static Set<String> checked(Set<String> paths) {
    Objects.requireNonNull(paths, "probePaths");
    paths.forEach(ProbePaths::check);
    return Set.copyOf(paths);
  }

  private static String check(String path) {
    boolean ok = path != null && path.startsWith("/") && path.length() <= 1024;
    for (int i = 0; ok && i < path.length(); i++) {
      char c = path.charAt(i);
      ok = c > 0x20 && c < 0x7f && c != '?' && c != '#';
    }
    if (ok) {
      for (String segment : path.split("/", -1)) {
        ok &= !segment.equals("..") && !segment.equals(".");
      }
    }
    if (!ok) {
      throw new IllegalArgumentException("probe path '" + path + "' (expected: " + EXPECTED + ")");
    }
    return path;
  }

  /** The path of a request target ({@code /healthz?x=1} → {@code /healthz}). */
  static String pathOf(String uri) {
    int query = uri.indexOf('?');
    return query < 0 ? uri : uri.substring(0, query);
  }
}
