package io.jmesh.runtime.deadline;

import io.jmesh.runtime.time.Ticker;
import java.time.Duration;

/**
 * The wire format that carries a deadline to the next hop: header {@value #NAME} with the
 * <em>remaining</em> time in whole milliseconds, for example {@code x-jmesh-deadline-ms: 1480}.
 * Relative, like gRPC's {@code grpc-timeout}, so that the two hosts need no synchronized clocks;
 * the receiver starts its own deadline when it parses the header, so the time on the wire is
 * charged to the receiver (rounding down the milliseconds keeps the error on the safe side).
 *
 * <p>Stateless and thread-safe.
 */
public final class DeadlineHeader {
  /** The header name, lower case (HTTP/2 requires lower-case names). */
  public static final String NAME = "x-jmesh-deadline-ms";

  // Ten digits are ~115 days: more than any real deadline, and a long can never overflow.
  private static final int MAX_DIGITS = 10;
  // Never echo more of a hostile value than this into a log line.
  private static final int MAX_ECHO = 40;

  private DeadlineHeader() {}

  /**
   * The header value for {@code deadline}: the remaining milliseconds, rounded down; {@code 0}
   * once expired.
   */
  public static String format(Deadline deadline) {
    return Long.toString(deadline.remaining().toMillis());
  }

  /**
   * The deadline a received header value describes, starting now on {@code ticker}; {@code null}
   * when {@code value} is {@code null} (no header, no deadline). Surrounding spaces are allowed.
   *
   * @throws IllegalArgumentException with a one-line message naming the header, the value and
   *     the expectation, for example {@code x-jmesh-deadline-ms: 'abc' (expected: a non-negative
   *     integer of milliseconds)}
   */
  public static Deadline parse(String value, Ticker ticker) {
    if (value == null) {
      return null;
    }
    String v = value.strip();
    if (v.isEmpty() || !allDigits(v)) {
      throw bad(value, "a non-negative integer of milliseconds");
    }
    if (v.length() > MAX_DIGITS) {
      throw bad(value, "a non-negative integer of milliseconds, at most " + MAX_DIGITS + " digits");
    }
    return Deadline.after(Duration.ofMillis(Long.parseLong(v)), ticker);
  }

  private static boolean allDigits(String v) {
    for (int i = 0; i < v.length(); i++) {
      char c = v.charAt(i);
      if (c < '0' || c > '9') {
        return false;
      }
    }
    return true;
  }

  private static IllegalArgumentException bad(String value, String expected) {
    String echo = value.length() > MAX_ECHO ? value.substring(0, MAX_ECHO) + "..." : value;
    return new IllegalArgumentException(NAME + ": '" + echo + "' (expected: " + expected + ")");
  }
}
