package io.jmesh.controller.install;

import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * What can be checked of a CRD schema without an API server: that it is structural (every node
 * typed, every array with typed items), and that a value has the schema's types, required fields,
 * enums, ranges, lengths and patterns, and no field the schema does not declare (the API server
 * would prune it). CEL rules (x-kubernetes-validations) are not evaluated.
 */
final class SchemaCheck {
  private SchemaCheck() {}

  /** Paths of untyped nodes; empty when structural. */
  static List<String> untyped(JSONSchemaProps schema, String path) {
    List<String> problems = new ArrayList<>();
    walkTypes(schema, path, problems);
    return problems;
  }

  private static void walkTypes(JSONSchemaProps s, String path, List<String> problems) {
    if (s.getType() == null || s.getType().isEmpty()) {
      problems.add(path + ": no type");
      return;
    }
    if (s.getProperties() != null) {
      s.getProperties().forEach((name, p) -> walkTypes(p, path + "." + name, problems));
    }
    if ("array".equals(s.getType())) {
      if (s.getItems() == null || s.getItems().getSchema() == null) {
        problems.add(path + ": array without items");
      } else {
        walkTypes(s.getItems().getSchema(), path + "[]", problems);
      }
    }
  }

  /** What is wrong with {@code value} under {@code schema}; empty when it validates. */
  static List<String> validate(JSONSchemaProps schema, Object value, String path) {
    List<String> errors = new ArrayList<>();
    check(schema, value, path, errors);
    return errors;
  }

  @SuppressWarnings("unchecked")
  private static void check(JSONSchemaProps s, Object v, String path, List<String> errors) {
    switch (s.getType()) {
      case "object" -> {
        if (!(v instanceof Map<?, ?> m)) {
          errors.add(path + ": " + v + " (expected: an object)");
          return;
        }
        Map<String, Object> map = (Map<String, Object>) m;
        if (s.getRequired() != null) {
          for (String r : s.getRequired()) {
            if (!map.containsKey(r)) {
              errors.add(path + "." + r + ": missing (expected: required)");
            }
          }
        }
        if (s.getProperties() == null || s.getProperties().isEmpty()) {
          return; // metadata: an object the API server validates itself
        }
        map.forEach((k, child) -> {
          JSONSchemaProps p = s.getProperties().get(k);
          if (p == null) {
            errors.add(path + "." + k + ": unknown field (expected one of " + s.getProperties().keySet() + ")");
          } else {
            check(p, child, path + "." + k, errors);
          }
        });
      }
      case "array" -> {
        if (!(v instanceof List<?> list)) {
          errors.add(path + ": " + v + " (expected: an array)");
          return;
        }
        if (s.getMinItems() != null && list.size() < s.getMinItems()) {
          errors.add(path + ": " + list.size() + " items (expected: at least " + s.getMinItems() + ")");
        }
        if (s.getMaxItems() != null && list.size() > s.getMaxItems()) {
          errors.add(path + ": " + list.size() + " items (expected: at most " + s.getMaxItems() + ")");
        }
        for (int i = 0; i < list.size(); i++) {
          check(s.getItems().getSchema(), list.get(i), path + "[" + i + "]", errors);
        }
      }
      case "string" -> {
        if (!(v instanceof String str)) {
          errors.add(path + ": " + v + " (expected: a string)");
          return;
        }
        if (s.getEnum() != null && !s.getEnum().isEmpty()
            && s.getEnum().stream().noneMatch(e -> e.asString().equals(str))) {
          errors.add(path + ": " + str + " (expected one of " + s.getEnum() + ")");
        }
        if (s.getPattern() != null && !Pattern.compile(s.getPattern()).matcher(str).find()) {
          errors.add(path + ": " + str + " (expected: to match " + s.getPattern() + ")");
        }
        if (s.getMaxLength() != null && str.length() > s.getMaxLength()) {
          errors.add(path + ": " + str.length() + " characters (expected: at most " + s.getMaxLength() + ")");
        }
        if (s.getMinLength() != null && str.length() < s.getMinLength()) {
          errors.add(path + ": " + str.length() + " characters (expected: at least " + s.getMinLength() + ")");
        }
      }
      case "integer", "number" -> {
        boolean integral = v instanceof Integer || v instanceof Long;
        if (!(v instanceof Number n) || ("integer".equals(s.getType()) && !integral)) {
          errors.add(path + ": " + v + " (expected: " + ("integer".equals(s.getType()) ? "an integer" : "a number") + ")");
          return;
        }
        if (s.getMinimum() != null && n.doubleValue() < s.getMinimum()) {
          errors.add(path + ": " + v + " (expected: at least " + s.getMinimum() + ")");
        }
        if (s.getMaximum() != null && n.doubleValue() > s.getMaximum()) {
          errors.add(path + ": " + v + " (expected: at most " + s.getMaximum() + ")");
        }
      }
      case "boolean" -> {
        if (!(v instanceof Boolean)) {
          errors.add(path + ": " + v + " (expected: a boolean)");
        }
      }
      default -> errors.add(path + ": schema type " + s.getType() + " (expected: a JSON type)");
    }
  }
}
