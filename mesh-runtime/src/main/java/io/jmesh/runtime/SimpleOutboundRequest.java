package io.jmesh.runtime;

import java.util.Locale;
import java.util.Objects;
import java.util.function.Function;

/** The request view behind {@link OutboundRequest#of}. */
record SimpleOutboundRequest(
    String scheme,
    String host,
    int port,
    String method,
    String path,
    String query,
    Function<String, String> headerLookup)
    implements OutboundRequest {

  static SimpleOutboundRequest create(
      String scheme,
      String host,
      int port,
      String method,
      String path,
      Function<String, String> headerLookup) {
    String s = scheme == null ? "http" : scheme.toLowerCase(Locale.ROOT);
    String p = path == null ? "" : path;
    String q = null;
    int query = p.indexOf('?');
    if (query >= 0) {
      q = p.substring(query + 1);
      p = p.substring(0, query);
    }
    if (p.isEmpty()) {
      p = "/";
    }
    return new SimpleOutboundRequest(
        s,
        Objects.requireNonNull(host, "host"),
        OutboundRequest.effectivePort(s, port),
        method == null ? "GET" : method.toUpperCase(Locale.ROOT),
        p,
        q,
        headerLookup);
  }

  @Override
  public String header(String name) {
    return headerLookup == null ? null : headerLookup.apply(name);
  }
}
