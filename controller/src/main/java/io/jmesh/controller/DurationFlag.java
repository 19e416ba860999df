package io.jmesh.controller;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A duration from the command line, as Go and Kubernetes write them: {@code 24h}, {@code 30m},
 * {@code 90s}, {@code 1h30m}, {@code 365d}. ISO-8601 ({@code PT24H}) is accepted too.
 */
final class DurationFlag {
  private static final Pattern PART = Pattern.compile("(\\d+)(d|h|m|s)");
  private static final String EXPECTED = " (expected: a duration such as 24h, 30m, 90s or 1h30m)";

  private DurationFlag() {}

  /**
   * Parses {@code value}; {@code name} (the flag) goes into the error message.
   *
   * @throws IllegalArgumentException naming the flag, the value and the expected form
   */
  static Duration parse(String name, String value) {
    if (value.startsWith("PT") || value.startsWith("P")) {
      try {
        return Duration.parse(value);
      } catch (RuntimeException e) {
        throw new IllegalArgumentException(name + ": \"" + value + "\"" + EXPECTED, e);
      }
    }
    Matcher m = PART.matcher(value);
    Duration total = Duration.ZERO;
    int at = 0;
    while (at < value.length()) {
      if (!m.find(at) || m.start() != at) {
        throw new IllegalArgumentException(name + ": \"" + value + "\"" + EXPECTED);
      }
      long n;
      try {
        n = Long.parseLong(m.group(1));
        switch (m.group(2)) {
          case "d":
            total = total.plus(Duration.ofDays(n));
            break;
          case "h":
            total = total.plus(Duration.ofHours(n));
            break;
          case "m":
            total = total.plus(Duration.ofMinutes(n));
            break;
          default:
            total = total.plus(Duration.ofSeconds(n));
        }
      } catch (ArithmeticException | NumberFormatException e) {
        throw new IllegalArgumentException(name + ": \"" + value + "\": too long" + EXPECTED, e);
      }
      at = m.end();
    }
    if (value.isEmpty()) {
      throw new IllegalArgumentException(name + ": \"\"" + EXPECTED);
    }
    return total;
  }
}
