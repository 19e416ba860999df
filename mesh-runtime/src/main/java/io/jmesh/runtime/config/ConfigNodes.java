package io.jmesh.runtime.config;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * The typed accessors of one YAML document's node tree, shared by the section parsers: each
 * returns a value of the expected kind or fails with the source, the node's line, the field path,
 * the value and what was expected. Thread-safe: holds only the source's name.
 */
final class ConfigNodes {
  private static final Pattern INTEGER = Pattern.compile("[-+]?[0-9]+");

  private final String source;

  ConfigNodes(String source) {
    this.source = source;
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

  private static final String DURATION_EXPECTED = "a duration such as 250ms, 10s, 5m or 1h, at most 24h";

  /** A duration as {@link Durations} reads it; the file's bound is 24 hours. */
  Duration duration(Node node, String path) throws MeshConfigException {
    Duration d = Durations.parseOrNull(scalar(node, path, DURATION_EXPECTED));
    if (d == null || d.compareTo(Duration.ofHours(24)) > 0) {
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

  static Set<String> orderedSet(String... names) {
    // Insertion-ordered, so that "expected one of" lists fields in the documented order.
    return java.util.Collections.unmodifiableSet(new java.util.LinkedHashSet<>(List.of(names)));
  }
}
