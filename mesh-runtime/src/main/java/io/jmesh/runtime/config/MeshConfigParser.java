package io.jmesh.runtime.config;

import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.security.NoSuchAlgorithmException;
import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.inbound.AuthorizationPolicy;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Parses the file-mode YAML (schema in {@code mesh-runtime/README.md}) into a {@link
 * MeshSnapshot}, or fails with a {@link MeshConfigException} that names the source, the line, the
 * field path, the bad value and what was expected. Unknown fields are errors, never ignored.
 *
 * <p>Works on SnakeYAML's node tree (not on maps) so that every value keeps its position in the
 * file. Stops at the first error. Thread-safe: holds no state.
 */
public final class MeshConfigParser {

  private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
  private static final Pattern SERVICE_NAME = Pattern.compile("[a-z]([-a-z0-9]{0,61}[a-z0-9])?");
  private static final Pattern INTEGER = Pattern.compile("[-+]?[0-9]+");
  private static final Pattern TOKEN = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");
  // RFC 9110 tokens without lower case: methods are case-sensitive and every standard one is
  // upper case, so a lower-case "get" in a policy is a mistake that would never match.
  private static final Pattern UPPER_TOKEN = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Z-]+");
  // Kubernetes service account names are DNS subdomains.
  private static final Pattern DNS_SUBDOMAIN =
      Pattern.compile("(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  private static final String SPIFFE_EXPECTED =
      "a SPIFFE id, spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>";

  private MeshConfigParser() {}

  /** Reads and parses {@code file}; the snapshot version is a hash of its content. */
  public static MeshSnapshot parse(Path file, String defaultNamespace)
      throws IOException, MeshConfigException {
    return parse(file.toString(), Files.readString(file, StandardCharsets.UTF_8), defaultNamespace);
  }

  /**
   * Parses {@code yaml}; {@code source} names it in error messages. Services without a namespace
   * get {@code defaultNamespace}. The snapshot version is a hash of {@code yaml}.
   */
  public static MeshSnapshot parse(String source, String yaml, String defaultNamespace)
      throws MeshConfigException {
    Node root;
    try {
      root = new Yaml(new LoaderOptions()).compose(new StringReader(yaml));
    } catch (MarkedYAMLException e) {
      Mark mark = e.getProblemMark() != null ? e.getProblemMark() : e.getContextMark();
      int line = mark == null ? 1 : mark.getLine() + 1;
      String problem = e.getProblem() != null ? e.getProblem() : e.getMessage();
      String context = e.getContext() == null ? "" : " (" + e.getContext() + ")";
      throw new MeshConfigException(source, line, "invalid YAML: " + problem + context);
    } catch (YAMLException e) {
      throw new MeshConfigException(source, 1, "invalid YAML: " + e.getMessage());
    }
    return new Reader(source, defaultNamespace).snapshot(root, version(yaml));
  }

  /** A short content hash: equal files give equal versions. */
  static String version(String content) {
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256").digest(content.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest, 0, 6);
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError("SHA-256 is required of every JVM", e);
    }
  }

  /** Walks the node tree of one document; keeps the source name for errors. */
  private static final class Reader {
    private final String source;
    private final String defaultNamespace;

    Reader(String source, String defaultNamespace) {
      this.source = source;
      this.defaultNamespace = defaultNamespace;
    }

    MeshSnapshot snapshot(Node root, String version) throws MeshConfigException {
      if (root == null) {
        // An empty file is more likely a truncated write than an intent to remove every service;
        // `services: []` says that explicitly.
        throw new MeshConfigException(
            source, 1, "empty document (expected: a mapping with the field 'services')");
      }
      Map<String, Node> fields =
          fields(root, "(root)", "a mapping with the field 'services'", Set.of("services"));
      Node servicesNode = required(root, fields, "(root)", "services", "a list of services");
      List<Node> items = list(servicesNode, "services", "a list of services");
      List<Service> services = new ArrayList<>();
      Map<String, Node> seen = new LinkedHashMap<>();
      for (int i = 0; i < items.size(); i++) {
        String path = "services[" + i + "]";
        Service service = service(items.get(i), path);
        Node previous = seen.putIfAbsent(service.qualifiedName(), items.get(i));
        if (previous != null) {
          Node nameNode = fields(items.get(i), path, "", SERVICE_FIELDS).get("name");
          throw error(
              nameNode,
              path + ".name",
              service.name()
                  + " (expected: a service name not yet declared in namespace "
                  + service.namespace()
                  + "; first declared at line "
                  + line(previous)
                  + ")");
        }
        services.add(service);
      }
      return new MeshSnapshot(version, services);
    }

    private static final Set<String> SERVICE_FIELDS =
        orderedSet(
            "name", "namespace", "ports", "endpoints", "routes", "policy", "identities", "authorization");

    Service service(Node node, String path) throws MeshConfigException {
      Map<String, Node> f = fields(node, path, "a service mapping", SERVICE_FIELDS);
      String name =
          matching(
              required(node, f, path, "name", "a service name"),
              path + ".name",
              SERVICE_NAME,
              "a DNS label: lower-case letters, digits and '-', starting with a letter, at most 63"
                  + " characters");
      String namespace = defaultNamespace;
      if (f.containsKey("namespace")) {
        namespace =
            matching(
                f.get("namespace"),
                path + ".namespace",
                DNS_LABEL,
                "a DNS label: lower-case letters, digits and '-', at most 63 characters");
      }
      String portsExpected = "a non-empty list of ports, each an integer in 1..65535";
      Node portsNode = required(node, f, path, "ports", portsExpected);
      List<Node> portNodes = list(portsNode, path + ".ports", portsExpected);
      if (portNodes.isEmpty()) {
        throw error(portsNode, path + ".ports", "[] (expected: " + portsExpected + ")");
      }
      List<Integer> ports = new ArrayList<>();
      for (int i = 0; i < portNodes.size(); i++) {
        ports.add(port(portNodes.get(i), path + ".ports[" + i + "]"));
      }
      List<ServiceEndpoint> endpoints = new ArrayList<>();
      if (f.containsKey("endpoints")) {
        List<Node> items = list(f.get("endpoints"), path + ".endpoints", "a list of endpoints");
        for (int i = 0; i < items.size(); i++) {
          endpoints.add(endpoint(items.get(i), path + ".endpoints[" + i + "]"));
        }
      }
      List<Route> routes = new ArrayList<>();
      if (f.containsKey("routes")) {
        List<Node> items = list(f.get("routes"), path + ".routes", "a list of routes");
        Map<String, Integer> names = new LinkedHashMap<>();
        for (int i = 0; i < items.size(); i++) {
          String routePath = path + ".routes[" + i + "]";
          Route route = route(items.get(i), routePath, i);
          Integer previous = names.putIfAbsent(route.name(), i);
          if (previous != null) {
            Node nameNode = fields(items.get(i), routePath, "", ROUTE_FIELDS).get("name");
            throw error(
                nameNode,
                routePath + ".name",
                route.name()
                    + " (expected: a route name unique in the service; already used by routes["
                    + previous
                    + "])");
          }
          routes.add(route);
        }
      }
      DestinationPolicy policy = DestinationPolicy.DEFAULT;
      if (f.containsKey("policy")) {
        policy = destinationPolicy(f.get("policy"), path + ".policy");
      }
      List<SpiffeId> identities = new ArrayList<>();
      if (f.containsKey("identities")) {
        String expected =
            "a non-empty list of SPIFFE ids, spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>";
        List<Node> items = list(f.get("identities"), path + ".identities", expected);
        if (items.isEmpty()) {
          throw error(f.get("identities"), path + ".identities", "[] (expected: " + expected + ")");
        }
        for (int i = 0; i < items.size(); i++) {
          String itemPath = path + ".identities[" + i + "]";
          String value = scalar(items.get(i), itemPath, expected);
          try {
            identities.add(SpiffeId.parse(value));
          } catch (IllegalArgumentException e) {
            throw error(items.get(i), itemPath, e.getMessage());
          }
        }
      }
      String qualified = name + "." + namespace;
      AuthorizationPolicy authorization = AuthorizationPolicy.allAuthenticated(qualified);
      if (f.containsKey("authorization")) {
        authorization = authorization(f.get("authorization"), path + ".authorization", qualified);
      }
      return new Service(name, namespace, ports, endpoints, routes, policy, identities, authorization);
    }

    // ---- Authorization: who may call the service's workloads (their inbound side).

    private static final Set<String> AUTHORIZATION_FIELDS = orderedSet("mode", "default", "rules");
    private static final Set<String> RULE_FIELDS =
        orderedSet(
            "name", "action", "identities", "namespaces", "serviceAccounts", "pathPrefix", "methods");

    AuthorizationPolicy authorization(Node node, String path, String qualifiedName)
        throws MeshConfigException {
      Map<String, Node> f = fields(node, path, "an authorization mapping", AUTHORIZATION_FIELDS);
      AuthorizationPolicy.Mode mode = AuthorizationPolicy.Mode.ENFORCE;
      if (f.containsKey("mode")) {
        String value = scalar(f.get("mode"), path + ".mode", "enforce or audit");
        mode =
            switch (value) {
              case "enforce" -> AuthorizationPolicy.Mode.ENFORCE;
              case "audit" -> AuthorizationPolicy.Mode.AUDIT;
              default -> throw invalid(f.get("mode"), path + ".mode", "enforce or audit");
            };
      }
      AuthorizationPolicy.Default fallback = AuthorizationPolicy.Default.ALL_AUTHENTICATED;
      if (f.containsKey("default")) {
        String expected = "one of all-authenticated, all, deny";
        String value = scalar(f.get("default"), path + ".default", expected);
        fallback =
            switch (value) {
              case "all-authenticated" -> AuthorizationPolicy.Default.ALL_AUTHENTICATED;
              case "all" -> AuthorizationPolicy.Default.ALL;
              case "deny" -> AuthorizationPolicy.Default.DENY;
              default -> throw invalid(f.get("default"), path + ".default", expected);
            };
      }
      List<AuthorizationPolicy.Rule> rules = new ArrayList<>();
      if (f.containsKey("rules")) {
        List<Node> items = list(f.get("rules"), path + ".rules", "a list of rules");
        Map<String, Integer> names = new LinkedHashMap<>();
        for (int i = 0; i < items.size(); i++) {
          String rulePath = path + ".rules[" + i + "]";
          AuthorizationPolicy.Rule rule = rule(items.get(i), rulePath);
          Integer previous = names.putIfAbsent(rule.name(), i);
          if (previous != null) {
            Node nameNode = fields(items.get(i), rulePath, "", RULE_FIELDS).get("name");
            throw error(
                nameNode,
                rulePath + ".name",
                rule.name()
                    + " (expected: a rule name unique in the policy; already used by rules["
                    + previous
                    + "])");
          }
          rules.add(rule);
        }
      }
      return new AuthorizationPolicy(qualifiedName, mode, fallback, rules);
    }

    AuthorizationPolicy.Rule rule(Node node, String path) throws MeshConfigException {
      Map<String, Node> f = fields(node, path, "a rule mapping", RULE_FIELDS);
      // Required: a denial names the rule that decided it, so an invented name would mislead.
      String name =
          matching(
              required(node, f, path, "name", "a rule name"),
              path + ".name",
              TOKEN,
              "a rule name: letters, digits and - . _ (no spaces or '/')");
      String actionExpected = "allow or deny";
      String action =
          scalar(required(node, f, path, "action", actionExpected), path + ".action", actionExpected);
      if (!action.equals("allow") && !action.equals("deny")) {
        throw invalid(f.get("action"), path + ".action", actionExpected);
      }
      List<SpiffeId> identities = new ArrayList<>();
      if (f.containsKey("identities")) {
        for (Map.Entry<String, Node> e :
            nonEmptyList(f.get("identities"), path + ".identities", "a non-empty list of SPIFFE ids").entrySet()) {
          String value = scalar(e.getValue(), e.getKey(), SPIFFE_EXPECTED);
          try {
            identities.add(SpiffeId.parse(value));
          } catch (IllegalArgumentException ex) {
            throw error(e.getValue(), e.getKey(), ex.getMessage());
          }
        }
      }
      List<String> namespaces = new ArrayList<>();
      if (f.containsKey("namespaces")) {
        String expected = "a namespace: a DNS label (lower-case letters, digits and '-')";
        for (Map.Entry<String, Node> e :
            nonEmptyList(f.get("namespaces"), path + ".namespaces", "a non-empty list of namespaces").entrySet()) {
          namespaces.add(matching(e.getValue(), e.getKey(), DNS_LABEL, expected));
        }
      }
      List<String> serviceAccounts = new ArrayList<>();
      if (f.containsKey("serviceAccounts")) {
        String expected =
            "a service account name: a DNS subdomain (lower-case letters, digits, '-' and '.')";
        for (Map.Entry<String, Node> e :
            nonEmptyList(f.get("serviceAccounts"), path + ".serviceAccounts", "a non-empty list of service account names").entrySet()) {
          serviceAccounts.add(matching(e.getValue(), e.getKey(), DNS_SUBDOMAIN, expected));
        }
      }
      if (identities.isEmpty() && namespaces.isEmpty() && serviceAccounts.isEmpty()) {
        // A rule that names no caller would never match: surely not what was meant.
        throw error(
            node,
            path,
            "names no caller (expected: at least one of identities, namespaces, serviceAccounts)");
      }
      String pathPrefix = null;
      if (f.containsKey("pathPrefix")) {
        pathPrefix = absolutePath(f.get("pathPrefix"), path + ".pathPrefix");
      }
      List<String> methods = new ArrayList<>();
      if (f.containsKey("methods")) {
        String expected = "an upper-case HTTP method such as GET, or TCP for opaque connections";
        for (Map.Entry<String, Node> e :
            nonEmptyList(f.get("methods"), path + ".methods", "a non-empty list of methods").entrySet()) {
          String method = matching(e.getValue(), e.getKey(), UPPER_TOKEN, expected);
          if (method.equals("TCP") && pathPrefix != null) {
            throw error(
                e.getValue(),
                e.getKey(),
                "TCP (expected: no TCP together with pathPrefix: an opaque connection has no path,"
                    + " so the rule could never match it)");
          }
          methods.add(method);
        }
      }
      return new AuthorizationPolicy.Rule(
          name, action.equals("allow"), identities, namespaces, serviceAccounts, pathPrefix, methods);
    }

    /** The items of a non-empty list, keyed by their field path ({@code path[i]}), in order. */
    Map<String, Node> nonEmptyList(Node node, String path, String expected)
        throws MeshConfigException {
      List<Node> items = list(node, path, expected);
      if (items.isEmpty()) {
        throw error(node, path, "[] (expected: " + expected + ")");
      }
      Map<String, Node> out = new LinkedHashMap<>();
      for (int i = 0; i < items.size(); i++) {
        out.put(path + "[" + i + "]", items.get(i));
      }
      return out;
    }

    private static final Set<String> ENDPOINT_FIELDS =
        orderedSet("address", "port", "weight", "labels", "priority");

    ServiceEndpoint endpoint(Node node, String path) throws MeshConfigException {
      Map<String, Node> f = fields(node, path, "an endpoint mapping", ENDPOINT_FIELDS);
      Node addressNode = required(node, f, path, "address", "a host name or IP address");
      String address = scalar(addressNode, path + ".address", "a host name or IP address");
      if (address.isBlank() || address.chars().anyMatch(c -> c <= ' ' || c == '/')) {
        throw invalid(addressNode, path + ".address", "a host name or IP address");
      }
      int port = port(required(node, f, path, "port", "an integer in 1..65535"), path + ".port");
      int weight = 1;
      if (f.containsKey("weight")) {
        weight = integer(f.get("weight"), path + ".weight", 1, Integer.MAX_VALUE, "an integer >= 1");
      }
      Map<String, String> labels = Map.of();
      if (f.containsKey("labels")) {
        labels = stringMap(f.get("labels"), path + ".labels", "a mapping of label names to values");
      }
      int priority =
          f.containsKey("priority")
              ? integer(f.get("priority"), path + ".priority", 0, 1000, "an integer in 0..1000 (0: the highest)")
              : 0;
      return new ServiceEndpoint(address, port, weight, labels, priority);
    }

    private static final Set<String> ROUTE_FIELDS =
        orderedSet("name", "matches", "backends", "timeout", "retry", "fault");

    Route route(Node node, String path, int index) throws MeshConfigException {
      Map<String, Node> f = fields(node, path, "a route mapping", ROUTE_FIELDS);
      String name = "route-" + index;
      if (f.containsKey("name")) {
        name = scalar(f.get("name"), path + ".name", "a route name");
        if (name.isBlank()) {
          throw invalid(f.get("name"), path + ".name", "a non-empty route name");
        }
      }
      List<RouteMatch> matches = new ArrayList<>();
      if (f.containsKey("matches")) {
        List<Node> items = list(f.get("matches"), path + ".matches", "a list of matches");
        for (int i = 0; i < items.size(); i++) {
          matches.add(match(items.get(i), path + ".matches[" + i + "]"));
        }
      }
      if (matches.isEmpty()) {
        matches.add(RouteMatch.ANY); // as in the Gateway API: no match means prefix "/"
      }
      String backendsExpected = "a non-empty list of backends";
      Node backendsNode = required(node, f, path, "backends", backendsExpected);
      List<Node> items = list(backendsNode, path + ".backends", backendsExpected);
      if (items.isEmpty()) {
        throw error(backendsNode, path + ".backends", "[] (expected: " + backendsExpected + ")");
      }
      List<Backend> backends = new ArrayList<>();
      long sum = 0;
      for (int i = 0; i < items.size(); i++) {
        Backend backend = backend(items.get(i), path + ".backends[" + i + "]");
        sum += backend.weight();
        backends.add(backend);
      }
      if (sum == 0) {
        throw error(
            backendsNode,
            path + ".backends",
            "weights sum to 0 (expected: at least one backend with weight >= 1)");
      }
      return new Route(name, matches, backends, routePolicy(f, path));
    }

    private static final Set<String> MATCH_FIELDS = orderedSet("path", "headers", "method");

    RouteMatch match(Node node, String path) throws MeshConfigException {
      Map<String, Node> f = fields(node, path, "a match mapping", MATCH_FIELDS);
      PathMatch pathMatch = PathMatch.ANY;
      if (f.containsKey("path")) {
        pathMatch = pathMatch(f.get("path"), path + ".path");
      }
      List<HeaderMatch> headers = new ArrayList<>();
      if (f.containsKey("headers")) {
        List<Node> items = list(f.get("headers"), path + ".headers", "a list of header matches");
        for (int i = 0; i < items.size(); i++) {
          headers.add(headerMatch(items.get(i), path + ".headers[" + i + "]"));
        }
      }
      String method = null;
      if (f.containsKey("method")) {
        method = scalar(f.get("method"), path + ".method", "an HTTP method such as GET");
        if (!TOKEN.matcher(method).matches()) {
          throw invalid(f.get("method"), path + ".method", "an HTTP method such as GET");
        }
      }
      return new RouteMatch(pathMatch, headers, method);
    }

    private static final Set<String> PATH_FIELDS = orderedSet("prefix", "exact", "regex");

    PathMatch pathMatch(Node node, String path) throws MeshConfigException {
      String expected = "exactly one of: prefix, exact, regex";
      Map<String, Node> f = fields(node, path, "a mapping with " + expected, PATH_FIELDS);
      if (f.size() != 1) {
        throw error(node, path, describe(node) + " (expected: " + expected + ")");
      }
      Map.Entry<String, Node> e = f.entrySet().iterator().next();
      String fieldPath = path + "." + e.getKey();
      switch (e.getKey()) {
        case "regex":
          return PathMatch.regex(regex(e.getValue(), fieldPath));
        case "exact":
          return PathMatch.exact(absolutePath(e.getValue(), fieldPath));
        default:
          return PathMatch.prefix(absolutePath(e.getValue(), fieldPath));
      }
    }

    private static final Set<String> HEADER_FIELDS = orderedSet("name", "value", "regex");

    HeaderMatch headerMatch(Node node, String path) throws MeshConfigException {
      Map<String, Node> f = fields(node, path, "a header match mapping", HEADER_FIELDS);
      Node nameNode = required(node, f, path, "name", "a header name");
      String name = scalar(nameNode, path + ".name", "a header name");
      if (!TOKEN.matcher(name).matches()) {
        throw invalid(nameNode, path + ".name", "a header name");
      }
      if (f.containsKey("value") == f.containsKey("regex")) {
        throw error(node, path, "needs exactly one of 'value' or 'regex' (expected: {name, value} or {name, regex})");
      }
      if (f.containsKey("regex")) {
        return HeaderMatch.regex(name, regex(f.get("regex"), path + ".regex"));
      }
      return HeaderMatch.exact(name, scalar(f.get("value"), path + ".value", "a header value"));
    }

    private static final Set<String> BACKEND_FIELDS = orderedSet("subset", "weight");

    Backend backend(Node node, String path) throws MeshConfigException {
      Map<String, Node> f = fields(node, path, "a backend mapping", BACKEND_FIELDS);
      Map<String, String> subset = Map.of();
      if (f.containsKey("subset")) {
        subset = stringMap(f.get("subset"), path + ".subset", "a mapping of label names to values");
      }
      int weight = 1;
      if (f.containsKey("weight")) {
        weight = integer(f.get("weight"), path + ".weight", 0, Integer.MAX_VALUE, "an integer >= 0");
      }
      return new Backend(subset, weight);
    }

    // ---- typed accessors: each fails with the node's line, the field path and the expectation.

    /** The fields of a mapping node, in file order; rejects unknown and duplicate keys. */
    Map<String, Node> fields(Node node, String path, String expected, Set<String> allowed)
        throws MeshConfigException {
      if (!(node instanceof MappingNode mapping)) {
        throw invalid(node, path, expected);
      }
      Map<String, Node> fields = new LinkedHashMap<>();
      for (NodeTuple tuple : mapping.getValue()) {
        Node keyNode = tuple.getKeyNode();
        if (!(keyNode instanceof ScalarNode scalarKey)) {
          throw error(keyNode, path, "a non-scalar key (expected one of: " + String.join(", ", allowed) + ")");
        }
        String key = scalarKey.getValue();
        if (!allowed.contains(key)) {
          throw error(
              keyNode,
              path,
              "unknown field '" + key + "' (expected one of: " + String.join(", ", allowed) + ")");
        }
        if (fields.put(key, tuple.getValueNode()) != null) {
          throw error(keyNode, path, "duplicate field '" + key + "' (expected: each field once)");
        }
      }
      return fields;
    }

    Node required(Node parent, Map<String, Node> fields, String path, String key, String expected)
        throws MeshConfigException {
      Node node = fields.get(key);
      if (node == null) {
        throw error(parent, path, "missing field '" + key + "' (expected: " + expected + ")");
      }
      return node;
    }

    List<Node> list(Node node, String path, String expected) throws MeshConfigException {
      if (node instanceof SequenceNode sequence) {
        return sequence.getValue();
      }
      throw invalid(node, path, expected);
    }

    String scalar(Node node, String path, String expected) throws MeshConfigException {
      if (node instanceof ScalarNode scalar && !Tag.NULL.equals(scalar.getTag())) {
        return scalar.getValue();
      }
      throw invalid(node, path, expected);
    }

    String matching(Node node, String path, Pattern pattern, String expected)
        throws MeshConfigException {
      String value = scalar(node, path, expected);
      if (!pattern.matcher(value).matches()) {
        throw invalid(node, path, expected);
      }
      return value;
    }

    int integer(Node node, String path, int min, int max, String expected)
        throws MeshConfigException {
      String text = scalar(node, path, expected);
      if (INTEGER.matcher(text).matches()) {
        try {
          int value = Integer.parseInt(text);
          if (value >= min && value <= max) {
            return value;
          }
        } catch (NumberFormatException tooLarge) {
          // reported below
        }
      }
      throw invalid(node, path, expected);
    }

    int port(Node node, String path) throws MeshConfigException {
      return integer(node, path, 1, 65535, "an integer in 1..65535");
    }

    String absolutePath(Node node, String path) throws MeshConfigException {
      String value = scalar(node, path, "a path starting with /");
      if (!value.startsWith("/")) {
        throw invalid(node, path, "a path starting with /");
      }
      return value;
    }

    String regex(Node node, String path) throws MeshConfigException {
      String value = scalar(node, path, "a Java regular expression");
      try {
        Pattern.compile(value);
        return value;
      } catch (PatternSyntaxException e) {
        throw error(
            node,
            path,
            value
                + " (expected: a Java regular expression; "
                + e.getDescription()
                + " near index "
                + e.getIndex()
                + ")");
      }
    }

    Map<String, String> stringMap(Node node, String path, String expected)
        throws MeshConfigException {
      if (!(node instanceof MappingNode mapping)) {
        throw invalid(node, path, expected);
      }
      Map<String, String> map = new LinkedHashMap<>();
      for (NodeTuple tuple : mapping.getValue()) {
        String key = scalar(tuple.getKeyNode(), path, "a label name");
        if (key.isEmpty()) {
          throw invalid(tuple.getKeyNode(), path, "a non-empty label name");
        }
        String value = scalar(tuple.getValueNode(), path + "." + key, "a label value");
        if (map.put(key, value) != null) {
          throw error(tuple.getKeyNode(), path, "duplicate label '" + key + "' (expected: each label once)");
        }
      }
      return map;
    }

    // --- Policy: timeouts, retries, faults per route; balancing and protection per destination.

    RoutePolicy routePolicy(Map<String, Node> f, String path) throws MeshConfigException {
      Duration timeout = null;
      if (f.containsKey("timeout")) {
        timeout = duration(f.get("timeout"), path + ".timeout");
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
        orderedSet("attempts", "perTryTimeout", "on", "nonIdempotent", "backoff", "maxReplayBytes");
    private static final Set<String> BACKOFF_FIELDS = orderedSet("base", "max");
    private static final String RETRY_ON =
        "a list of connect-failure, reset, HTTP statuses 100..599 and " + GrpcRetryConditions.EXPECTED;

    RoutePolicy.Retry retry(Node node, String path) throws MeshConfigException {
      Map<String, Node> f = fields(node, path, "a retry mapping", RETRY_FIELDS);
      RoutePolicy.Retry d = RoutePolicy.Retry.DEFAULT;
      int attempts = d.attempts();
      if (f.containsKey("attempts")) {
        attempts = integer(f.get("attempts"), path + ".attempts", 1, 10, "an integer in 1..10 (1 turns retries off)");
      }
      Duration perTry = null;
      if (f.containsKey("perTryTimeout")) {
        perTry = duration(f.get("perTryTimeout"), path + ".perTryTimeout");
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
        List<Node> items = list(f.get("on"), path + ".on", RETRY_ON);
        for (int i = 0; i < items.size(); i++) {
          String itemPath = path + ".on[" + i + "]";
          String value = scalar(items.get(i), itemPath, RETRY_ON);
          if (value.equals("connect-failure")) {
            connect = true;
          } else if (value.equals("reset")) {
            reset = true;
          } else if (GrpcRetryConditions.code(value) >= 0) {
            grpc.add(GrpcRetryConditions.code(value));
          } else {
            statuses.add(integer(items.get(i), itemPath, 100, 599, RETRY_ON));
          }
        }
      }
      boolean nonIdempotent = false;
      if (f.containsKey("nonIdempotent")) {
        nonIdempotent = bool(f.get("nonIdempotent"), path + ".nonIdempotent");
      }
      Duration base = d.backoffBase();
      Duration max = d.backoffMax();
      if (f.containsKey("backoff")) {
        String backoffPath = path + ".backoff";
        Map<String, Node> b = fields(f.get("backoff"), backoffPath, "a backoff mapping", BACKOFF_FIELDS);
        if (b.containsKey("base")) {
          base = duration(b.get("base"), backoffPath + ".base");
        }
        if (b.containsKey("max")) {
          max = duration(b.get("max"), backoffPath + ".max");
        }
        if (max.compareTo(base) < 0) {
          throw error(
              b.getOrDefault("max", f.get("backoff")),
              backoffPath + ".max",
              format(max) + " (expected: at least the base, " + format(base) + ")");
        }
      }
      int maxReplay = d.maxReplayBytes();
      if (f.containsKey("maxReplayBytes")) {
        maxReplay =
            integer(f.get("maxReplayBytes"), path + ".maxReplayBytes", 0, 16 * 1024 * 1024, "an integer of bytes in 0..16777216");
      }
      return new RoutePolicy.Retry(attempts, perTry, connect, reset, statuses, nonIdempotent, base, max, maxReplay, grpc);
    }

    private static final Set<String> FAULT_FIELDS = orderedSet("abort", "delay");
    private static final Set<String> ABORT_FIELDS = orderedSet("percent", "status");
    private static final Set<String> DELAY_FIELDS = orderedSet("percent", "duration");

    RoutePolicy.Fault fault(Node node, String path) throws MeshConfigException {
      Map<String, Node> f = fields(node, path, "a fault mapping", FAULT_FIELDS);
      double abortPercent = 0;
      int abortStatus = 503;
      if (f.containsKey("abort")) {
        String p = path + ".abort";
        Map<String, Node> a = fields(f.get("abort"), p, "an abort mapping", ABORT_FIELDS);
        abortPercent = percent(required(f.get("abort"), a, p, "percent", "a percentage in 0..100"), p + ".percent");
        abortStatus = integer(required(f.get("abort"), a, p, "status", "an HTTP status in 100..599"), p + ".status", 100, 599, "an HTTP status in 100..599");
      }
      double delayPercent = 0;
      Duration delay = Duration.ZERO;
      if (f.containsKey("delay")) {
        String p = path + ".delay";
        Map<String, Node> dl = fields(f.get("delay"), p, "a delay mapping", DELAY_FIELDS);
        delayPercent = percent(required(f.get("delay"), dl, p, "percent", "a percentage in 0..100"), p + ".percent");
        delay = duration(required(f.get("delay"), dl, p, "duration", "a duration such as 100ms"), p + ".duration");
      }
      return new RoutePolicy.Fault(abortPercent, abortStatus, delayPercent, delay);
    }

    private static final Set<String> POLICY_FIELDS =
        orderedSet("balancer", "retryBudget", "failureAccrual", "maxEjectionPercent", "maxInFlight", "maxPending", "rateLimit");
    private static final Set<String> BUDGET_FIELDS = orderedSet("ratio", "minPerSecond", "ttl");
    private static final Set<String> ACCRUAL_FIELDS =
        orderedSet("consecutiveFailures", "minPenalty", "maxPenalty", "jitter");
    private static final Set<String> RATE_FIELDS = orderedSet("requestsPerSecond", "burst");

    DestinationPolicy destinationPolicy(Node node, String path) throws MeshConfigException {
      Map<String, Node> f = fields(node, path, "a policy mapping", POLICY_FIELDS);
      DestinationPolicy d = DestinationPolicy.DEFAULT;
      DestinationPolicy.Balancer balancer = d.balancer();
      if (f.containsKey("balancer")) {
        String expected = "one of peak-ewma, least-request, round-robin, random";
        String value = scalar(f.get("balancer"), path + ".balancer", expected);
        balancer = null;
        for (DestinationPolicy.Balancer b : DestinationPolicy.Balancer.values()) {
          if (b.yamlName().equals(value)) {
            balancer = b;
          }
        }
        if (balancer == null) {
          throw invalid(f.get("balancer"), path + ".balancer", expected);
        }
      }
      DestinationPolicy.RetryBudget budget = d.retryBudget();
      if (f.containsKey("retryBudget")) {
        String p = path + ".retryBudget";
        Map<String, Node> b = fields(f.get("retryBudget"), p, "a retry budget mapping", BUDGET_FIELDS);
        double ratio = b.containsKey("ratio") ? decimal(b.get("ratio"), p + ".ratio", 0, 1000, "a number in 0..1000") : budget.ratio();
        int min = b.containsKey("minPerSecond") ? integer(b.get("minPerSecond"), p + ".minPerSecond", 0, 1_000_000, "an integer >= 0") : budget.minPerSecond();
        Duration ttl = b.containsKey("ttl") ? duration(b.get("ttl"), p + ".ttl") : budget.ttl();
        if (ttl.compareTo(Duration.ofSeconds(1)) < 0 || ttl.compareTo(Duration.ofSeconds(60)) > 0) {
          throw invalid(b.get("ttl"), p + ".ttl", "a duration in 1s..60s");
        }
        budget = new DestinationPolicy.RetryBudget(ratio, min, ttl);
      }
      DestinationPolicy.FailureAccrual accrual = d.failureAccrual();
      if (f.containsKey("failureAccrual")) {
        String p = path + ".failureAccrual";
        Map<String, Node> a = fields(f.get("failureAccrual"), p, "a failure accrual mapping", ACCRUAL_FIELDS);
        int failures = a.containsKey("consecutiveFailures") ? integer(a.get("consecutiveFailures"), p + ".consecutiveFailures", 1, 1000, "an integer in 1..1000") : accrual.consecutiveFailures();
        Duration min = a.containsKey("minPenalty") ? duration(a.get("minPenalty"), p + ".minPenalty") : accrual.minPenalty();
        Duration max = a.containsKey("maxPenalty") ? duration(a.get("maxPenalty"), p + ".maxPenalty") : accrual.maxPenalty();
        double jitter = a.containsKey("jitter") ? decimal(a.get("jitter"), p + ".jitter", 0, 1, "a number in 0..1") : accrual.jitter();
        if (max.compareTo(min) < 0) {
          throw error(a.getOrDefault("maxPenalty", f.get("failureAccrual")), p + ".maxPenalty", format(max) + " (expected: at least minPenalty, " + format(min) + ")");
        }
        accrual = new DestinationPolicy.FailureAccrual(failures, min, max, jitter);
      }
      int maxEjection = f.containsKey("maxEjectionPercent") ? integer(f.get("maxEjectionPercent"), path + ".maxEjectionPercent", 0, 100, "an integer in 0..100") : d.maxEjectionPercent();
      int maxInFlight = f.containsKey("maxInFlight") ? integer(f.get("maxInFlight"), path + ".maxInFlight", 0, Integer.MAX_VALUE, "an integer >= 0 (0: no limit)") : d.maxInFlight();
      int maxPending = f.containsKey("maxPending") ? integer(f.get("maxPending"), path + ".maxPending", 0, Integer.MAX_VALUE, "an integer >= 0") : d.maxPending();
      DestinationPolicy.RateLimit rate = d.rateLimit();
      if (f.containsKey("rateLimit")) {
        String p = path + ".rateLimit";
        Map<String, Node> r = fields(f.get("rateLimit"), p, "a rate limit mapping", RATE_FIELDS);
        int rps = integer(required(f.get("rateLimit"), r, p, "requestsPerSecond", "an integer >= 1"), p + ".requestsPerSecond", 1, Integer.MAX_VALUE, "an integer >= 1");
        int burst = r.containsKey("burst") ? integer(r.get("burst"), p + ".burst", 1, Integer.MAX_VALUE, "an integer >= 1") : rps;
        rate = new DestinationPolicy.RateLimit(rps, burst);
      }
      return new DestinationPolicy(balancer, budget, accrual, maxEjection, maxInFlight, maxPending, rate);
    }

    private static final Pattern DURATION = Pattern.compile("([0-9]{1,9})(ms|s|m|h)");
    private static final String DURATION_EXPECTED = "a duration such as 250ms, 10s, 5m or 1h, at most 24h";

    Duration duration(Node node, String path) throws MeshConfigException {
      String text = scalar(node, path, DURATION_EXPECTED);
      java.util.regex.Matcher m = DURATION.matcher(text);
      if (!m.matches()) {
        throw invalid(node, path, DURATION_EXPECTED);
      }
      long n = Long.parseLong(m.group(1));
      Duration d =
          switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            default -> Duration.ofHours(n);
          };
      if (d.compareTo(Duration.ofHours(24)) > 0) {
        throw invalid(node, path, DURATION_EXPECTED);
      }
      return d;
    }

    double decimal(Node node, String path, double min, double max, String expected) throws MeshConfigException {
      String text = scalar(node, path, expected);
      try {
        double value = Double.parseDouble(text);
        if (value >= min && value <= max && !Double.isNaN(value)) {
          return value;
        }
      } catch (NumberFormatException e) {
        // reported below
      }
      throw invalid(node, path, expected);
    }

    double percent(Node node, String path) throws MeshConfigException {
      return decimal(node, path, 0, 100, "a percentage in 0..100");
    }

    boolean bool(Node node, String path) throws MeshConfigException {
      String text = scalar(node, path, "true or false");
      if (text.equals("true")) {
        return true;
      }
      if (text.equals("false")) {
        return false;
      }
      throw invalid(node, path, "true or false");
    }

    static String format(Duration d) {
      return d.toMillis() + "ms";
    }

    MeshConfigException invalid(Node node, String path, String expected) {
      return error(node, path, describe(node) + " (expected: " + expected + ")");
    }

    MeshConfigException error(Node node, String path, String detail) {
      return new MeshConfigException(source, line(node), path + ": " + detail);
    }
  }

  static int line(Node node) {
    return node == null || node.getStartMark() == null ? 1 : node.getStartMark().getLine() + 1;
  }

  /** How a bad value is shown in a message: scalars as written, collections by kind. */
  static String describe(Node node) {
    if (node instanceof ScalarNode scalar) {
      if (Tag.NULL.equals(scalar.getTag())) {
        return "null";
      }
      return scalar.getValue().isEmpty() ? "\"\"" : scalar.getValue();
    }
    if (node instanceof SequenceNode) {
      return "a list";
    }
    return "a mapping";
  }

  private static Set<String> orderedSet(String... names) {
    // Insertion-ordered, so that "expected one of" lists fields in the documented order.
    return java.util.Collections.unmodifiableSet(new java.util.LinkedHashSet<>(List.of(names)));
  }
}
