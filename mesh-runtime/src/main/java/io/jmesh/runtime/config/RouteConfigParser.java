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

  RouteConfigParser(ConfigNodes n) {
    this.n = n;
  }

  static final Set<String> ROUTE_FIELDS =
      ConfigNodes.orderedSet("name", "matches", "backends", "timeout", "retry", "fault");

  Route route(Node node, String path, int index) throws MeshConfigException {
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
    return new Route(name, matches, backends, routePolicy(f, path));
  }

  private static final Set<String> MATCH_FIELDS = ConfigNodes.orderedSet("path", "headers", "method");

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
    return new RouteMatch(pathMatch, headers, method);
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
