package io.jmesh.runtime.config;

import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
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
        orderedSet("name", "namespace", "ports", "endpoints", "routes");

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
      return new Service(name, namespace, ports, endpoints, routes);
    }

    private static final Set<String> ENDPOINT_FIELDS =
        orderedSet("address", "port", "weight", "labels");

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
      return new ServiceEndpoint(address, port, weight, labels);
    }

    private static final Set<String> ROUTE_FIELDS = orderedSet("name", "matches", "backends");

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
      return new Route(name, matches, backends);
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
