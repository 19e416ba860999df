package io.jmesh.runtime.config;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A condition on the request path (without the query).
 *
 * <ul>
 *   <li>{@link Type#EXACT}: the path equals {@code value}.
 *   <li>{@link Type#PREFIX}: element-wise prefix, as in the Gateway API: {@code /api} matches
 *       {@code /api} and {@code /api/users} but not {@code /apis}; a trailing slash in the prefix
 *       is ignored; {@code /} matches every path.
 *   <li>{@link Type#REGEX}: the whole path matches the {@link java.util.regex.Pattern} {@code
 *       value}.
 * </ul>
 */
public record PathMatch(Type type, String value) {

  /** The kinds of path condition. */
  public enum Type {
    EXACT,
    PREFIX,
    REGEX
  }

  /** Matches every path: prefix {@code /}. */
  public static final PathMatch ANY = new PathMatch(Type.PREFIX, "/");

  public PathMatch {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(value, "value");
    if (type == Type.REGEX) {
      Pattern.compile(value); // fails here, not on the request path
    } else if (!value.startsWith("/")) {
      throw new IllegalArgumentException("path: " + value + " (expected: a path starting with /)");
    }
  }

  public static PathMatch exact(String path) {
    return new PathMatch(Type.EXACT, path);
  }

  public static PathMatch prefix(String prefix) {
    return new PathMatch(Type.PREFIX, prefix);
  }

  public static PathMatch regex(String regex) {
    return new PathMatch(Type.REGEX, regex);
  }
}
