package io.jmesh.runtime.config;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one parser of durations written by people: mesh YAML ({@code timeout: 250ms}), controller
 * flags ({@code --ttl 24h}) and the {@code jmesh} CLI ({@code --window 1m30s}). Accepts the union
 * of what those read before they shared it:
 *
 * <ul>
 *   <li>one or more {@code <digits><unit>} parts, as Go and Kubernetes write them, with units
 *       {@code ms}, {@code s}, {@code m}, {@code h} and {@code d}: {@code 250ms}, {@code 90s},
 *       {@code 1h30m}, {@code 365d}; units in any case ({@code 10S});
 *   <li>ISO-8601 as {@link Duration#parse} reads it: {@code PT2H}, {@code P1DT12H}.
 * </ul>
 *
 * <p>Surrounding white space is ignored; negative durations and fractions are refused. Bounds
 * (at most 24 h, positive) are the caller's. Stateless; thread-safe.
 */
public final class Durations {
  /** What a value may be, for callers that phrase their own error. */
  public static final String EXPECTED = "a duration such as 250ms, 90s, 30m, 24h, 1h30m, 7d or PT2H";

  private static final Pattern PART = Pattern.compile("([0-9]+)(ms|s|m|h|d)");

  private Durations() {}

  /**
   * Parses {@code value}; {@code setting} (a flag, a field path) names it in the error.
   *
   * @throws IllegalArgumentException {@code <setting>: "<value>" (expected: ...)}
   */
  public static Duration parse(String setting, String value) {
    Duration d = parseOrNull(value);
    if (d == null) {
      throw new IllegalArgumentException(setting + ": \"" + value + "\" (expected: " + EXPECTED + ")");
    }
    return d;
  }

  /** The duration {@code value} writes, or {@code null} when it is not one (or overflows). */
  static Duration parseOrNull(String value) {
    String text = value.trim();
    if (text.isEmpty()) {
      return null;
    }
    if (text.charAt(0) == 'P' || text.charAt(0) == 'p') {
      try {
        Duration d = Duration.parse(text);
        return d.isNegative() ? null : d;
      } catch (DateTimeParseException | ArithmeticException e) {
        return null;
      }
    }
    Matcher m = PART.matcher(text.toLowerCase(Locale.ROOT));
    Duration total = Duration.ZERO;
    try {
      while (m.lookingAt()) {
        long n = Long.parseLong(m.group(1));
        total =
            total.plus(
                switch (m.group(2)) {
                  case "ms" -> Duration.ofMillis(n);
                  case "s" -> Duration.ofSeconds(n);
                  case "m" -> Duration.ofMinutes(n);
                  case "h" -> Duration.ofHours(n);
                  default -> Duration.ofDays(n);
                });
        if (m.end() == text.length()) {
          return total;
        }
        m.region(m.end(), text.length());
      }
    } catch (NumberFormatException | ArithmeticException tooLong) {
      return null;
    }
    return null;
  }
}
