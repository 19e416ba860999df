package io.jmesh.agent.tooling;

import java.lang.reflect.RecordComponent;
import java.util.Collection;
import java.util.Map;
import java.util.Optional;

/**
 * A small JSON writer for the admin endpoint: records become objects by their components (so the
 * config model needs no annotations), maps objects, collections arrays, numbers and booleans
 * themselves (NaN and infinities {@code null}), and anything else its {@code toString()}. The agent
 * jar carries no JSON library, and the admin pages need nothing more. Stateless; thread-safe.
 */
final class Json {
  // The config model is a tree a few levels deep; the bound stops a cycle from overflowing.
  private static final int MAX_DEPTH = 32;

  private Json() {}

  static String write(Object value) {
    StringBuilder out = new StringBuilder(1024);
    write(out, value, 0);
    return out.toString();
  }

  private static void write(StringBuilder out, Object value, int depth) {
    if (depth > MAX_DEPTH) {
      string(out, "(deeper than " + MAX_DEPTH + " levels)");
    } else if (value == null) {
      out.append("null");
    } else if (value instanceof Boolean) {
      out.append(value);
    } else if (value instanceof Number n) {
      double d = n.doubleValue();
      out.append(Double.isNaN(d) || Double.isInfinite(d) ? "null" : n.toString());
    } else if (value instanceof Optional<?> o) {
      write(out, o.orElse(null), depth);
    } else if (value instanceof Map<?, ?> map) {
      out.append('{');
      boolean first = true;
      for (Map.Entry<?, ?> e : map.entrySet()) {
        if (!first) {
          out.append(',');
        }
        first = false;
        string(out, String.valueOf(e.getKey()));
        out.append(':');
        write(out, e.getValue(), depth + 1);
      }
      out.append('}');
    } else if (value instanceof Collection<?> items) {
      out.append('[');
      boolean first = true;
      for (Object item : items) {
        if (!first) {
          out.append(',');
        }
        first = false;
        write(out, item, depth + 1);
      }
      out.append(']');
    } else if (value.getClass().isRecord()) {
      out.append('{');
      boolean first = true;
      for (RecordComponent c : value.getClass().getRecordComponents()) {
        if (!first) {
          out.append(',');
        }
        first = false;
        string(out, c.getName());
        out.append(':');
        write(out, component(c, value), depth + 1);
      }
      out.append('}');
    } else if (value instanceof Enum<?> e) {
      string(out, e.name().toLowerCase(java.util.Locale.ROOT));
    } else {
      string(out, value.toString());
    }
  }

  private static Object component(RecordComponent c, Object record) {
    try {
      java.lang.reflect.Method accessor = c.getAccessor();
      accessor.trySetAccessible(); // nested records of the model may be package-private
      return accessor.invoke(record);
    } catch (ReflectiveOperationException | RuntimeException e) {
      return "(unreadable: " + e + ")";
    }
  }

  private static void string(StringBuilder out, String s) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char ch = s.charAt(i);
      switch (ch) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (ch < 0x20) {
            out.append(String.format("\\u%04x", (int) ch));
          } else {
            out.append(ch);
          }
        }
      }
    }
    out.append('"');
  }
}
