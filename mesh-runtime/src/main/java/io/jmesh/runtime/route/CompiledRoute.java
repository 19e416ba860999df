package io.jmesh.runtime.route;

import io.jmesh.runtime.config.RoutePolicy;
import io.jmesh.runtime.retry.RetryPolicy;
import io.jmesh.runtime.Endpoint;
import io.jmesh.runtime.OutboundRequest;
import io.jmesh.runtime.balance.LoadBalancer;
import io.jmesh.runtime.config.HeaderMatch;
import io.jmesh.runtime.config.PathMatch;
import io.jmesh.runtime.config.QueryParamMatch;
import io.jmesh.runtime.config.RouteFilters;
import io.jmesh.runtime.config.RouteMatch;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Predicate;
import java.util.random.RandomGenerator;
import java.util.regex.Pattern;

/** A route with its regular expressions compiled and its backends bound to their balancers. */
final class CompiledRoute {
  final String name;
  final RoutePolicy policy;
  final RetryPolicy retry;
  final RouteFilters filters;
  /** Where copies of the route's requests go, or {@code null}. */
  final MirrorTarget mirror;
  /** The route's whole-call timeout in nanoseconds, or -1 for none. */
  final long timeoutNanos;
  private final Match[] matches;
  private final Backend[] backends;
  private final long[] cumulative;
  private final long total;

  CompiledRoute(
      String name,
      Match[] matches,
      LoadBalancer[] backends,
      Predicate<Endpoint>[] members,
      long[] weights,
      RoutePolicy policy,
      RetryPolicy retry,
      RouteFilters filters,
      MirrorTarget mirror) {
    this.filters = filters;
    this.mirror = mirror;
    this.name = name;
    this.policy = policy;
    this.retry = retry;
    this.timeoutNanos = policy.timeout() == null ? -1 : policy.timeout().toNanos();
    this.matches = matches;
    this.backends = new Backend[backends.length];
    for (int i = 0; i < backends.length; i++) {
      this.backends[i] = new Backend(this, backends[i], members[i]);
    }
    this.cumulative = new long[weights.length];
    long sum = 0;
    for (int i = 0; i < weights.length; i++) {
      sum += weights[i];
      cumulative[i] = sum;
    }
    this.total = sum;
  }

  /** Whether ANY of the route's matches matches. */
  boolean matches(OutboundRequest request) {
    for (Match match : matches) {
      if (match.matches(request)) {
        return true;
      }
    }
    return false;
  }

  /**
   * The path prefix of the first match that matches {@code request}, for a rewrite of the matched
   * prefix; {@code "/"} when none does (cannot happen for the route the request was routed by).
   */
  String matchedPrefix(OutboundRequest request) {
    for (Match match : matches) {
      if (match.matches(request)) {
        return match.pathType == PathMatch.Type.PREFIX ? match.path : "/";
      }
    }
    return "/";
  }

  /** A backend at random by weight; a backend of weight 0 is never picked. */
  Backend pickBackend(RandomGenerator random) {
    if (backends.length == 1) {
      return backends[0];
    }
    long r = random.nextLong(total);
    for (int i = 0; i < cumulative.length; i++) {
      if (r < cumulative[i]) {
        return backends[i];
      }
    }
    throw new AssertionError("r=" + r + " total=" + total);
  }

  /**
   * One backend of a route, made once with the route: a call holds this one reference instead of
   * the route, the balancer and the subset, which keeps the per-call object small.
   */
  static final class Backend {
    final CompiledRoute route;
    final LoadBalancer balancer;
    // Whether an endpoint of the destination belongs to this backend (its label subset).
    final Predicate<Endpoint> members;

    Backend(CompiledRoute route, LoadBalancer balancer, Predicate<Endpoint> members) {
      this.route = route;
      this.balancer = balancer;
      this.members = members;
    }
  }

  static Match[] compile(List<RouteMatch> matches) {
    Match[] compiled = new Match[matches.size()];
    for (int i = 0; i < compiled.length; i++) {
      compiled[i] = Match.compile(matches.get(i));
    }
    return compiled;
  }

  /** The AND of a path condition, header conditions and a method. */
  static final class Match {
    static final Match ANY = compile(RouteMatch.ANY);

    private final PathMatch.Type pathType;
    private final String path; // for PREFIX: without trailing slash; "" matches every path
    private final Pattern pathPattern;
    private final String[] headerNames;
    private final String[] headerValues; // null where the condition is a regex
    private final Pattern[] headerPatterns;
    private final String method;
    private final String[] queryNames;
    private final String[] queryValues; // null where the condition is a regex
    private final Pattern[] queryPatterns;

    private Match(RouteMatch match) {
      PathMatch p = match.path();
      this.pathType = p.type();
      this.pathPattern = p.type() == PathMatch.Type.REGEX ? Pattern.compile(p.value()) : null;
      String value = p.value();
      if (p.type() == PathMatch.Type.PREFIX && value.endsWith("/")) {
        value = value.substring(0, value.length() - 1);
      }
      this.path = value;
      int n = match.headers().size();
      this.headerNames = new String[n];
      this.headerValues = new String[n];
      this.headerPatterns = new Pattern[n];
      for (int i = 0; i < n; i++) {
        HeaderMatch h = match.headers().get(i);
        headerNames[i] = h.name();
        if (h.type() == HeaderMatch.Type.REGEX) {
          headerPatterns[i] = Pattern.compile(h.value());
        } else {
          headerValues[i] = h.value();
        }
      }
      this.method = match.method();
      int q = match.queryParams().size();
      this.queryNames = new String[q];
      this.queryValues = new String[q];
      this.queryPatterns = new Pattern[q];
      for (int i = 0; i < q; i++) {
        QueryParamMatch m = match.queryParams().get(i);
        queryNames[i] = m.name();
        if (m.type() == QueryParamMatch.Type.REGEX) {
          queryPatterns[i] = Pattern.compile(m.value());
        } else {
          queryValues[i] = m.value();
        }
      }
    }

    static Match compile(RouteMatch match) {
      return new Match(match);
    }

    boolean matches(OutboundRequest request) {
      if (method != null && !method.equals(request.method())) {
        return false;
      }
      if (!pathMatches(request.path())) {
        return false;
      }
      for (int i = 0; i < headerNames.length; i++) {
        String actual = request.header(headerNames[i]);
        if (actual == null) {
          return false;
        }
        if (headerPatterns[i] != null
            ? !headerPatterns[i].matcher(actual).matches()
            : !headerValues[i].equals(actual)) {
          return false;
        }
      }
      if (queryNames.length > 0) {
        String query = request.query();
        for (int i = 0; i < queryNames.length; i++) {
          String actual = queryParam(query, queryNames[i]);
          if (actual == null) {
            return false;
          }
          if (queryPatterns[i] != null
              ? !queryPatterns[i].matcher(actual).matches()
              : !queryValues[i].equals(actual)) {
            return false;
          }
        }
      }
      return true;
    }

    /**
     * The first value of the parameter {@code name} in the raw {@code query}, percent-decoded
     * ({@code +} as a space, as forms write it), or {@code null} when absent; a parameter without
     * {@code =} has the value "". Only the first value counts, as the Gateway API recommends. A
     * parameter that does not decode is skipped: it matches no condition.
     */
    static String queryParam(String query, String name) {
      if (query == null || query.isEmpty()) {
        return null;
      }
      int start = 0;
      while (start <= query.length()) {
        int end = query.indexOf('&', start);
        if (end < 0) {
          end = query.length();
        }
        if (end > start) {
          int eq = query.indexOf('=', start);
          if (eq < 0 || eq > end) {
            eq = end;
          }
          String key = decode(query.substring(start, eq));
          if (name.equals(key)) {
            String value = decode(eq < end ? query.substring(eq + 1, end) : "");
            if (value != null) {
              return value;
            }
          }
        }
        start = end + 1;
      }
      return null;
    }

    private static String decode(String raw) {
      if (raw.indexOf('%') < 0 && raw.indexOf('+') < 0) {
        return raw;
      }
      try {
        return URLDecoder.decode(raw, StandardCharsets.UTF_8);
      } catch (IllegalArgumentException e) {
        return null; // a malformed escape from the application: matches nothing
      }
    }

    private boolean pathMatches(String requestPath) {
      if (requestPath == null || requestPath.isEmpty()) {
        requestPath = "/";
      }
      switch (pathType) {
        case EXACT:
          return path.equals(requestPath);
        case REGEX:
          return pathPattern.matcher(requestPath).matches();
        default:
          // Element-wise prefix: "/api" matches "/api" and "/api/x", not "/apis".
          return path.isEmpty()
              || (requestPath.startsWith(path)
                  && (requestPath.length() == path.length()
                      || requestPath.charAt(path.length()) == '/'));
      }
    }
  }
}
