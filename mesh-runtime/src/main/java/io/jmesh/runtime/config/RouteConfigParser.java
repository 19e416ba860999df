package io.jmesh.runtime.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.nodes.Node;

/**
 * Reads a service's {@code routes} in the file-mode YAML: matches (path, headers, method),
 * weighted backends, and the per-route policy (timeout, retry, fault). Thread-safe: holds no state
 * of its own.
 */
final class RouteConfigParser {
  private final ConfigNodes n;
  private final boolean mirrorApplied;

  /** @param mirrorApplied whether to accept a route's mirror ({@link RouteFilters#MIRROR_APPLIED}) */
  RouteConfigParser(ConfigNodes n, boolean mirrorApplied) {
    this.n = n;
    this.mirrorApplied = mirrorApplied;
  }

  static final Set<String> ROUTE_FIELDS =
      ConfigNodes.orderedSet(
          "name", "matches", "backends", "timeout", "retry", "fault", "requestHeaders", "responseHeaders", "rewrite",
          "mirror");

  /**
   * @param namespace the namespace of the route's service: a mirror without one goes to a
   *     service of that namespace
   */
  Route route(Node node, String path, int index, String namespace) throws MeshConfigException {
    Map<String, Node> f = n.fields(node, path, "a route mapping", ROUTE_FIELDS);
    String name = "route-" + index;
    if (f.containsKey("name")) {
      name = n.scalar(f.get("name"), path + ".name", "a route name");
      if (name.isBlank()) {
        throw n.invalid(f.get("name"), path + ".name", "a non-empty route name");
      }
    }
    List<RouteMatch> matches = new ArrayList<>();
    if (f.containsKey("matches")) {
      List<Node> items = n.list(f.get("matches"), path + ".matches", "a list of matches");
      for (int i = 0; i < items.size(); i++) {
        matches.add(match(items.get(i), path + ".matches[" + i + "]"));
      }
    }
    if (matches.isEmpty()) {
      matches.add(RouteMatch.ANY); // as in the Gateway API: no match means prefix "/"
    }
    String backendsExpected = "a non-empty list of backends";
    Node backendsNode = n.required(node, f, path, "backends", backendsExpected);
    List<Node> items = n.list(backendsNode, path + ".backends", backendsExpected);
    if (items.isEmpty()) {
      throw n.error(backendsNode, path + ".backends", "[] (expected: " + backendsExpected + ")");
    }
    List<Backend> backends = new ArrayList<>();
    long sum = 0;
    for (int i = 0; i < items.size(); i++) {
      Backend backend = backend(items.get(i), path + ".backends[" + i + "]");
      sum += backend.weight();
      backends.add(backend);
    }
    if (sum == 0) {
      throw n.error(
          backendsNode,
          path + ".backends",
          "weights sum to 0 (expected: at least one backend with weight >= 1)");
    }
    RouteFilters filters = filters(f, path);
    if (f.containsKey("mirror")) {
      filters = filters.withMirror(mirror(f.get("mirror"), path + ".mirror", namespace));
    }
    if (filters.rewrite().pathType() == UrlRewrite.PathType.PREFIX) {
      for (int i = 0; i < matches.size(); i++) {
        if (matches.get(i).path().type() != PathMatch.Type.PREFIX) {
          throw n.error(
              f.get("rewrite"),
              path + ".rewrite.path.replacePrefix",
              "needs every match to be a path prefix, and matches[" + i + "] is "
                  + matches.get(i).path().type().name().toLowerCase(java.util.Locale.ROOT)
                  + " (expected: path: {prefix: ...} in every match, or replaceFull)");
        }
      }
    }
    refuseUnapplied(f, path, "requestHeaders", !filters.requestHeaders().isNone() && !RouteFilters.REQUEST_HEADERS_APPLIED);
    refuseUnapplied(f, path, "responseHeaders", !filters.responseHeaders().isNone() && !RouteFilters.RESPONSE_HEADERS_APPLIED);
    refuseUnapplied(f, path, "rewrite", !filters.rewrite().isNone() && !RouteFilters.REWRITE_APPLIED);
    refuseUnapplied(f, path, "mirror", filters.mirror() != null && !mirrorApplied);
    return new Route(name, matches, backends, routePolicy(f, path), filters);
  }

  private static final Set<String> MATCH_FIELDS = ConfigNodes.orderedSet("path", "headers", "method", "queryParams");

  RouteMatch match(Node node, String path) throws MeshConfigException {
    Map<String, Node> f = n.fields(node, path, "a match mapping", MATCH_FIELDS);
    PathMatch pathMatch = PathMatch.ANY;
    if (f.containsKey("path")) {
      pathMatch = pathMatch(f.get("path"), path + ".path");
    }
    List<HeaderMatch> headers = new ArrayList<>();
    if (f.containsKey("headers")) {
      List<Node> items = n.list(f.get("headers"), path + ".headers", "a list of header matches");
      for (int i = 0; i < items.size(); i++) {
        headers.add(headerMatch(items.get(i), path + ".headers[" + i + "]"));
      }
    }
    String method = null;
    if (f.containsKey("method")) {
      method = n.scalar(f.get("method"), path + ".method", "an HTTP method such as GET");
      if (!MeshSyntax.TOKEN.matcher(method).matches()) {
        throw n.invalid(f.get("method"), path + ".method", "an HTTP method such as GET");
      }
    }
    List<QueryParamMatch> queryParams = new ArrayList<>();
    if (f.containsKey("queryParams")) {
      List<Node> items = n.list(f.get("queryParams"), path + ".queryParams", "a list of query parameter matches");
      for (int i = 0; i < items.size(); i++) {
        queryParams.add(queryParamMatch(items.get(i), path + ".queryParams[" + i + "]"));
      }
    }
    return new RouteMatch(pathMatch, headers, method, queryParams);
  }

  QueryParamMatch queryParamMatch(Node node, String path) throws MeshConfigException {
    Map<String, Node> f = n.fields(node, path, "a query parameter match mapping", HEADER_FIELDS);
    Node nameNode = n.required(node, f, path, "name", "a query parameter name");
    String name = n.scalar(nameNode, path + ".name", "a query parameter name");
    if (name.isEmpty()) {
      throw n.invalid(nameNode, path + ".name", "a non-empty query parameter name");
    }
    if (f.containsKey("value") == f.containsKey("regex")) {
      throw n.error(node, path, "needs exactly one of 'value' or 'regex' (expected: {name, value} or {name, regex})");
    }
    if (f.containsKey("regex")) {
      return QueryParamMatch.regex(name, n.regex(f.get("regex"), path + ".regex"));
    }
    return QueryParamMatch.exact(name, n.scalar(f.get("value"), path + ".value", "a query parameter value"));
  }

  private static final Set<String> PATH_FIELDS = ConfigNodes.orderedSet("prefix", "exact", "regex");

  PathMatch pathMatch(Node node, String path) throws MeshConfigException {
    String expected = "exactly one of: prefix, exact, regex";
    Map<String, Node> f = n.fields(node, path, "a mapping with " + expected, PATH_FIELDS);
    if (f.size() != 1) {
      throw n.error(node, path, ConfigNodes.describe(node) + " (expected: " + expected + ")");
    }
    Map.Entry<String, Node> e = f.entrySet().iterator().next();
    String fieldPath = path + "." + e.getKey();
    switch (e.getKey()) {
      case "regex":
        return PathMatch.regex(n.regex(e.getValue(), fieldPath));
      case "exact":
        return PathMatch.exact(n.absolutePath(e.getValue(), fieldPath));
      default:
        return PathMatch.prefix(n.absolutePath(e.getValue(), fieldPath));
    }
  }

  private static final Set<String> HEADER_FIELDS = ConfigNodes.orderedSet("name", "value", "regex");

  HeaderMatch headerMatch(Node node, String path) throws MeshConfigException {
    Map<String, Node> f = n.fields(node, path, "a header match mapping", HEADER_FIELDS);
    Node nameNode = n.required(node, f, path, "name", "a header name");
    String name = n.scalar(nameNode, path + ".name", "a header name");
    if (!MeshSyntax.TOKEN.matcher(name).matches()) {
      throw n.invalid(nameNode, path + ".name", "a header name");
    }
    if (f.containsKey("value") == f.containsKey("regex")) {
      throw n.error(node, path, "needs exactly one of 'value' or 'regex' (expected: {name, value} or {name, regex})");
    }
    if (f.containsKey("regex")) {
      return HeaderMatch.regex(name, n.regex(f.get("regex"), path + ".regex"));
    }
    return HeaderMatch.exact(name, n.scalar(f.get("value"), path + ".value", "a header value"));
  }

  private static final Set<String> BACKEND_FIELDS = ConfigNodes.orderedSet("subset", "weight");

  Backend backend(Node node, String path) throws MeshConfigException {
    Map<String, Node> f = n.fields(node, path, "a backend mapping", BACKEND_FIELDS);
    Map<String, String> subset = Map.of();
    if (f.containsKey("subset")) {
      subset = n.stringMap(f.get("subset"), path + ".subset", "a mapping of label names to values");
    }
    int weight = 1;
    if (f.containsKey("weight")) {
      weight = n.integer(f.get("weight"), path + ".weight", 0, Integer.MAX_VALUE, "an integer >= 0");
    }
    return new Backend(subset, weight);
  }

  // ---- The route's filters: header edits and URL rewrite.

  RouteFilters filters(Map<String, Node> f, String path) throws MeshConfigException {
    HeaderModifier request = HeaderModifier.NONE;
    if (f.containsKey("requestHeaders")) {
      request = headerModifier(f.get("requestHeaders"), path + ".requestHeaders");
    }
    HeaderModifier response = HeaderModifier.NONE;
    if (f.containsKey("responseHeaders")) {
      response = headerModifier(f.get("responseHeaders"), path + ".responseHeaders");
    }
    UrlRewrite rewrite = UrlRewrite.NONE;
    if (f.containsKey("rewrite")) {
      rewrite = rewrite(f.get("rewrite"), path + ".rewrite");
    }
    return new RouteFilters(request, response, rewrite);
  }

  // Checked last, so a malformed filter is reported as such; then refused while the clients do not apply it.
  private void refuseUnapplied(Map<String, Node> f, String path, String field, boolean refused)
      throws MeshConfigException {
    if (refused) {
      throw n.error(
          f.get(field),
          path + "." + field,
          RouteFilters.NOT_APPLIED + " (expected: no " + field + " on a route until they apply it)");
    }
  }

  private static final Set<String> MIRROR_FIELDS = ConfigNodes.orderedSet("service", "namespace", "percent");

  RequestMirror mirror(Node node, String path, String namespace) throws MeshConfigException {
    Map<String, Node> f = n.fields(node, path, "a mirror mapping", MIRROR_FIELDS);
    String expectedName = "a service name (DNS label)";
    Node serviceNode = n.required(node, f, path, "service", expectedName);
    String service = n.scalar(serviceNode, path + ".service", expectedName);
    if (!MeshSyntax.DNS_LABEL.matcher(service).matches()) {
      throw n.invalid(serviceNode, path + ".service", expectedName);
    }
    String ns = namespace;
    if (f.containsKey("namespace")) {
      ns = n.scalar(f.get("namespace"), path + ".namespace", "a namespace (DNS label)");
      if (!MeshSyntax.DNS_LABEL.matcher(ns).matches()) {
        throw n.invalid(f.get("namespace"), path + ".namespace", "a namespace (DNS label)");
      }
    }
    double percent = 100;
    if (f.containsKey("percent")) {
      percent = n.percent(f.get("percent"), path + ".percent");
    }
    return new RequestMirror(service, ns, percent);
  }

  private static final Set<String> MODIFIER_FIELDS = ConfigNodes.orderedSet("set", "add", "remove");
  private static final String HEADER_VALUES = "a mapping of header names to values";

  HeaderModifier headerModifier(Node node, String path) throws MeshConfigException {
    Map<String, Node> f = n.fields(node, path, "a header edit mapping", MODIFIER_FIELDS);
    java.util.Set<String> seen = new java.util.HashSet<>();
    List<HeaderModifier.Header> set = headers(f.get("set"), path + ".set", seen);
    List<HeaderModifier.Header> add = headers(f.get("add"), path + ".add", seen);
    List<String> remove = new ArrayList<>();
    if (f.containsKey("remove")) {
      List<Node> items = n.list(f.get("remove"), path + ".remove", "a list of header names");
      for (int i = 0; i < items.size(); i++) {
        String itemPath = path + ".remove[" + i + "]";
        String name = headerName(items.get(i), itemPath, seen);
        remove.add(name);
      }
    }
    return new HeaderModifier(set, add, remove);
  }

  private List<HeaderModifier.Header> headers(Node node, String path, java.util.Set<String> seen)
      throws MeshConfigException {
    List<HeaderModifier.Header> out = new ArrayList<>();
    if (node == null) {
      return out;
    }
    if (!(node instanceof org.yaml.snakeyaml.nodes.MappingNode mapping)) {
      throw n.invalid(node, path, HEADER_VALUES);
    }
    for (org.yaml.snakeyaml.nodes.NodeTuple t : mapping.getValue()) {
      String name = headerName(t.getKeyNode(), path, seen);
      String valuePath = path + "." + name;
      String value = n.scalar(t.getValueNode(), valuePath, "a header value");
      if (HeaderModifier.badValueChar(value) >= 0) {
        throw n.invalid(
            t.getValueNode(), valuePath, "a header value of " + HeaderModifier.VALUE_EXPECTED);
      }
      out.add(new HeaderModifier.Header(name, value));
    }
    return out;
  }

  private String headerName(Node node, String path, java.util.Set<String> seen) throws MeshConfigException {
    String name = n.scalar(node, path, "a header name");
    if (!MeshSyntax.TOKEN.matcher(name).matches()) {
      throw n.invalid(node, path, "a header name");
    }
    String notEditable = HeaderModifier.notEditable(name);
    if (notEditable != null) {
      throw n.error(node, path, "header '" + name + "' is not editable by a route (expected: " + notEditable + ")");
    }
    if (!seen.add(name.toLowerCase(java.util.Locale.ROOT))) {
      throw n.error(node, path, "header '" + name + "' edited twice (expected: each name once across set, add and remove)");
    }
    return name;
  }

  private static final Set<String> REWRITE_FIELDS = ConfigNodes.orderedSet("hostname", "path");
  private static final Set<String> REWRITE_PATH_FIELDS = ConfigNodes.orderedSet("replaceFull", "replacePrefix");

  UrlRewrite rewrite(Node node, String path) throws MeshConfigException {
    Map<String, Node> f = n.fields(node, path, "a rewrite mapping with hostname and/or path", REWRITE_FIELDS);
    if (f.isEmpty()) {
      throw n.error(node, path, "{} (expected: hostname, path or both)");
    }
    String hostname = null;
    if (f.containsKey("hostname")) {
      hostname = n.scalar(f.get("hostname"), path + ".hostname", "a DNS host name");
      if (!MeshSyntax.DNS_SUBDOMAIN.matcher(hostname).matches()) {
        throw n.invalid(f.get("hostname"), path + ".hostname", "a DNS host name in lower case, such as hello.default");
      }
    }
    UrlRewrite.PathType type = null;
    String value = null;
    if (f.containsKey("path")) {
      String p = path + ".path";
      String expected = "exactly one of: replaceFull, replacePrefix";
      Map<String, Node> pf = n.fields(f.get("path"), p, "a mapping with " + expected, REWRITE_PATH_FIELDS);
      if (pf.size() != 1) {
        throw n.error(f.get("path"), p, ConfigNodes.describe(f.get("path")) + " (expected: " + expected + ")");
      }
      Map.Entry<String, Node> e = pf.entrySet().iterator().next();
      type = e.getKey().equals("replaceFull") ? UrlRewrite.PathType.FULL : UrlRewrite.PathType.PREFIX;
      value = n.absolutePath(e.getValue(), p + "." + e.getKey());
      if (value.indexOf('?') >= 0 || value.indexOf('#') >= 0) {
        throw n.invalid(e.getValue(), p + "." + e.getKey(), "a path without query or fragment");
      }
    }
    return new UrlRewrite(hostname, type, value);
  }

  // ---- The route's policy: timeout, retries, faults.

  RoutePolicy routePolicy(Map<String, Node> f, String path) throws MeshConfigException {
    Duration timeout = null;
    if (f.containsKey("timeout")) {
      timeout = n.duration(f.get("timeout"), path + ".timeout");
    }
    RoutePolicy.Retry retry = RoutePolicy.Retry.DEFAULT;
    if (f.containsKey("retry")) {
      retry = retry(f.get("retry"), path + ".retry");
    }
    RoutePolicy.Fault fault = RoutePolicy.Fault.NONE;
    if (f.containsKey("fault")) {
      fault = fault(f.get("fault"), path + ".fault");
    }
    return new RoutePolicy(timeout, retry, fault);
  }

  private static final Set<String> RETRY_FIELDS =
      ConfigNodes.orderedSet("attempts", "perTryTimeout", "on", "nonIdempotent", "backoff", "maxReplayBytes");
  private static final Set<String> BACKOFF_FIELDS = ConfigNodes.orderedSet("base", "max");
  private static final String RETRY_ON =
      "a list of " + MeshSyntax.RETRY_CONNECT_FAILURE + ", " + MeshSyntax.RETRY_RESET
          + ", HTTP statuses 100..599 and " + GrpcRetryConditions.EXPECTED;

  RoutePolicy.Retry retry(Node node, String path) throws MeshConfigException {
    Map<String, Node> f = n.fields(node, path, "a retry mapping", RETRY_FIELDS);
    RoutePolicy.Retry d = RoutePolicy.Retry.DEFAULT;
    int attempts = d.attempts();
    if (f.containsKey("attempts")) {
      attempts = n.integer(f.get("attempts"), path + ".attempts", 1, 10, "an integer in 1..10 (1 turns retries off)");
    }
    Duration perTry = null;
    if (f.containsKey("perTryTimeout")) {
      perTry = n.duration(f.get("perTryTimeout"), path + ".perTryTimeout");
    }
    boolean connect = d.onConnectFailure();
    boolean reset = d.onReset();
    Set<Integer> statuses = d.onStatus();
    Set<Integer> grpc = d.onGrpcStatus();
    if (f.containsKey("on")) {
      connect = false;
      reset = false;
      statuses = new java.util.TreeSet<>();
      grpc = new java.util.TreeSet<>();
      List<Node> items = n.list(f.get("on"), path + ".on", RETRY_ON);
      for (int i = 0; i < items.size(); i++) {
        String itemPath = path + ".on[" + i + "]";
        String value = n.scalar(items.get(i), itemPath, RETRY_ON);
        if (value.equals(MeshSyntax.RETRY_CONNECT_FAILURE)) {
          connect = true;
        } else if (value.equals(MeshSyntax.RETRY_RESET)) {
          reset = true;
        } else if (GrpcRetryConditions.code(value) >= 0) {
          grpc.add(GrpcRetryConditions.code(value));
        } else {
          statuses.add(n.integer(items.get(i), itemPath, 100, 599, RETRY_ON));
        }
      }
    }
    boolean nonIdempotent = false;
    if (f.containsKey("nonIdempotent")) {
      nonIdempotent = n.bool(f.get("nonIdempotent"), path + ".nonIdempotent");
    }
    Duration base = d.backoffBase();
    Duration max = d.backoffMax();
    if (f.containsKey("backoff")) {
      String backoffPath = path + ".backoff";
      Map<String, Node> b = n.fields(f.get("backoff"), backoffPath, "a backoff mapping", BACKOFF_FIELDS);
      if (b.containsKey("base")) {
        base = n.duration(b.get("base"), backoffPath + ".base");
      }
      if (b.containsKey("max")) {
        max = n.duration(b.get("max"), backoffPath + ".max");
      }
      if (max.compareTo(base) < 0) {
        throw n.error(
            b.getOrDefault("max", f.get("backoff")),
            backoffPath + ".max",
            ConfigNodes.format(max) + " (expected: at least the base, " + ConfigNodes.format(base) + ")");
      }
    }
    int maxReplay = d.maxReplayBytes();
    if (f.containsKey("maxReplayBytes")) {
      maxReplay =
          n.integer(f.get("maxReplayBytes"), path + ".maxReplayBytes", 0, 16 * 1024 * 1024, "an integer of bytes in 0..16777216");
    }
    return new RoutePolicy.Retry(attempts, perTry, connect, reset, statuses, nonIdempotent, base, max, maxReplay, grpc);
  }

  private static final Set<String> FAULT_FIELDS = ConfigNodes.orderedSet("abort", "delay");
  private static final Set<String> ABORT_FIELDS = ConfigNodes.orderedSet("percent", "status");
  private static final Set<String> DELAY_FIELDS = ConfigNodes.orderedSet("percent", "duration");

  RoutePolicy.Fault fault(Node node, String path) throws MeshConfigException {
    Map<String, Node> f = n.fields(node, path, "a fault mapping", FAULT_FIELDS);
    double abortPercent = 0;
    int abortStatus = 503;
    if (f.containsKey("abort")) {
      String p = path + ".abort";
      Map<String, Node> a = n.fields(f.get("abort"), p, "an abort mapping", ABORT_FIELDS);
      abortPercent = n.percent(n.required(f.get("abort"), a, p, "percent", "a percentage in 0..100"), p + ".percent");
      abortStatus = n.integer(n.required(f.get("abort"), a, p, "status", "an HTTP status in 100..599"), p + ".status", 100, 599, "an HTTP status in 100..599");
    }
    double delayPercent = 0;
    Duration delay = Duration.ZERO;
    if (f.containsKey("delay")) {
      String p = path + ".delay";
      Map<String, Node> dl = n.fields(f.get("delay"), p, "a delay mapping", DELAY_FIELDS);
      delayPercent = n.percent(n.required(f.get("delay"), dl, p, "percent", "a percentage in 0..100"), p + ".percent");
      delay = n.duration(n.required(f.get("delay"), dl, p, "duration", "a duration such as 100ms"), p + ".duration");
    }
    return new RoutePolicy.Fault(abortPercent, abortStatus, delayPercent, delay);
  }
}
