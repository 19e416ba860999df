package io.jmesh.runtime;

import java.util.Objects;

/**
 * What an adapter hands {@link OutboundCall#mirror} of the request it is about to send: enough to
 * send a copy on the runtime's own connection. The runtime never modifies the arrays and keeps
 * them only until the copy is written; the adapter must not modify them after the hand-over.
 *
 * @param method the request method, upper case
 * @param pathAndQuery the path with the query, as the first attempt sends it (after a rewrite)
 * @param headers the application's headers as name/value pairs in one array; {@code Host},
 *     framing and hop-by-hop headers are ignored (the runtime sets its own)
 * @param body the whole body (empty for none), or {@code null} when the adapter cannot replay it:
 *     the copy is then skipped, and counted
 * @param traceHeaders the trace headers of the call's span ({@code traceparent}, ...), name/value
 *     pairs that replace the application's, so the copy's server span is a child of the call's
 *     span; {@code null} when tracing is off
 */
public record RequestCopy(String method, String pathAndQuery, String[] headers, byte[] body, String[] traceHeaders) {
  public RequestCopy {
    Objects.requireNonNull(method, "method");
    Objects.requireNonNull(pathAndQuery, "pathAndQuery");
    Objects.requireNonNull(headers, "headers");
    if (headers.length % 2 != 0) {
      throw new IllegalArgumentException("headers: " + headers.length + " strings (expected: name/value pairs)");
    }
    if (traceHeaders != null && traceHeaders.length % 2 != 0) {
      throw new IllegalArgumentException("traceHeaders: " + traceHeaders.length + " strings (expected: name/value pairs)");
    }
  }
}
