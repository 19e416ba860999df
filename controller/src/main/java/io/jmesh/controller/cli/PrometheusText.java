package io.jmesh.controller.cli;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads the Prometheus text exposition format (version 0.0.4): one sample per line, {@code
 * name{label="value",...} value [timestamp]}; {@code #} lines (HELP, TYPE, comments) and blank
 * lines are skipped. Label values may hold the escapes {@code \\}, {@code \"} and {@code \n};
 * values may be {@code NaN}, {@code +Inf} or {@code -Inf}. What {@code jmesh stat} needs of an
 * agent's {@code /metrics}, without a client library.
 *
 * <p>Thread-safety: stateless.
 */
final class PrometheusText {
  private PrometheusText() {}

  /**
   * One sample.
   *
   * @param labels by name, sorted, so that two scrapes of one series compare equal
   */
  record Sample(String name, Map<String, String> labels, double value) {
    Sample {
      labels = Collections.unmodifiableMap(new TreeMap<>(labels));
    }

    String label(String key) {
      return labels.getOrDefault(key, "");
    }
  }

  /**
   * Parses a whole scrape.
   *
   * @throws IllegalArgumentException naming the line number, the line and what was expected
   */
  static List<Sample> parse(String text) {
    List<Sample> out = new ArrayList<>();
    String[] lines = text.split("\n", -1);
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i].strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      try {
        out.add(line(line));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "metrics line " + (i + 1) + ": \"" + line + "\": " + e.getMessage(), e);
      }
    }
    return out;
  }

  static Sample line(String line) {
    int i = 0;
    int n = line.length();
    while (i < n && line.charAt(i) != '{' && line.charAt(i) != ' ' && line.charAt(i) != '\t') {
      i++;
    }
    String name = line.substring(0, i);
    if (name.isEmpty()) {
      throw new IllegalArgumentException("no metric name (expected: name{labels} value)");
    }
    Map<String, String> labels = new TreeMap<>();
    if (i < n && line.charAt(i) == '{') {
      i++;
      while (true) {
        while (i < n && (line.charAt(i) == ' ' || line.charAt(i) == ',')) {
          i++;
        }
        if (i < n && line.charAt(i) == '}') {
          i++;
          break;
        }
        int eq = line.indexOf('=', i);
        if (eq < 0 || eq + 1 >= n || line.charAt(eq + 1) != '"') {
          throw new IllegalArgumentException("label at " + i + " (expected: name=\"value\")");
        }
        String key = line.substring(i, eq).strip();
        StringBuilder value = new StringBuilder();
        int j = eq + 2;
        boolean closed = false;
        while (j < n) {
          char c = line.charAt(j++);
          if (c == '"') {
            closed = true;
            break;
          }
          if (c == '\\' && j < n) {
            char e = line.charAt(j++);
            value.append(e == 'n' ? '\n' : e); // \\ and \" stand for themselves
          } else {
            value.append(c);
          }
        }
        if (!closed) {
          throw new IllegalArgumentException("label " + key + " (expected: a closing quote)");
        }
        labels.put(key, value.toString());
        i = j;
      }
    }
    String[] rest = line.substring(i).strip().split("[ \t]+");
    if (rest.length == 0 || rest[0].isEmpty()) {
      throw new IllegalArgumentException("no value (expected: name{labels} value)");
    }
    return new Sample(name, labels, value(rest[0]));
  }

  private static double value(String s) {
    switch (s) {
      case "+Inf":
      case "Inf":
        return Double.POSITIVE_INFINITY;
      case "-Inf":
        return Double.NEGATIVE_INFINITY;
      case "NaN":
        return Double.NaN;
      default:
        try {
          return Double.parseDouble(s);
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("value \"" + s + "\" (expected: a number, NaN, +Inf or -Inf)");
        }
    }
  }
}
