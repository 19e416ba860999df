package io.jmesh.runtime.config;

import java.util.Objects;

/**
 * Sends a copy of a route's requests to another service, fire-and-forget, as Gateway API's {@code
 * RequestMirror} filter (Envoy's {@code request_mirror_policies}): the copy's answer is discarded,
 * and its latency and failure never reach the original call.
 *
 * <p>The copy goes to the endpoints of the whole service, at their own port, as Envoy's policy
 * names a cluster and nothing narrower (a jmesh cluster is one service).
 *
 * @param service the mirror service's name, a DNS label
 * @param namespace its namespace, a DNS label
 * @param percent the share of the route's requests copied, in 0..100 (100: every request)
 */
public record RequestMirror(String service, String namespace, double percent) {

  public RequestMirror {
    Objects.requireNonNull(service, "service");
    Objects.requireNonNull(namespace, "namespace");
    if (!MeshSyntax.DNS_LABEL.matcher(service).matches()) {
      throw new IllegalArgumentException("mirror service: " + service + " (expected: a DNS label)");
    }
    if (!MeshSyntax.DNS_LABEL.matcher(namespace).matches()) {
      throw new IllegalArgumentException("mirror namespace: " + namespace + " (expected: a DNS label)");
    }
    if (!(percent >= 0 && percent <= 100)) {
      throw new IllegalArgumentException("mirror percent: " + percent + " (expected: 0..100)");
    }
  }

  /** {@code hello.default}: the destination name of the mirror service. */
  public String qualifiedName() {
    return service + "." + namespace;
  }
}
