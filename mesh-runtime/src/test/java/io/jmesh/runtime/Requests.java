package io.jmesh.runtime;

import java.util.Map;
import java.util.TreeMap;

/** Request views for tests. */
final class Requests {
  private Requests() {}

  static OutboundRequest get(String host, int port, String path) {
    return request("GET", host, port, path, Map.of());
  }

  static OutboundRequest request(
      String method, String host, int port, String path, Map<String, String> headers) {
    TreeMap<String, String> h = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    h.putAll(headers);
    return OutboundRequest.of("http", host, port, method, path, h::get);
  }
}
