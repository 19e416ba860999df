package io.jmesh.runtime.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The gRPC status names a route's {@code retry.on} may list, and their codes: exactly the gRPC
 * conditions of Envoy's {@code RouteAction.RetryPolicy.retry_on} ({@code cancelled}, {@code
 * deadline-exceeded}, {@code internal}, {@code resource-exhausted}, {@code unavailable}), so that
 * what the file says the controller can send over xDS unchanged. A config may also spell them as
 * gRPC's enum does ({@code UNAVAILABLE}, as GRPCRoute and grpc-java's service config do); other
 * codes (such as {@code NOT_FOUND}) have no Envoy condition and are refused. Immutable.
 */
public final class GrpcRetryConditions {
  /** Envoy's name of each condition, sorted, to its gRPC status code. */
  public static final Map<String, Integer> CODES;

  static {
    Map<String, Integer> m = new LinkedHashMap<>();
    m.put("cancelled", 1);
    m.put("deadline-exceeded", 4);
    m.put("internal", 13);
    m.put("resource-exhausted", 8);
    m.put("unavailable", 14);
    CODES = Collections.unmodifiableMap(m);
  }

  /** What a config value may be, for error messages. */
  public static final String EXPECTED =
      "gRPC codes " + String.join(", ", CODES.keySet()) + " (or UPPER_SNAKE: UNAVAILABLE)";

  private GrpcRetryConditions() {}

  /**
   * The code of {@code name} in Envoy's spelling ({@code deadline-exceeded}) or gRPC's ({@code
   * DEADLINE_EXCEEDED}); -1 when it names no condition jmesh can retry on.
   */
  public static int code(String name) {
    String key = name;
    if (!name.isEmpty() && name.chars().allMatch(c -> (c >= 'A' && c <= 'Z') || c == '_')) {
      key = name.toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
    Integer code = CODES.get(key);
    return code == null ? -1 : code;
  }

  /** Envoy's name of {@code code}, or {@code null} when it is not one of {@link #CODES}. */
  public static String name(int code) {
    for (Map.Entry<String, Integer> e : CODES.entrySet()) {
      if (e.getValue() == code) {
        return e.getKey();
      }
    }
    return null;
  }

  /** Envoy's names of {@code codes}, sorted, for {@code retry_on}. */
  public static Set<String> names(Set<Integer> codes) {
    Set<String> out = new TreeSet<>();
    for (int code : codes) {
      String n = name(code);
      if (n == null) {
        throw new IllegalArgumentException(
            "gRPC retry code: " + code + " (expected: one of " + CODES.values() + ")");
      }
      out.add(n);
    }
    return out;
  }
}
