package io.jmesh.runtime.retry;

import java.util.Locale;
import java.util.Objects;

/**
 * What a retry decision needs to know about the request, as the adapter saw it.
 *
 * @param method the HTTP method (compared in upper case)
 * @param bodyReplayable whether the adapter can send the same body again (it is buffered, or its
 *     source can be re-opened); {@code true} for a request without body
 * @param bodyLength the body size in bytes; {@code 0} for no body; {@code -1} when unknown, which
 *     counts as too large to replay (adapters that buffer a body report the buffered size)
 */
public record RequestFacts(String method, boolean bodyReplayable, long bodyLength) {
  public RequestFacts {
    Objects.requireNonNull(method, "method");
    method = method.toUpperCase(Locale.ROOT);
    if (bodyLength < -1) {
      throw new IllegalArgumentException("bodyLength: " + bodyLength + " (expected: >= -1)");
    }
  }

  // The facts of most calls, made once: a call without body by one of the standard methods.
  private static final String[] STANDARD_METHODS = {
    "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE", "POST", "PATCH", "CONNECT"
  };
  private static final RequestFacts[] NO_BODY = new RequestFacts[STANDARD_METHODS.length];

  static {
    for (int i = 0; i < NO_BODY.length; i++) {
      NO_BODY[i] = new RequestFacts(STANDARD_METHODS[i], true, 0);
    }
  }

  /** A request without body, such as most GETs. */
  public static RequestFacts noBody(String method) {
    return of(method, true, 0);
  }

  /**
   * The facts of a request, as the constructor makes them; a request without body by one of the
   * standard methods (upper case) gets a shared instance, so that most calls allocate none.
   */
  public static RequestFacts of(String method, boolean bodyReplayable, long bodyLength) {
    if (bodyReplayable && bodyLength == 0 && method != null) {
      for (RequestFacts facts : NO_BODY) {
        if (facts.method.equals(method)) {
          return facts;
        }
      }
    }
    return new RequestFacts(method, bodyReplayable, bodyLength);
  }
}
