package io.jmesh.runtime;

/**
 * A read-only view of one outbound request, built by an instrumentation adapter from the
 * library's own request type. Implementations must be cheap: the router reads only what the
 * matched routes need.
 */
public interface OutboundRequest {
  /** {@code http} or {@code https}, lower case. */
  String scheme();

  /** The host the application addressed, as written (for example {@code hello.default}). */
  String host();

  /** The port the application addressed; the scheme's default port when the URL has none. */
  int port();

  /** The HTTP method, upper case. */
  String method();

  /** The path, without the query; {@code /} when empty. */
  String path();

  /** The first value of the header {@code name} (case-insensitive), or {@code null}. */
  String header(String name);
}
