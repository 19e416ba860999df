package io.jmesh.runtime.xds;

import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.jmesh.runtime.config.Backend;
import io.jmesh.runtime.config.GrpcRetryConditions;
import io.jmesh.runtime.config.HeaderMatch;
import io.jmesh.runtime.config.HeaderModifier;
import io.jmesh.runtime.config.QueryParamMatch;
import io.jmesh.runtime.config.RequestMirror;
import io.jmesh.runtime.config.RouteFilters;
import io.jmesh.runtime.config.UrlRewrite;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.route.v3.QueryParameterMatcher;
import io.jmesh.runtime.config.MeshSyntax;
import io.jmesh.runtime.config.PathMatch;
import io.jmesh.runtime.config.Route;
import io.jmesh.runtime.config.RouteMatch;
import io.jmesh.runtime.config.RoutePolicy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Decodes a RouteConfiguration into a service's routes: matches, weighted subsets of its cluster,
 * and each route's timeout, retry policy and faults. Pure functions; thread-safe.
 */
final class XdsRouteConfigurationResource {
  // Envoy's retry_on conditions jmesh implements: its own three and Envoy's gRPC names.
  private static final Set<String> RETRY_ON = retryOn();

  private static Set<String> retryOn() {
    Set<String> s =
        new java.util.TreeSet<>(
            Set.of(MeshSyntax.RETRY_CONNECT_FAILURE, MeshSyntax.RETRY_RESET, "retriable-status-codes"));
    s.addAll(GrpcRetryConditions.CODES.keySet());
    return Set.copyOf(s);
  }

  private XdsRouteConfigurationResource() {}

  /**
   * The routes of a RouteConfiguration named after its service (see {@link XdsNames}). Consecutive
   * xDS routes with one name and one action are one jmesh route with several matches; the
   * catch-all route the translator appends is the runtime's own default, so it is dropped.
   */
  static List<Route> decode(RouteConfiguration routeConfiguration)
      throws XdsResourceException {
    return decode(routeConfiguration, RouteFilters.MIRROR_APPLIED);
  }

  /**
   * {@link #decode(RouteConfiguration)}, with {@code mirrorApplied} standing for {@link
   * RouteFilters#MIRROR_APPLIED}: for tests of the mirror's decoding before every client applies it.
   */
  static List<Route> decode(RouteConfiguration routeConfiguration, boolean mirrorApplied)
      throws XdsResourceException {
    DecodingContext c = new DecodingContext("RouteConfiguration", routeConfiguration.getName());
    c.only(routeConfiguration, "", "name", "virtual_hosts");
    if (routeConfiguration.getVirtualHostsCount() != 1) {
      throw c.error(
          "virtual_hosts",
          routeConfiguration.getVirtualHostsCount() + " virtual hosts",
          "exactly one: the listener already chose the service");
    }
    VirtualHost host = routeConfiguration.getVirtualHosts(0);
    c.only(host, "virtual_hosts[0]", "name", "domains", "routes");
    if (!host.getDomainsList().equals(List.of("*"))) {
      throw c.error("virtual_hosts[0].domains", host.getDomainsList(), "[\"*\"]");
    }
    List<io.envoyproxy.envoy.config.route.v3.Route> xdsRoutes = host.getRoutesList();
    if (!xdsRoutes.isEmpty() && isDefaultRoute(c, xdsRoutes.get(xdsRoutes.size() - 1))) {
      xdsRoutes = xdsRoutes.subList(0, xdsRoutes.size() - 1);
    }
    // name -> (action, matches), in order; a name that reappears later with another action is an
    // error (the jmesh model has one action per route).
    List<Route> out = new ArrayList<>();
    String previousName = null;
    Route previous = null;
    for (int i = 0; i < xdsRoutes.size(); i++) {
      io.envoyproxy.envoy.config.route.v3.Route xds = xdsRoutes.get(i);
      String path = "virtual_hosts[0].routes[" + i + "]";
      Route decoded = route(c, xds, path, mirrorApplied);
      if (previous != null && decoded.name().equals(previousName)) {
        if (!decoded.backends().equals(previous.backends())
            || !decoded.policy().equals(previous.policy())
            || !decoded.filters().equals(previous.filters())) {
          throw c.error(
              path + ".name",
              decoded.name(),
              "a new name, or the same backends, policy and filters as the route before it of that name");
        }
        List<RouteMatch> matches = new ArrayList<>(previous.matches());
        matches.addAll(decoded.matches());
        previous = new Route(previous.name(), matches, previous.backends(), previous.policy(), previous.filters());
        out.set(out.size() - 1, previous);
      } else {
        for (Route r : out) {
          if (r.name().equals(decoded.name())) {
            throw c.error(path + ".name", decoded.name(), "a name not used by an earlier route");
          }
        }
        out.add(decoded);
        previous = decoded;
        previousName = decoded.name();
      }
    }
    return List.copyOf(out);
  }

  private static boolean isDefaultRoute(DecodingContext c, io.envoyproxy.envoy.config.route.v3.Route route) {
    if (!route.getName().equals(XdsNames.DEFAULT_ROUTE)
        || !route.getMatch().getPrefix().equals("/")
        || route.getMatch().getHeadersCount() != 0
        || !route.getRoute().hasRetryPolicy()) {
      return false;
    }
    try {
      Route decoded = route(c, route, "", false);
      return decoded.backends().equals(List.of(Backend.all()))
          && decoded.policy().equals(RoutePolicy.DEFAULT);
    } catch (XdsResourceException e) {
      return false;
    }
  }

  private static Route route(
      DecodingContext c, io.envoyproxy.envoy.config.route.v3.Route xds, String path, boolean mirrorApplied)
      throws XdsResourceException {
    c.only(
        xds,
        path,
        "name",
        "match",
        "route",
        "per_request_buffer_limit_bytes",
        "metadata",
        "typed_per_filter_config",
        "request_headers_to_add",
        "request_headers_to_remove",
        "response_headers_to_add",
        "response_headers_to_remove");
    if (xds.getName().isEmpty()) {
      throw c.error(path + ".name", "\"\"", "a route name");
    }
    RouteMatch match = match(c, xds.getMatch(), path + ".match");
    if (!xds.hasRoute()) {
      throw c.error(path + ".route", "unset", "a route action (redirects and direct responses are not supported)");
    }
    RouteAction action = xds.getRoute();
    String at = path + ".route";
    c.only(
        action,
        at,
        "cluster",
        "weighted_clusters",
        "timeout",
        "retry_policy",
        "prefix_rewrite",
        "regex_rewrite",
        "host_rewrite_literal",
        "request_mirror_policies");
    List<Backend> backends = new ArrayList<>();
    if (action.hasWeightedClusters()) {
      WeightedCluster weighted = action.getWeightedClusters();
      c.only(weighted, at + ".weighted_clusters", "clusters");
      for (int i = 0; i < weighted.getClustersCount(); i++) {
        WeightedCluster.ClusterWeight w = weighted.getClusters(i);
        String wp = at + ".weighted_clusters.clusters[" + i + "]";
        c.only(w, wp, "name", "weight", "metadata_match");
        c.sameService(wp + ".name", w.getName());
        Map<String, String> subset =
            w.hasMetadataMatch() ? c.labels(w.getMetadataMatch(), wp + ".metadata_match") : Map.of();
        if (!w.hasWeight()) {
          throw c.error(wp + ".weight", "unset", "a weight >= 0");
        }
        backends.add(new Backend(subset, w.getWeight().getValue()));
      }
      long sum = backends.stream().mapToLong(Backend::weight).sum();
      if (sum == 0) {
        throw c.error(at + ".weighted_clusters", "weights sum to 0", "at least one weight >= 1");
      }
    } else if (!action.getCluster().isEmpty()) {
      c.sameService(at + ".cluster", action.getCluster());
      backends.add(Backend.all());
    } else {
      throw c.error(at, "no cluster", "cluster or weighted_clusters");
    }
    Duration timeout = null;
    if (action.hasTimeout() && !DecodingContext.isZero(action.getTimeout())) {
      timeout = c.duration(action.getTimeout(), at + ".timeout");
    }
    RoutePolicy.Retry retry = retry(c, action, at, xds);
    RoutePolicy.Fault fault = RoutePolicy.Fault.NONE;
    for (Map.Entry<String, Any> e : xds.getTypedPerFilterConfigMap().entrySet()) {
      String fp = path + ".typed_per_filter_config[" + e.getKey() + "]";
      if (!e.getKey().equals(XdsNames.FAULT_FILTER)) {
        throw c.error(fp, e.getKey(), "only " + XdsNames.FAULT_FILTER);
      }
      fault = fault(c, c.unpack(e.getValue(), HTTPFault.class, fp), fp);
    }
    RouteFilters filters =
        new RouteFilters(
            headerModifier(c, xds.getRequestHeadersToAddList(), xds.getRequestHeadersToRemoveList(), path, "request"),
            headerModifier(c, xds.getResponseHeadersToAddList(), xds.getResponseHeadersToRemoveList(), path, "response"),
            rewrite(c, action, at),
            mirror(c, action, at));
    if (filters.rewrite().pathType() == UrlRewrite.PathType.PREFIX && match.path().type() != PathMatch.Type.PREFIX) {
      throw c.error(at + ".prefix_rewrite", action.getPrefixRewrite(), "a route matching a path prefix");
    }
    refuseUnapplied(c, filters, xds, action, path, at);
    if (filters.mirror() != null && !mirrorApplied) {
      throw c.error(at + ".request_mirror_policies[0].cluster", action.getRequestMirrorPolicies(0).getCluster(),
          "unset: " + RouteFilters.NOT_APPLIED);
    }
    return new Route(xds.getName(), List.of(match), backends, new RoutePolicy(timeout, retry, fault), filters);
  }

  /**
   * Refuses the filters the agents' HTTP clients do not apply yet ({@link
   * RouteFilters#REQUEST_HEADERS_APPLIED} and its siblings): decoded first, so a malformed one is
   * reported as such, then NACKed rather than kept and ignored.
   */
  private static void refuseUnapplied(
      DecodingContext c,
      RouteFilters filters,
      io.envoyproxy.envoy.config.route.v3.Route xds,
      RouteAction action,
      String path,
      String at)
      throws XdsResourceException {
    String expected = "unset: " + RouteFilters.NOT_APPLIED;
    if (!filters.requestHeaders().isNone() && !RouteFilters.REQUEST_HEADERS_APPLIED) {
      throw c.error(path + ".request_headers_to_add/remove",
          headerEdits(xds.getRequestHeadersToAddList(), xds.getRequestHeadersToRemoveList()), expected);
    }
    if (!filters.responseHeaders().isNone() && !RouteFilters.RESPONSE_HEADERS_APPLIED) {
      throw c.error(path + ".response_headers_to_add/remove",
          headerEdits(xds.getResponseHeadersToAddList(), xds.getResponseHeadersToRemoveList()), expected);
    }
    if (!filters.rewrite().isNone() && !RouteFilters.REWRITE_APPLIED) {
      String field = !action.getHostRewriteLiteral().isEmpty() ? "host_rewrite_literal"
          : !action.getPrefixRewrite().isEmpty() ? "prefix_rewrite" : "regex_rewrite";
      Object value = switch (field) {
        case "host_rewrite_literal" -> action.getHostRewriteLiteral();
        case "prefix_rewrite" -> action.getPrefixRewrite();
        default -> action.getRegexRewrite();
      };
      throw c.error(at + "." + field, value, expected);
    }
  }

  private static String headerEdits(List<HeaderValueOption> toAdd, List<String> toRemove) {
    List<String> names = new ArrayList<>();
    for (HeaderValueOption o : toAdd) {
      names.add(o.getHeader().getKey());
    }
    return "add " + names + ", remove " + toRemove;
  }

  /** {@code *_headers_to_add} (overwrite or append) and {@code *_headers_to_remove}. */
  private static HeaderModifier headerModifier(
      DecodingContext c, List<HeaderValueOption> toAdd, List<String> toRemove, String path, String side)
      throws XdsResourceException {
    List<HeaderModifier.Header> set = new ArrayList<>();
    List<HeaderModifier.Header> add = new ArrayList<>();
    for (int i = 0; i < toAdd.size(); i++) {
      HeaderValueOption o = toAdd.get(i);
      String op = path + "." + side + "_headers_to_add[" + i + "]";
      c.only(o, op, "header", "append_action");
      c.only(o.getHeader(), op + ".header", "key", "value");
      HeaderModifier.Header header;
      try {
        header = new HeaderModifier.Header(o.getHeader().getKey(), o.getHeader().getValue());
      } catch (IllegalArgumentException e) {
        throw c.error(op + ".header", o.getHeader(), "a header name token and a one-line value");
      }
      switch (o.getAppendAction()) {
        case OVERWRITE_IF_EXISTS_OR_ADD -> set.add(header);
        case APPEND_IF_EXISTS_OR_ADD -> add.add(header);
        default -> throw c.error(
            op + ".append_action", o.getAppendAction(), "OVERWRITE_IF_EXISTS_OR_ADD or APPEND_IF_EXISTS_OR_ADD");
      }
    }
    try {
      return new HeaderModifier(set, add, toRemove);
    } catch (IllegalArgumentException e) {
      throw c.error(path + "." + side + "_headers_to_add/remove", toRemove, "header names, each once (" + e.getMessage() + ")");
    }
  }

  /**
   * {@code request_mirror_policies}: at most one, naming another service's cluster ({@code
   * <service>.<namespace>}, see {@link XdsNames}) and a fixed share of requests.
   */
  private static RequestMirror mirror(DecodingContext c, RouteAction action, String at) throws XdsResourceException {
    if (action.getRequestMirrorPoliciesCount() == 0) {
      return null;
    }
    if (action.getRequestMirrorPoliciesCount() > 1) {
      throw c.error(at + ".request_mirror_policies", action.getRequestMirrorPoliciesCount() + " policies",
          "at most one mirror per route");
    }
    RouteAction.RequestMirrorPolicy p = action.getRequestMirrorPolicies(0);
    String mp = at + ".request_mirror_policies[0]";
    c.only(p, mp, "cluster", "runtime_fraction");
    String cluster = p.getCluster();
    int dot = cluster.indexOf('.');
    String service = dot < 0 ? "" : cluster.substring(0, dot);
    String namespace = dot < 0 ? "" : cluster.substring(dot + 1);
    if (!MeshSyntax.DNS_LABEL.matcher(service).matches() || !MeshSyntax.DNS_LABEL.matcher(namespace).matches()) {
      throw c.error(mp + ".cluster", "\"" + cluster + "\"", "a service's cluster, <service>.<namespace>");
    }
    double percent = 100;
    if (p.hasRuntimeFraction()) {
      c.only(p.getRuntimeFraction(), mp + ".runtime_fraction", "default_value");
      percent = c.percent(p.getRuntimeFraction().getDefaultValue(), mp + ".runtime_fraction.default_value");
    }
    return new RequestMirror(service, namespace, percent);
  }

  /** {@code host_rewrite_literal}, and {@code prefix_rewrite} or a whole-path {@code regex_rewrite}. */
  private static UrlRewrite rewrite(DecodingContext c, RouteAction action, String at) throws XdsResourceException {
    String host = null;
    if (!action.getHostRewriteLiteral().isEmpty()) {
      host = action.getHostRewriteLiteral();
      if (!MeshSyntax.DNS_SUBDOMAIN.matcher(host).matches()) {
        throw c.error(at + ".host_rewrite_literal", host, "a DNS host name in lower case");
      }
    }
    UrlRewrite.PathType type = null;
    String path = null;
    if (!action.getPrefixRewrite().isEmpty()) {
      type = UrlRewrite.PathType.PREFIX;
      path = action.getPrefixRewrite();
      if (!path.startsWith("/")) {
        throw c.error(at + ".prefix_rewrite", path, "a path starting with /");
      }
    }
    if (action.hasRegexRewrite()) {
      var r = action.getRegexRewrite();
      String rp = at + ".regex_rewrite";
      c.only(r, rp, "pattern", "substitution");
      // The one regex rewrite the mesh model has: the whole path replaced (ReplaceFullPath).
      if (!c.regex(r.getPattern(), rp + ".pattern").equals(XdsNames.FULL_PATH_REGEX)) {
        throw c.error(rp + ".pattern.regex", r.getPattern().getRegex(), XdsNames.FULL_PATH_REGEX + " (the whole path replaced)");
      }
      if (!r.getSubstitution().startsWith("/") || r.getSubstitution().contains("\\")) {
        throw c.error(rp + ".substitution", r.getSubstitution(), "a path starting with / and without back-references");
      }
      type = UrlRewrite.PathType.FULL;
      path = r.getSubstitution();
    }
    try {
      return new UrlRewrite(host, type, path);
    } catch (IllegalArgumentException e) {
      throw c.error(at, path, "a rewrite path without query or fragment (" + e.getMessage() + ")");
    }
  }

  private static RouteMatch match(
      DecodingContext c, io.envoyproxy.envoy.config.route.v3.RouteMatch match, String path)
      throws XdsResourceException {
    c.only(match, path, "prefix", "path", "safe_regex", "headers", "query_parameters");
    PathMatch pathMatch;
    switch (match.getPathSpecifierCase()) {
      case PREFIX -> {
        if (!match.getPrefix().startsWith("/")) {
          throw c.error(path + ".prefix", match.getPrefix(), "a path prefix starting with /");
        }
        pathMatch = PathMatch.prefix(match.getPrefix());
      }
      case PATH -> {
        if (!match.getPath().startsWith("/")) {
          throw c.error(path + ".path", match.getPath(), "a path starting with /");
        }
        pathMatch = PathMatch.exact(match.getPath());
      }
      case SAFE_REGEX -> pathMatch = PathMatch.regex(c.regex(match.getSafeRegex(), path + ".safe_regex"));
      default -> throw c.error(path, "no path specifier", "one of prefix, path, safe_regex");
    }
    String method = null;
    List<HeaderMatch> headers = new ArrayList<>();
    for (int i = 0; i < match.getHeadersCount(); i++) {
      HeaderMatcher h = match.getHeaders(i);
      String hp = path + ".headers[" + i + "]";
      c.only(h, hp, "name", "string_match");
      if (!h.hasStringMatch()) {
        throw c.error(hp, h, "string_match with exact or safe_regex");
      }
      StringMatcher s = h.getStringMatch();
      c.only(s, hp + ".string_match", "exact", "safe_regex");
      boolean exact = s.getMatchPatternCase() == StringMatcher.MatchPatternCase.EXACT;
      if (h.getName().equals(":method")) {
        if (!exact || method != null) {
          throw c.error(hp, h, "one :method header matched exactly");
        }
        method = s.getExact();
      } else if (h.getName().isEmpty() || h.getName().startsWith(":")) {
        throw c.error(hp + ".name", h.getName(), "a header name, or :method");
      } else if (exact) {
        headers.add(HeaderMatch.exact(h.getName(), s.getExact()));
      } else if (s.hasSafeRegex()) {
        headers.add(HeaderMatch.regex(h.getName(), c.regex(s.getSafeRegex(), hp + ".string_match.safe_regex")));
      } else {
        throw c.error(hp + ".string_match", s, "exact or safe_regex");
      }
    }
    List<QueryParamMatch> queryParams = new ArrayList<>();
    for (int i = 0; i < match.getQueryParametersCount(); i++) {
      QueryParameterMatcher q = match.getQueryParameters(i);
      String qp = path + ".query_parameters[" + i + "]";
      c.only(q, qp, "name", "string_match");
      if (q.getName().isEmpty()) {
        throw c.error(qp + ".name", "\"\"", "a query parameter name");
      }
      StringMatcher s = q.getStringMatch();
      c.only(s, qp + ".string_match", "exact", "safe_regex");
      if (s.getMatchPatternCase() == StringMatcher.MatchPatternCase.EXACT) {
        queryParams.add(QueryParamMatch.exact(q.getName(), s.getExact()));
      } else if (s.hasSafeRegex()) {
        queryParams.add(QueryParamMatch.regex(q.getName(), c.regex(s.getSafeRegex(), qp + ".string_match.safe_regex")));
      } else {
        throw c.error(qp + ".string_match", s, "exact or safe_regex");
      }
    }
    return new RouteMatch(pathMatch, headers, method, queryParams);
  }

  private static RoutePolicy.Retry retry(
      DecodingContext c, RouteAction action, String at, io.envoyproxy.envoy.config.route.v3.Route xds)
      throws XdsResourceException {
    RoutePolicy.Retry d = RoutePolicy.Retry.DEFAULT;
    int maxReplayBytes = d.maxReplayBytes();
    if (xds.hasPerRequestBufferLimitBytes()) {
      maxReplayBytes = xds.getPerRequestBufferLimitBytes().getValue();
    }
    boolean nonIdempotent = false;
    if (xds.hasMetadata()) {
      Struct jmesh = c.jmeshMetadata(xds.getMetadata(), "metadata");
      for (Map.Entry<String, Value> e : jmesh.getFieldsMap().entrySet()) {
        String mp = "metadata.filter_metadata[io.jmesh]." + e.getKey();
        if (!e.getKey().equals("retry_non_idempotent")
            || e.getValue().getKindCase() != Value.KindCase.BOOL_VALUE) {
          throw c.error(mp, e.getValue(), "retry_non_idempotent: true|false");
        }
        nonIdempotent = e.getValue().getBoolValue();
      }
    }
    if (!action.hasRetryPolicy()) {
      // No retry policy in xDS means no retries.
      return new RoutePolicy.Retry(
          1, null, false, false, Set.of(), nonIdempotent, d.backoffBase(), d.backoffMax(), maxReplayBytes);
    }
    RetryPolicy p = action.getRetryPolicy();
    String rp = at + ".retry_policy";
    c.only(p, rp, "retry_on", "num_retries", "retriable_status_codes", "per_try_timeout", "retry_back_off");
    Set<String> on = new LinkedHashSet<>();
    for (String condition : p.getRetryOn().split(",", -1)) {
      String trimmed = condition.trim();
      if (trimmed.isEmpty() && p.getRetryOn().isEmpty()) {
        continue;
      }
      if (!RETRY_ON.contains(trimmed)) {
        throw c.error(rp + ".retry_on", p.getRetryOn(), "a comma-separated subset of " + String.join(", ", new java.util.TreeSet<>(RETRY_ON)));
      }
      on.add(trimmed);
    }
    Set<Integer> statuses = new LinkedHashSet<>();
    for (int status : p.getRetriableStatusCodesList()) {
      if (status < 100 || status > 599) {
        throw c.error(rp + ".retriable_status_codes", status, "HTTP status codes in 100..599");
      }
      statuses.add(status);
    }
    if (!statuses.isEmpty() != on.contains("retriable-status-codes")) {
      throw c.error(
          rp + ".retriable_status_codes",
          statuses,
          "codes if and only if retry_on has retriable-status-codes");
    }
    int attempts = (p.hasNumRetries() ? p.getNumRetries().getValue() : 1) + 1;
    Duration perTry = null;
    if (p.hasPerTryTimeout() && !DecodingContext.isZero(p.getPerTryTimeout())) {
      perTry = c.duration(p.getPerTryTimeout(), rp + ".per_try_timeout");
    }
    Duration base = d.backoffBase();
    Duration max = d.backoffMax();
    if (p.hasRetryBackOff()) {
      RetryPolicy.RetryBackOff b = p.getRetryBackOff();
      c.only(b, rp + ".retry_back_off", "base_interval", "max_interval");
      base = c.duration(b.getBaseInterval(), rp + ".retry_back_off.base_interval");
      // Envoy's default maximum is ten times the base.
      max = b.hasMaxInterval() ? c.duration(b.getMaxInterval(), rp + ".retry_back_off.max_interval") : base.multipliedBy(10);
      if (max.compareTo(base) < 0) {
        throw c.error(rp + ".retry_back_off.max_interval", max, ">= base_interval " + base);
      }
    }
    Set<Integer> grpc = new java.util.TreeSet<>();
    for (String condition : on) {
      Integer code = GrpcRetryConditions.CODES.get(condition);
      if (code != null) {
        grpc.add(code);
      }
    }
    return new RoutePolicy.Retry(
        attempts,
        perTry,
        on.contains(MeshSyntax.RETRY_CONNECT_FAILURE),
        on.contains(MeshSyntax.RETRY_RESET),
        statuses,
        nonIdempotent,
        base,
        max,
        maxReplayBytes,
        grpc);
  }

  private static RoutePolicy.Fault fault(DecodingContext c, HTTPFault fault, String path)
      throws XdsResourceException {
    c.only(fault, path, "abort", "delay");
    double abortPercent = 0;
    int abortStatus = RoutePolicy.Fault.NONE.abortStatus();
    if (fault.hasAbort()) {
      var abort = fault.getAbort();
      c.only(abort, path + ".abort", "http_status", "percentage");
      if (abort.getHttpStatus() < 200 || abort.getHttpStatus() > 599) {
        throw c.error(path + ".abort.http_status", abort.getHttpStatus(), "an HTTP status in 200..599");
      }
      abortStatus = abort.getHttpStatus();
      abortPercent = c.percent(abort.getPercentage(), path + ".abort.percentage");
    }
    double delayPercent = 0;
    Duration delay = Duration.ZERO;
    if (fault.hasDelay()) {
      var d = fault.getDelay();
      c.only(d, path + ".delay", "fixed_delay", "percentage");
      if (!d.hasFixedDelay()) {
        throw c.error(path + ".delay", d, "fixed_delay (header-controlled delays are not supported)");
      }
      delay = c.duration(d.getFixedDelay(), path + ".delay.fixed_delay");
      delayPercent = c.percent(d.getPercentage(), path + ".delay.percentage");
    }
    return new RoutePolicy.Fault(abortPercent, abortStatus, delayPercent, delay);
  }
}
