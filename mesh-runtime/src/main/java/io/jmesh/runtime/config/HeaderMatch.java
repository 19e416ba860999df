package io.jmesh.runtime.config;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A condition on one request header: its first value equals {@code value} ({@link Type#EXACT},
 * case-sensitive) or wholly matches the regular expression {@code value} ({@link Type#REGEX}). The
 * header name is case-insensitive. An absent header never matches.
 */
public record HeaderMatch(String name, Type type, String value) {

  /** The kinds of header condition. */
  public enum Type {
    EXACT,
    REGEX
  }

  public HeaderMatch {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(value, "value");
    if (name.isEmpty()) {
      throw new IllegalArgumentException("name: \"\" (expected: a header name)");
    }
    if (type == Type.REGEX) {
      Pattern.compile(value); // fails here, not on the request path
    }
  }

  public static HeaderMatch exact(String name, String value) {
    return new HeaderMatch(name, Type.EXACT, value);
  }

  public static HeaderMatch regex(String name, String regex) {
    return new HeaderMatch(name, Type.REGEX, regex);
  }
}
