package io.jmesh.runtime.config;

import java.util.List;
import java.util.Objects;

/**
 * A route of a service, like one rule of a Gateway API {@code HTTPRoute}: a request matches when
 * ANY of {@code matches} matches; it then goes to one of {@code backends}, picked at random in
 * proportion to the backend weights.
 *
 * @param name for telemetry and error messages
 * @param matches never empty; use {@link RouteMatch#ANY} to match every request
 * @param backends never empty, and the weights sum to at least 1
 * @param policy timeout, retries and faults of this route
 * @param filters header edits and URL rewrite of this route; a {@link UrlRewrite.PathType#PREFIX}
 *     rewrite needs every match to be a path prefix, as in the Gateway API
 */
public record Route(
    String name, List<RouteMatch> matches, List<Backend> backends, RoutePolicy policy, RouteFilters filters) {
  /** A route with the default policy. */
  public Route(String name, List<RouteMatch> matches, List<Backend> backends) {
    this(name, matches, backends, RoutePolicy.DEFAULT);
  }

  /** A route without filters. */
  public Route(String name, List<RouteMatch> matches, List<Backend> backends, RoutePolicy policy) {
    this(name, matches, backends, policy, RouteFilters.NONE);
  }

  public Route {
    Objects.requireNonNull(policy, "policy");
    Objects.requireNonNull(filters, "filters");
    Objects.requireNonNull(name, "name");
    matches = List.copyOf(matches);
    backends = List.copyOf(backends);
    if (matches.isEmpty()) {
      throw new IllegalArgumentException("route " + name + ": matches: [] (expected: at least one match)");
    }
    long sum = 0;
    for (Backend backend : backends) {
      sum += backend.weight();
    }
    if (sum == 0) {
      throw new IllegalArgumentException(
          "route " + name + ": backend weights sum to 0 (expected: at least one backend with weight >= 1)");
    }
    if (filters.rewrite().pathType() == UrlRewrite.PathType.PREFIX) {
      for (RouteMatch match : matches) {
        if (match.path().type() != PathMatch.Type.PREFIX) {
          throw new IllegalArgumentException(
              "route " + name + ": rewrite of the matched prefix with a " + match.path().type()
                  + " path match (expected: every match a path prefix)");
        }
      }
    }
  }
}
