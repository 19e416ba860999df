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

  /** A request without body, such as most GETs. */
  public static RequestFacts noBody(String method) {
    return new RequestFacts(method, true, 0);
  }
}
