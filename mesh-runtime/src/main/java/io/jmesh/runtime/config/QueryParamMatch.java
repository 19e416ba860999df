package io.jmesh.runtime.config;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A condition on one query parameter, as Gateway API's {@code HTTPQueryParamMatch}: the
 * parameter's first value, percent-decoded, equals {@code value} ({@link Type#EXACT}) or wholly
 * matches the regular expression {@code value} ({@link Type#REGEX}). The name is case-sensitive and
 * compared decoded. An absent parameter never matches.
 */
public record QueryParamMatch(String name, Type type, String value) {

  /** The kinds of query parameter condition. */
  public enum Type {
    EXACT,
    REGEX
  }

  public QueryParamMatch {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(value, "value");
    if (name.isEmpty()) {
      throw new IllegalArgumentException("name: \"\" (expected: a query parameter name)");
    }
    if (type == Type.REGEX) {
      Pattern.compile(value); // fails here, not on the request path
    }
  }

  public static QueryParamMatch exact(String name, String value) {
    return new QueryParamMatch(name, Type.EXACT, value);
  }

  public static QueryParamMatch regex(String name, String regex) {
    return new QueryParamMatch(name, Type.REGEX, regex);
  }
}
