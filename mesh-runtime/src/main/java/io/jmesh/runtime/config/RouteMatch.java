package io.jmesh.runtime.config;

import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * One match of a route: the AND of its conditions.
 *
 * @param path the path condition; {@link PathMatch#ANY} matches every path
 * @param headers every header condition must hold
 * @param method the HTTP method in upper case, or {@code null} for any method
 * @param queryParams every query parameter condition must hold
 */
public record RouteMatch(
    PathMatch path, List<HeaderMatch> headers, String method, List<QueryParamMatch> queryParams) {

  /** Matches every request. */
  public static final RouteMatch ANY = new RouteMatch(PathMatch.ANY, List.of(), null);

  /** A match without query parameter conditions. */
  public RouteMatch(PathMatch path, List<HeaderMatch> headers, String method) {
    this(path, headers, method, List.of());
  }

  public RouteMatch {
    Objects.requireNonNull(path, "path");
    headers = List.copyOf(headers);
    queryParams = List.copyOf(queryParams);
    if (method != null) {
      method = method.toUpperCase(Locale.ROOT);
    }
  }
}
