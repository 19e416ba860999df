package io.jmesh.controller;

import java.time.Instant;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Writes a tree of plain values as pretty-printed JSON (two-space indent), so that the admin API
 * needs no JSON library. Supported: {@code null}, {@link String}, {@link Boolean}, integral
 * {@link Number}s ({@code Integer}, {@code Long}), {@link Double}, {@link Instant} (written as its
 * ISO-8601 string), {@link Map} with string keys (written in iteration order, so use a {@code
 * LinkedHashMap} for a stable field order) and {@link List}. Anything else is a programming error.
 *
 * <p>Thread-safety: stateless.
 */
final class Json {
  private Json() {}

  static String write(Object value) {
    StringBuilder out = new StringBuilder(256);
    write(out, value, 0);
    return out.append('\n').toString();
  }

  private static void write(StringBuilder out, Object value, int indent) {
    if (value == null) {
      out.append("null");
    } else if (value instanceof String) {
      string(out, (String) value);
    } else if (value instanceof Boolean || value instanceof Integer || value instanceof Long) {
      out.append(value);
    } else if (value instanceof Double) {
      number(out, (Double) value);
    } else if (value instanceof Instant) {
      string(out, value.toString());
    } else if (value instanceof Map) {
      object(out, (Map<?, ?>) value, indent);
    } else if (value instanceof List) {
      array(out, (List<?>) value, indent);
    } else {
      throw new IllegalArgumentException(
          "value of " + value.getClass().getName() + ": " + value
              + " (expected: null, String, Boolean, Integer, Long, Double, Instant, Map, List)");
    }
  }

  private static void object(StringBuilder out, Map<?, ?> map, int indent) {
    if (map.isEmpty()) {
      out.append("{}");
      return;
    }
    out.append("{\n");
    Iterator<? extends Map.Entry<?, ?>> entries = map.entrySet().iterator();
    while (entries.hasNext()) {
      Map.Entry<?, ?> entry = entries.next();
      if (!(entry.getKey() instanceof String)) {
        throw new IllegalArgumentException(
            "map key: " + entry.getKey() + " (expected: a String)");
      }
      pad(out, indent + 1);
      string(out, (String) entry.getKey());
      out.append(": ");
      write(out, entry.getValue(), indent + 1);
      out.append(entries.hasNext() ? ",\n" : "\n");
    }
    pad(out, indent);
    out.append('}');
  }

  private static void array(StringBuilder out, List<?> list, int indent) {
    if (list.isEmpty()) {
      out.append("[]");
      return;
    }
    // Lists of scalars (ports, resource names) stay on one line; they are short and read better.
    boolean scalars = list.stream().noneMatch(v -> v instanceof Map || v instanceof List);
    if (scalars) {
      out.append('[');
      for (int i = 0; i < list.size(); i++) {
        if (i > 0) {
          out.append(", ");
        }
        write(out, list.get(i), indent);
      }
      out.append(']');
      return;
    }
    out.append("[\n");
    for (int i = 0; i < list.size(); i++) {
      pad(out, indent + 1);
      write(out, list.get(i), indent + 1);
      out.append(i + 1 < list.size() ? ",\n" : "\n");
    }
    pad(out, indent);
    out.append(']');
  }

  private static void number(StringBuilder out, double d) {
    if (Double.isNaN(d) || Double.isInfinite(d)) {
      // JSON has no such numbers; a string keeps the information and stays parseable.
      string(out, Double.toString(d));
    } else if (d == Math.rint(d) && Math.abs(d) < 1e15) {
      out.append((long) d);
    } else {
      out.append(d);
    }
  }

  private static void string(StringBuilder out, String s) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"':
          out.append("\\\"");
          break;
        case '\\':
          out.append("\\\\");
          break;
        case '\n':
          out.append("\\n");
          break;
        case '\r':
          out.append("\\r");
          break;
        case '\t':
          out.append("\\t");
          break;
        default:
          if (c < 0x20 || c == 0x2028 || c == 0x2029) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
      }
    }
    out.append('"');
  }

  private static void pad(StringBuilder out, int indent) {
    for (int i = 0; i < indent; i++) {
      out.append("  ");
    }
  }
}
