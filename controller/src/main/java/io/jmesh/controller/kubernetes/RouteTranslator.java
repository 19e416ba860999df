package io.jmesh.controller.kubernetes;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCBackendRef;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCHeaderMatch;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCMethodMatch;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRouteMatch;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRouteRule;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPBackendRef;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPHeader;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPHeaderFilter;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPHeaderMatch;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPPathModifier;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPQueryParamMatch;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPURLRewriteFilter;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPPathMatch;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteFilter;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteMatch;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteRetry;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteRule;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRouteTimeouts;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRouteFilter;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.ParentReference;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.BackendObjectReference;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.Fraction;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRequestMirrorFilter;
import io.jmesh.controller.kubernetes.RouteStatus.Condition;
import io.jmesh.runtime.config.Durations;
import io.jmesh.runtime.config.HeaderMatch;
import io.jmesh.runtime.config.HeaderModifier;
import io.jmesh.runtime.config.QueryParamMatch;
import io.jmesh.runtime.config.RequestMirror;
import io.jmesh.runtime.config.RouteFilters;
import io.jmesh.runtime.config.UrlRewrite;
import io.jmesh.runtime.config.PathMatch;
import io.jmesh.runtime.config.RouteMatch;
import io.jmesh.runtime.config.RoutePolicy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Gateway API routes with a Service parent (GAMMA) → the rules each Service's traffic follows, and
 * the status of every route for every Service parent. Pure: the same objects give the same result.
 *
 * <p>A producer route (in the Service's namespace) applies to every client: {@link Result#rules}.
 * A consumer route (in another namespace than its Service's) applies to the clients of its own
 * namespace only, and for them replaces the Service's producer routes (GAMMA): {@link
 * Result#consumerRules}. Its backends resolve in the route's namespace. A consumer route on a
 * Service not exported to its namespace ({@link ExportTo}) has no matching parent.
 *
 * <p>Nothing is ignored silently: a field jmesh's model cannot express (query-parameter matches,
 * filters but header modifiers and URL rewrites, hostnames, session persistence, an unknown field) makes the route not accepted, with
 * reason {@code UnsupportedValue} and the field named; its rules are then not used.
 */
final class RouteTranslator {
  private static final String BACKEND_NONE = "none";

  /** A backend of a rule: port {@code port} of Service {@code namespace/name}. */
  record BackendTarget(String namespace, String name, int port) {
    /** The value of the {@code jmesh.io/backend} label on this backend's endpoints. */
    String label() {
      return name + "." + namespace + ":" + port;
    }
  }

  /** One (rule, match) of an accepted route, attached to a Service, with what orders it. */
  record AttachedRule(
      String name,
      RouteMatch match,
      Map<BackendTarget, Integer> backends, // weights, in declaration order; empty: no backend
      RoutePolicy policy,
      RouteFilters filters,
      Rank rank) {}

  /**
   * Gateway API precedence: exact path, longer prefix (or regular expression), method, more
   * headers, more query parameters, older route, route name, rule and match order.
   */
  record Rank(
      int pathType, int pathLength, boolean method, int headers, int queryParams, String created,
      String route, int rule, int match) {
    static final Comparator<Rank> ORDER =
        Comparator.comparingInt(Rank::pathType)
            .thenComparing(Comparator.comparingInt(Rank::pathLength).reversed())
            .thenComparing(r -> !r.method())
            .thenComparing(Comparator.comparingInt(Rank::headers).reversed())
            .thenComparing(Comparator.comparingInt(Rank::queryParams).reversed())
            .thenComparing(Rank::created)
            .thenComparing(Rank::route)
            .thenComparingInt(Rank::rule)
            .thenComparingInt(Rank::match);
  }

  /**
   * The producer rules per Service ({@code namespace/name}), the consumer rules per client
   * namespace and Service, and the statuses per route.
   */
  record Result(
      Map<String, List<AttachedRule>> rules,
      Map<String, Map<String, List<AttachedRule>>> consumerRules,
      Map<RouteStatus.Key, List<RouteStatus>> statuses) {}

  /** A rule in a kind-neutral form. */
  private record Rule(
      String name, List<RouteMatch> matches, List<BackendRef> backends, RoutePolicy policy,
      RouteFilters filters, MirrorRef mirror) {}

  /** A rule's RequestMirror filter, resolved like a backendRef; {@code percent} in 0..100. */
  private record MirrorRef(
      String field, String group, String kind, String namespace, String name, Integer port, double percent) {}

  private record BackendRef(
      String field, String group, String kind, String namespace, String name, Integer port,
      int weight) {}

  private final Map<String, Service> services;
  private final ReferenceGrants grants;
  private final Map<String, List<AttachedRule>> rules = new LinkedHashMap<>();
  private final Map<String, Map<String, List<AttachedRule>>> consumerRules = new LinkedHashMap<>();
  private final Map<RouteStatus.Key, List<RouteStatus>> statuses = new LinkedHashMap<>();

  private RouteTranslator(Map<String, Service> services, ReferenceGrants grants) {
    this.services = services;
    this.grants = grants;
  }

  /**
   * @param services every Service, by {@code namespace/name}
   * @param grants what lets a route send to a Service in another namespace
   */
  static Result translate(
      Map<String, Service> services,
      List<HTTPRoute> httpRoutes,
      List<GRPCRoute> grpcRoutes,
      ReferenceGrants grants) {
    RouteTranslator t = new RouteTranslator(services, grants);
    for (HTTPRoute route : httpRoutes) {
      List<String> unsupported = new ArrayList<>();
      List<Rule> rules = t.httpRules(route, unsupported);
      t.attach(
          RouteStatus.Kind.HTTPRoute, route, route.getSpec().getParentRefs(), rules, unsupported);
    }
    for (GRPCRoute route : grpcRoutes) {
      List<String> unsupported = new ArrayList<>();
      List<Rule> rules = t.grpcRules(route, unsupported);
      t.attach(
          RouteStatus.Kind.GRPCRoute, route, route.getSpec().getParentRefs(), rules, unsupported);
    }
    t.rules.values().forEach(list -> list.sort(Comparator.comparing(AttachedRule::rank, Rank.ORDER)));
    t.consumerRules.values().forEach(byService -> byService.values().forEach(
        list -> list.sort(Comparator.comparing(AttachedRule::rank, Rank.ORDER))));
    return new Result(t.rules, t.consumerRules, t.statuses);
  }

  // ---- HTTPRoute

  private List<Rule> httpRules(HTTPRoute route, List<String> unsupported) {
    var spec = route.getSpec();
    unknownFields("spec", spec.getAdditionalProperties(), unsupported);
    if (spec.getHostnames() != null && !spec.getHostnames().isEmpty()) {
      unsupported.add("spec.hostnames");
    }
    List<Rule> out = new ArrayList<>();
    List<HTTPRouteRule> rules = spec.getRules() == null ? List.of() : spec.getRules();
    for (int r = 0; r < rules.size(); r++) {
      HTTPRouteRule rule = rules.get(r);
      String at = "spec.rules[" + r + "]";
      unknownFields(at, rule.getAdditionalProperties(), unsupported);
      List<MirrorRef> mirrors = new ArrayList<>(1);
      RouteFilters ruleFilters = httpFilters(at, rule.getFilters(), unsupported, mirrors);
      if (rule.getSessionPersistence() != null) {
        unsupported.add(at + ".sessionPersistence");
      }
      List<RouteMatch> matches = matches(at, rule.getMatches(), RouteTranslator::httpMatch, unsupported);
      List<BackendRef> backends = new ArrayList<>();
      List<HTTPBackendRef> refs = rule.getBackendRefs() == null ? List.of() : rule.getBackendRefs();
      for (int b = 0; b < refs.size(); b++) {
        HTTPBackendRef ref = refs.get(b);
        String field = at + ".backendRefs[" + b + "]";
        unknownFields(field, ref.getAdditionalProperties(), unsupported);
        filters(field, ref.getFilters(), unsupported);
        backends.add(
            new BackendRef(
                field, ref.getGroup(), ref.getKind(), ref.getNamespace(), ref.getName(),
                ref.getPort(), ref.getWeight() == null ? 1 : ref.getWeight()));
      }
      RoutePolicy policy = httpPolicy(at, rule.getTimeouts(), rule.getRetry(), unsupported);
      if (ruleFilters.rewrite().pathType() == UrlRewrite.PathType.PREFIX) {
        for (int m = 0; m < matches.size(); m++) {
          if (matches.get(m).path().type() != PathMatch.Type.PREFIX) {
            // Gateway API allows ReplacePrefixMatch only with PathPrefix matches.
            unsupported.add(at + ".filters: URLRewrite ReplacePrefixMatch with matches[" + m
                + "] not a PathPrefix (expected: PathPrefix matches only)");
            ruleFilters = RouteFilters.NONE;
            break;
          }
        }
      }
      out.add(new Rule(rule.getName(), matches, backends, policy, ruleFilters, mirrors.isEmpty() ? null : mirrors.get(0)));
    }
    return out;
  }

  /** Translates one match of a route's rule, or returns null having named what it cannot. */
  private interface MatchTranslator<M> {
    RouteMatch translate(String at, M match, List<String> unsupported);
  }

  /**
   * A rule's matches, HTTPRoute's or GRPCRoute's: none means every request (Gateway API's
   * default); one that cannot be translated is left out, having named its field.
   */
  private static <M> List<RouteMatch> matches(
      String at, List<M> ms, MatchTranslator<M> translator, List<String> unsupported) {
    List<RouteMatch> matches = new ArrayList<>();
    if (ms == null || ms.isEmpty()) {
      matches.add(RouteMatch.ANY);
      return matches;
    }
    for (int m = 0; m < ms.size(); m++) {
      RouteMatch match = translator.translate(at + ".matches[" + m + "]", ms.get(m), unsupported);
      if (match != null) {
        matches.add(match);
      }
    }
    return matches;
  }

  private static RouteMatch httpMatch(String at, HTTPRouteMatch m, List<String> unsupported) {
    unknownFields(at, m.getAdditionalProperties(), unsupported);
    List<QueryParamMatch> queryParams = new ArrayList<>();
    List<HTTPQueryParamMatch> qs = m.getQueryParams() == null ? List.of() : m.getQueryParams();
    for (int q = 0; q < qs.size(); q++) {
      HTTPQueryParamMatch qm = qs.get(q);
      String qat = at + ".queryParams[" + q + "]";
      unknownFields(qat, qm.getAdditionalProperties(), unsupported);
      String t = qm.getType() == null ? "Exact" : qm.getType();
      try {
        switch (t) {
          case "Exact" -> queryParams.add(QueryParamMatch.exact(qm.getName(), qm.getValue()));
          case "RegularExpression" -> queryParams.add(QueryParamMatch.regex(qm.getName(), qm.getValue()));
          default -> {
            unsupported.add(qat + ".type: " + t);
            return null;
          }
        }
      } catch (RuntimeException e) {
        unsupported.add(qat + ": " + e.getMessage());
        return null;
      }
    }
    PathMatch path = PathMatch.ANY;
    HTTPPathMatch p = m.getPath();
    if (p != null) {
      String type = p.getType() == null ? "PathPrefix" : p.getType();
      String value = p.getValue() == null ? "/" : p.getValue();
      try {
        path =
            switch (type) {
              case "Exact" -> PathMatch.exact(value);
              case "PathPrefix" -> PathMatch.prefix(value);
              case "RegularExpression" -> PathMatch.regex(value);
              default -> {
                unsupported.add(at + ".path.type: " + type);
                yield null;
              }
            };
      } catch (IllegalArgumentException e) {
        unsupported.add(at + ".path.value: " + value + " (" + e.getMessage() + ")");
        return null;
      }
      if (path == null) {
        return null;
      }
    }
    List<HeaderMatch> headers = new ArrayList<>();
    List<HTTPHeaderMatch> hs = m.getHeaders() == null ? List.of() : m.getHeaders();
    for (int h = 0; h < hs.size(); h++) {
      HeaderMatch header =
          header(at + ".headers[" + h + "]", hs.get(h).getType(), hs.get(h).getName(),
              hs.get(h).getValue(), unsupported);
      if (header == null) {
        return null;
      }
      headers.add(header);
    }
    return new RouteMatch(path, headers, m.getMethod(), queryParams);
  }

  private static HeaderMatch header(
      String at, String type, String name, String value, List<String> unsupported) {
    String t = type == null ? "Exact" : type;
    try {
      return switch (t) {
        case "Exact" -> HeaderMatch.exact(name, value);
        case "RegularExpression" -> HeaderMatch.regex(name, value);
        default -> {
          unsupported.add(at + ".type: " + t);
          yield null;
        }
      };
    } catch (RuntimeException e) {
      unsupported.add(at + ": " + e.getMessage());
      return null;
    }
  }

  /**
   * The HTTP filter types the agents' HTTP clients apply, as {@link RouteFilters#REQUEST_HEADERS_APPLIED}
   * and its siblings say (the agents' parser and xDS decoder refuse the others). A route using
   * another is refused rather than accepted and silently not applied.
   */
  static final Set<String> AGENT_APPLIED_FILTERS = appliedFilters();

  private static Set<String> appliedFilters() {
    Set<String> applied = new java.util.HashSet<>();
    if (RouteFilters.REQUEST_HEADERS_APPLIED) {
      applied.add("RequestHeaderModifier");
    }
    if (RouteFilters.RESPONSE_HEADERS_APPLIED) {
      applied.add("ResponseHeaderModifier");
    }
    if (RouteFilters.REWRITE_APPLIED) {
      applied.add("URLRewrite");
    }
    if (RouteFilters.MIRROR_APPLIED) {
      applied.add("RequestMirror");
    }
    return Set.copyOf(applied);
  }

  /**
   * A rule's HTTP filters: header modifiers and URL rewrite, each at most once as Gateway API
   * requires, and one request mirror (into {@code mirrors}, resolved with the backends).
   * Redirects and the rest are refused with the field named.
   */
  private static RouteFilters httpFilters(
      String at, List<HTTPRouteFilter> filters, List<String> unsupported, List<MirrorRef> mirrors) {
    if (filters == null) {
      return RouteFilters.NONE;
    }
    List<Filter> views = new ArrayList<>();
    for (HTTPRouteFilter f : filters) {
      views.add(
          new Filter(
              f.getType(), f.getAdditionalProperties(), f.getRequestHeaderModifier(),
              f.getResponseHeaderModifier(), f.getUrlRewrite(), f.getRequestMirror()));
    }
    return ruleFilters(at, views, unsupported, mirrors);
  }

  /**
   * A GRPCRoute rule's filters: the two header modifiers (GRPCRoute has no URL rewrite), each at
   * most once; a mirror and extension refs are refused with the field named.
   */
  private static RouteFilters grpcFilters(String at, List<GRPCRouteFilter> filters, List<String> unsupported) {
    if (filters == null) {
      return RouteFilters.NONE;
    }
    List<Filter> views = new ArrayList<>();
    for (GRPCRouteFilter f : filters) {
      views.add(
          new Filter(
              f.getType(), f.getAdditionalProperties(), f.getRequestHeaderModifier(),
              f.getResponseHeaderModifier(), null, null));
    }
    return ruleFilters(at, views, unsupported, null);
  }

  /** The fields of an HTTPRoute or GRPCRoute filter that jmesh reads. */
  private record Filter(
      String type,
      Map<String, Object> additionalProperties,
      HTTPHeaderFilter requestHeaderModifier,
      HTTPHeaderFilter responseHeaderModifier,
      HTTPURLRewriteFilter urlRewrite,
      HTTPRequestMirrorFilter requestMirror) {}

  /** @param mirrors where a RequestMirror goes; {@code null} where none is supported (GRPCRoute) */
  private static RouteFilters ruleFilters(
      String at, List<Filter> filters, List<String> unsupported, List<MirrorRef> mirrors) {
    HeaderModifier request = HeaderModifier.NONE;
    HeaderModifier response = HeaderModifier.NONE;
    UrlRewrite rewrite = UrlRewrite.NONE;
    Set<String> seen = new HashSet<>();
    for (int f = 0; f < filters.size(); f++) {
      Filter filter = filters.get(f);
      String fat = at + ".filters[" + f + "]";
      unknownFields(fat, filter.additionalProperties(), unsupported);
      String type = filter.type();
      if (!seen.add(String.valueOf(type))) {
        unsupported.add(fat + ".type: " + type + " twice (expected: each filter type once per rule"
            + ("RequestMirror".equals(type) ? "; jmesh sends one mirror per rule)" : ")"));
        continue;
      }
      try {
        switch (String.valueOf(type)) {
          case "RequestHeaderModifier" ->
              request = headerModifier(fat + ".requestHeaderModifier", filter.requestHeaderModifier(), unsupported);
          case "ResponseHeaderModifier" ->
              response = headerModifier(fat + ".responseHeaderModifier", filter.responseHeaderModifier(), unsupported);
          case "URLRewrite" -> rewrite = urlRewrite(fat + ".urlRewrite", filter.urlRewrite(), unsupported);
          case "RequestMirror" -> {
            if (mirrors == null) {
              unsupported.add(fat + ".type: RequestMirror (expected: on an HTTPRoute; jmesh does not mirror gRPC calls)");
            } else {
              MirrorRef mirror = requestMirror(fat + ".requestMirror", filter.requestMirror(), unsupported);
              if (mirror != null) {
                mirrors.add(mirror);
              }
            }
          }
          default -> unsupported.add(fat + ".type: " + type);
        }
        if (!AGENT_APPLIED_FILTERS.contains(type)
            && List.of("RequestHeaderModifier", "ResponseHeaderModifier", "URLRewrite", "RequestMirror").contains(type)) {
          unsupported.add(fat + ".type: " + type + " (translated, not yet applied by the agents' HTTP clients)");
        }
      } catch (IllegalArgumentException e) {
        unsupported.add(fat + ": " + e.getMessage());
      }
    }
    return new RouteFilters(request, response, rewrite);
  }

  private static HeaderModifier headerModifier(String at, HTTPHeaderFilter f, List<String> unsupported) {
    if (f == null) {
      unsupported.add(at + ": missing (expected: set, add or remove)");
      return HeaderModifier.NONE;
    }
    unknownFields(at, f.getAdditionalProperties(), unsupported);
    return new HeaderModifier(headers(f.getSet()), headers(f.getAdd()), f.getRemove() == null ? List.of() : f.getRemove());
  }

  private static List<HeaderModifier.Header> headers(List<HTTPHeader> headers) {
    List<HeaderModifier.Header> out = new ArrayList<>();
    if (headers != null) {
      for (HTTPHeader h : headers) {
        out.add(new HeaderModifier.Header(String.valueOf(h.getName()), h.getValue() == null ? "" : h.getValue()));
      }
    }
    return out;
  }

  /** A RequestMirror's backendRef and share ({@code percent}, or {@code fraction}; neither: all). */
  private static MirrorRef requestMirror(String at, HTTPRequestMirrorFilter f, List<String> unsupported) {
    if (f == null || f.getBackendRef() == null) {
      unsupported.add(at + ".backendRef: missing (expected: the Service to mirror to)");
      return null;
    }
    unknownFields(at, f.getAdditionalProperties(), unsupported);
    BackendObjectReference ref = f.getBackendRef();
    unknownFields(at + ".backendRef", ref.getAdditionalProperties(), unsupported);
    double percent = 100;
    if (f.getPercent() != null && f.getFraction() != null) {
      unsupported.add(at + ": both percent and fraction (expected: one of them)");
      return null;
    }
    if (f.getPercent() != null) {
      if (f.getPercent() < 0 || f.getPercent() > 100) {
        unsupported.add(at + ".percent: " + f.getPercent() + " (expected: 0..100)");
        return null;
      }
      percent = f.getPercent();
    } else if (f.getFraction() != null) {
      Fraction fraction = f.getFraction();
      unknownFields(at + ".fraction", fraction.getAdditionalProperties(), unsupported);
      int denominator = fraction.getDenominator() == null ? 100 : fraction.getDenominator();
      Integer numerator = fraction.getNumerator();
      if (numerator == null || numerator < 0 || denominator < 1 || numerator > denominator) {
        unsupported.add(at + ".fraction: " + numerator + "/" + denominator
            + " (expected: 0 <= numerator <= denominator, denominator >= 1)");
        return null;
      }
      percent = numerator * 100.0 / denominator;
    }
    return new MirrorRef(
        at + ".backendRef", ref.getGroup(), ref.getKind(), ref.getNamespace(), ref.getName(), ref.getPort(), percent);
  }

  private static UrlRewrite urlRewrite(String at, HTTPURLRewriteFilter f, List<String> unsupported) {
    if (f == null) {
      unsupported.add(at + ": missing (expected: hostname, path or both)");
      return UrlRewrite.NONE;
    }
    unknownFields(at, f.getAdditionalProperties(), unsupported);
    UrlRewrite.PathType type = null;
    String path = null;
    HTTPPathModifier p = f.getPath();
    if (p != null) {
      unknownFields(at + ".path", p.getAdditionalProperties(), unsupported);
      switch (String.valueOf(p.getType())) {
        case "ReplaceFullPath" -> {
          type = UrlRewrite.PathType.FULL;
          path = p.getReplaceFullPath();
        }
        case "ReplacePrefixMatch" -> {
          type = UrlRewrite.PathType.PREFIX;
          path = p.getReplacePrefixMatch();
        }
        default -> {
          unsupported.add(at + ".path.type: " + p.getType());
          return UrlRewrite.NONE;
        }
      }
      if (path == null) {
        unsupported.add(at + ".path: " + p.getType() + " without its value");
        return UrlRewrite.NONE;
      }
    }
    return new UrlRewrite(f.getHostname(), type, path);
  }

  private static void filters(String at, List<?> filters, List<String> unsupported) {
    if (filters == null) {
      return;
    }
    for (int f = 0; f < filters.size(); f++) {
      Object filter = filters.get(f);
      String type =
          filter instanceof HTTPRouteFilter h
              ? h.getType()
              : filter instanceof GRPCRouteFilter g ? g.getType() : "?";
      // Filters of a backendRef: the runtime applies a rule's filters only.
      unsupported.add(at + ".filters[" + f + "].type: " + type);
    }
  }

  private static RoutePolicy httpPolicy(
      String at, HTTPRouteTimeouts timeouts, HTTPRouteRetry retry, List<String> unsupported) {
    Duration request = null;
    Duration backendRequest = null;
    if (timeouts != null) {
      unknownFields(at + ".timeouts", timeouts.getAdditionalProperties(), unsupported);
      request = duration(at + ".timeouts.request", timeouts.getRequest(), unsupported);
      backendRequest =
          duration(at + ".timeouts.backendRequest", timeouts.getBackendRequest(), unsupported);
    }
    RoutePolicy.Retry r = RoutePolicy.Retry.DEFAULT;
    int attempts = r.attempts();
    Set<Integer> onStatus = r.onStatus();
    Duration backoffBase = r.backoffBase();
    if (retry != null) {
      unknownFields(at + ".retry", retry.getAdditionalProperties(), unsupported);
      if (retry.getAttempts() != null) {
        // Gateway API counts retries; jmesh counts attempts, the first included.
        attempts = retry.getAttempts() + 1;
      }
      if (retry.getCodes() != null) {
        onStatus = new HashSet<>();
        for (int code : retry.getCodes()) {
          if (code < 400 || code > 599) {
            unsupported.add(at + ".retry.codes: " + code + " (expected: 400..599)");
          }
          onStatus.add(code);
        }
      }
      Duration backoff = duration(at + ".retry.backoff", retry.getBackoff(), unsupported);
      if (backoff != null) {
        backoffBase = backoff;
      }
    }
    if (attempts < 1) {
      unsupported.add(at + ".retry.attempts: " + (attempts - 1) + " (expected: >= 0)");
      attempts = 1;
    }
    Duration backoffMax =
        backoffBase.compareTo(r.backoffMax()) > 0 ? backoffBase : r.backoffMax();
    RoutePolicy.Retry built =
        new RoutePolicy.Retry(
            attempts, backendRequest, r.onConnectFailure(), r.onReset(), onStatus,
            r.nonIdempotent(), backoffBase, backoffMax, r.maxReplayBytes(), r.onGrpcStatus());
    return new RoutePolicy(request, built, RoutePolicy.Fault.NONE);
  }

  /** A Gateway API duration ({@code 10s}, {@code 500ms}, {@code 1h30m}); {@code 0s}: none. */
  private static Duration duration(String field, String value, List<String> unsupported) {
    if (value == null) {
      return null;
    }
    try {
      Duration d = Durations.parse(field, value);
      return d.isZero() ? null : d;
    } catch (IllegalArgumentException e) {
      unsupported.add(e.getMessage());
      return null;
    }
  }

  // ---- GRPCRoute

  private List<Rule> grpcRules(GRPCRoute route, List<String> unsupported) {
    var spec = route.getSpec();
    unknownFields("spec", spec.getAdditionalProperties(), unsupported);
    if (spec.getHostnames() != null && !spec.getHostnames().isEmpty()) {
      unsupported.add("spec.hostnames");
    }
    List<Rule> out = new ArrayList<>();
    List<GRPCRouteRule> rules = spec.getRules() == null ? List.of() : spec.getRules();
    for (int r = 0; r < rules.size(); r++) {
      GRPCRouteRule rule = rules.get(r);
      String at = "spec.rules[" + r + "]";
      unknownFields(at, rule.getAdditionalProperties(), unsupported);
      RouteFilters ruleFilters = grpcFilters(at, rule.getFilters(), unsupported);
      if (rule.getSessionPersistence() != null) {
        unsupported.add(at + ".sessionPersistence");
      }
      List<RouteMatch> matches = matches(at, rule.getMatches(), RouteTranslator::grpcMatch, unsupported);
      List<BackendRef> backends = new ArrayList<>();
      List<GRPCBackendRef> refs = rule.getBackendRefs() == null ? List.of() : rule.getBackendRefs();
      for (int b = 0; b < refs.size(); b++) {
        GRPCBackendRef ref = refs.get(b);
        String field = at + ".backendRefs[" + b + "]";
        unknownFields(field, ref.getAdditionalProperties(), unsupported);
        filters(field, ref.getFilters(), unsupported);
        backends.add(
            new BackendRef(
                field, ref.getGroup(), ref.getKind(), ref.getNamespace(), ref.getName(),
                ref.getPort(), ref.getWeight() == null ? 1 : ref.getWeight()));
      }
      out.add(new Rule(rule.getName(), matches, backends, RoutePolicy.DEFAULT, ruleFilters, null));
    }
    return out;
  }

  /** A gRPC method match as a path match on {@code /<service>/<method>}. */
  private static RouteMatch grpcMatch(String at, GRPCRouteMatch m, List<String> unsupported) {
    unknownFields(at, m.getAdditionalProperties(), unsupported);
    PathMatch path = PathMatch.ANY;
    GRPCMethodMatch method = m.getMethod();
    if (method != null) {
      String type = method.getType() == null ? "Exact" : method.getType();
      String service = method.getService();
      String name = method.getMethod();
      try {
        switch (type) {
          case "Exact" -> {
            if (service != null && name != null) {
              path = PathMatch.exact("/" + service + "/" + name);
            } else if (service != null) {
              path = PathMatch.prefix("/" + service);
            } else if (name != null) {
              path = PathMatch.regex("/[^/]+/" + Pattern.quote(name));
            }
          }
          case "RegularExpression" ->
              path =
                  PathMatch.regex(
                      "/" + (service == null ? "[^/]+" : service) + "/"
                          + (name == null ? "[^/]+" : name));
          default -> {
            unsupported.add(at + ".method.type: " + type);
            return null;
          }
        }
      } catch (IllegalArgumentException e) {
        unsupported.add(at + ".method: " + e.getMessage());
        return null;
      }
    }
    List<HeaderMatch> headers = new ArrayList<>();
    List<GRPCHeaderMatch> hs = m.getHeaders() == null ? List.of() : m.getHeaders();
    for (int h = 0; h < hs.size(); h++) {
      HeaderMatch header =
          header(at + ".headers[" + h + "]", hs.get(h).getType(), hs.get(h).getName(),
              hs.get(h).getValue(), unsupported);
      if (header == null) {
        return null;
      }
      headers.add(header);
    }
    return new RouteMatch(path, headers, null);
  }

  private static void unknownFields(String at, Map<String, Object> extra, List<String> unsupported) {
    if (extra != null) {
      for (String name : extra.keySet()) {
        unsupported.add(at + "." + name);
      }
    }
  }

  // ---- parents, backends and statuses

  private void attach(
      RouteStatus.Kind kind,
      HasMetadata route,
      List<ParentReference> parentRefs,
      List<Rule> rules,
      List<String> unsupported) {
    String namespace = route.getMetadata().getNamespace();
    String name = route.getMetadata().getName();
    RouteStatus.Key key = new RouteStatus.Key(kind, namespace, name);
    List<RouteStatus> out = new ArrayList<>();
    // Backends resolve the same way for every parent.
    List<String> refProblems = new ArrayList<>();
    List<String> refReasons = new ArrayList<>(); // the first is the condition's reason
    List<Map<BackendTarget, Integer>> ruleBackends = new ArrayList<>();
    List<RouteFilters> ruleFilters = new ArrayList<>();
    for (Rule rule : rules) {
      Map<BackendTarget, Integer> backends = new LinkedHashMap<>();
      for (BackendRef ref : rule.backends()) {
        String ns = ref.namespace() == null ? namespace : ref.namespace();
        BackendTarget target = new BackendTarget(ns, ref.name(), ref.port() == null ? 0 : ref.port());
        String reason = resolve(kind, namespace, ref.field(), ref.group(), ref.kind(), ns, ref.name(), ref.port(), refProblems);
        if (reason != null) {
          refReasons.add(reason);
          if (!reason.equals("BackendNotFound")) {
            target = new BackendTarget(namespace, BACKEND_NONE, 0); // never another namespace's, nor another kind
          }
        }
        // An unresolved backend keeps its weight and selects no endpoint: its share of the
        // requests fails, as Gateway API asks (500), instead of moving to the others.
        backends.merge(target, ref.weight(), Integer::sum);
      }
      ruleBackends.add(backends);
      RouteFilters filters = rule.filters();
      MirrorRef m = rule.mirror();
      if (m != null) {
        String ns = m.namespace() == null ? namespace : m.namespace();
        // A mirror whose Service cannot be used is left out; the rule still routes.
        String reason = resolve(kind, namespace, m.field(), m.group(), m.kind(), ns, m.name(), m.port(), refProblems);
        if (reason == null) {
          filters = filters.withMirror(new RequestMirror(m.name(), ns, m.percent()));
        } else {
          refReasons.add(reason);
        }
      }
      ruleFilters.add(filters);
    }
    String refReason = refReasons.isEmpty() ? null : refReasons.get(0);
    Condition resolved =
        refProblems.isEmpty()
            ? Condition.resolved()
            : Condition.unresolved(refReason, String.join("; ", refProblems));

    List<ParentReference> refs = parentRefs == null ? List.of() : parentRefs;
    for (int p = 0; p < refs.size(); p++) {
      ParentReference parent = refs.get(p);
      String group = parent.getGroup();
      // A Gateway's parent, or another group's kind (the default group is
      // gateway.networking.k8s.io): not jmesh's to judge.
      if (!"Service".equals(parent.getKind())
          || group == null
          || !(group.isEmpty() || group.equals("core"))) {
        continue;
      }
      String parentNs = parent.getNamespace() == null ? namespace : parent.getNamespace();
      Service service = services.get(EndpointIndex.key(parentNs, parent.getName()));
      Condition accepted;
      boolean consumer = !parentNs.equals(namespace);
      if (service == null) {
        accepted = Condition.notAccepted("NoMatchingParent",
            "spec.parentRefs[" + p + "]: Service " + parentNs + "/" + parent.getName()
                + " not found");
      } else if (consumer && !ExportTo.of(service).allows(namespace)) {
        accepted = Condition.notAccepted("NoMatchingParent",
            "spec.parentRefs[" + p + "]: Service " + parentNs + "/" + parent.getName()
                + " is not exported to the route's namespace " + namespace + " (annotation "
                + ExportTo.ANNOTATION + ": " + ExportTo.of(service).namespaces() + ")");
      } else if (parent.getPort() != null && servicePort(service, parent.getPort()) == null) {
        accepted = Condition.notAccepted("NoMatchingParent",
            "spec.parentRefs[" + p + "].port: " + parent.getPort() + " (expected: one of "
                + ports(service) + ")");
      } else if (parent.getPort() != null && service.getSpec().getPorts().size() > 1) {
        accepted = Condition.notAccepted("UnsupportedValue",
            "spec.parentRefs[" + p + "].port: " + parent.getPort() + " of a Service with ports "
                + ports(service) + " (expected: no port, or a Service with one port: jmesh's"
                + " routes apply to all ports of a Service)");
      } else if (parent.getSectionName() != null) {
        accepted = Condition.notAccepted("UnsupportedValue",
            "spec.parentRefs[" + p + "].sectionName: " + parent.getSectionName()
                + " (expected: none; use port)");
      } else if (!unsupported.isEmpty()) {
        accepted = Condition.notAccepted("UnsupportedValue",
            "not supported by jmesh: " + String.join(", ", unsupported));
      } else {
        accepted = Condition.accepted();
        String parentKey = EndpointIndex.key(parentNs, parent.getName());
        // A consumer route's rules are its namespace's, beside (not among) the producer rules.
        Map<String, List<AttachedRule>> byService =
            consumer ? consumerRules.computeIfAbsent(namespace, k -> new LinkedHashMap<>()) : this.rules;
        List<AttachedRule> attached = byService.computeIfAbsent(parentKey, k -> new ArrayList<>());
        String created = route.getMetadata().getCreationTimestamp();
        for (int r = 0; r < rules.size(); r++) {
          Rule rule = rules.get(r);
          for (int m = 0; m < rule.matches().size(); m++) {
            RouteMatch match = rule.matches().get(m);
            String ruleName =
                kind + "/" + namespace + "/" + name + "/"
                    + (rule.name() == null ? "rule-" + r : rule.name())
                    + (rule.matches().size() == 1 ? "" : "/match-" + m);
            attached.add(new AttachedRule(ruleName, match, ruleBackends.get(r), rule.policy(), ruleFilters.get(r),
                rank(match, created == null ? "~" : created, namespace + "/" + name, r, m)));
          }
        }
      }
      out.add(new RouteStatus(parent, List.of(accepted, resolved)));
    }
    statuses.put(key, out);
  }

  /**
   * Whether a backendRef (or a mirror's) names a Service the route may use: a Service of the core
   * group, in the route's namespace or granted by a ReferenceGrant, that exists and has the port.
   * Otherwise adds the problem to {@code problems} and returns its reason ({@code InvalidKind},
   * {@code RefNotPermitted}, {@code BackendNotFound}); {@code null} when it resolves.
   */
  private String resolve(
      RouteStatus.Kind kind, String namespace, String field, String group, String refKind, String ns,
      String name, Integer port, List<String> problems) {
    group = group == null ? "" : group;
    refKind = refKind == null ? "Service" : refKind;
    if (!group.isEmpty() || !refKind.equals("Service")) {
      problems.add(field + ": kind " + refKind + " of group \"" + group + "\" (expected: a Service of the core group)");
      return "InvalidKind";
    }
    if (!ns.equals(namespace) && !grants.allowsService(kind.name(), namespace, ns, name)) {
      // Another namespace's consent is a ReferenceGrant there; without one, refused.
      problems.add(field + ": Service " + ns + "/" + name
          + " in another namespace (expected: a Service in the route's namespace " + namespace
          + ", or a ReferenceGrant in " + ns + " from " + kind.name() + " in " + namespace
          + " to that Service)");
      return "RefNotPermitted";
    }
    Service service = services.get(EndpointIndex.key(ns, name));
    if (service == null) {
      problems.add(field + ": Service " + ns + "/" + name + " not found");
      return "BackendNotFound";
    }
    if (port == null || servicePort(service, port) == null) {
      problems.add(field + ": port " + port + " of Service " + ns + "/" + name + " (expected: one of " + ports(service) + ")");
      return "BackendNotFound";
    }
    return null;
  }

  private static Rank rank(RouteMatch match, String created, String route, int rule, int m) {
    PathMatch path = match.path();
    // Gateway API leaves regular expressions' precedence to implementations: jmesh ranks one as
    // a prefix as long as the expression, so a method-only gRPC match stays above a catch-all.
    int type = path.type() == PathMatch.Type.EXACT ? 0 : 1;
    int length = path.value().length();
    return new Rank(type, length, match.method() != null, match.headers().size(),
        match.queryParams().size(), created, route, rule, m);
  }

  static ServicePort servicePort(Service service, int port) {
    for (ServicePort p : service.getSpec().getPorts()) {
      if (p.getPort() != null && p.getPort() == port) {
        return p;
      }
    }
    return null;
  }

  private static List<Integer> ports(Service service) {
    return service.getSpec().getPorts().stream().map(ServicePort::getPort).toList();
  }
}
