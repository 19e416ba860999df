package io.jmesh.runtime;

import java.net.URI;
import java.net.URL;
import java.util.function.Function;

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

  /**
   * The raw query (after {@code ?}, still percent-encoded), or {@code null} when the request has
   * none or the adapter does not say. Read only when a route matches on query parameters.
   */
  default String query() {
    return null;
  }

  /**
   * The port a client connects to: {@code port} when it is set ({@code >= 0}), otherwise the
   * default port of {@code scheme} (80 for {@code http}/{@code ws}, 443 for {@code
   * https}/{@code wss}, case-insensitive), otherwise -1.
   */
  static int effectivePort(String scheme, int port) {
    if (port >= 0) {
      return port;
    }
    if (scheme == null) {
      return -1;
    }
    if (scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("ws")) {
      return 80;
    }
    if (scheme.equalsIgnoreCase("https") || scheme.equalsIgnoreCase("wss")) {
      return 443;
    }
    return -1;
  }

  /** {@link #effectivePort(String, int)} of {@code uri}. */
  static int effectivePort(URI uri) {
    return effectivePort(uri.getScheme(), uri.getPort());
  }

  /** {@link #effectivePort(String, int)} of {@code url}. */
  static int effectivePort(URL url) {
    return effectivePort(url.getProtocol(), url.getPort());
  }

  /**
   * A request view for adapters. Normalizes as this interface promises: scheme lower case, port
   * through {@link #effectivePort(String, int)}, method upper case (default {@code GET}), path
   * without its query and {@code /} when empty; the query {@code path} carries is kept as {@link
   * #query()}.
   *
   * @param headerLookup returns the first value of a header, case-insensitively, or {@code null};
   *     may itself be {@code null} when the request has no headers. Called only when a route
   *     matches on headers.
   */
  static OutboundRequest of(
      String scheme,
      String host,
      int port,
      String method,
      String path,
      Function<String, String> headerLookup) {
    return SimpleOutboundRequest.create(scheme, host, port, method, path, headerLookup);
  }
}
