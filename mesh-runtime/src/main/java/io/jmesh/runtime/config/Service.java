package io.jmesh.runtime.config;

import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.inbound.AuthorizationPolicy;
import java.util.List;
import java.util.Objects;

/**
 * One service the application may call.
 *
 * @param name the service name, a DNS label such as {@code hello}
 * @param namespace the namespace, a DNS label such as {@code default}
 * @param ports the service ports the application addresses; a request to another port is not mesh
 *     traffic
 * @param endpoints the instances that serve it; may be empty
 * @param routes evaluated in order, first match wins; when none matches, the implicit default
 *     route sends to all endpoints
 * @param policy balancing and protection of this destination
 * @param identities the SPIFFE identities its endpoints prove. Empty: the service is reached in
 *     plaintext, as the application asked. Non-empty: every endpoint is reached over mesh TLS at
 *     its port (the endpoint's mesh inbound port), and its certificate must name one of these
 * @param authorization who may call the service's workloads, enforced by their inbound terminator
 *     (not by callers); named after the service ({@link #qualifiedName()}). Without one: every
 *     authenticated caller ({@link AuthorizationPolicy#allAuthenticated(String)})
 */
public record Service(
    String name,
    String namespace,
    List<Integer> ports,
    List<ServiceEndpoint> endpoints,
    List<Route> routes,
    DestinationPolicy policy,
    List<SpiffeId> identities,
    AuthorizationPolicy authorization) {
  /** A service with the default policy. */
  public Service(
      String name, String namespace, List<Integer> ports, List<ServiceEndpoint> endpoints, List<Route> routes) {
    this(name, namespace, ports, endpoints, routes, DestinationPolicy.DEFAULT);
  }

  /** A service reached in plaintext. */
  public Service(
      String name,
      String namespace,
      List<Integer> ports,
      List<ServiceEndpoint> endpoints,
      List<Route> routes,
      DestinationPolicy policy) {
    this(name, namespace, ports, endpoints, routes, policy, List.of());
  }

  /** A service with the default authorization (every authenticated caller). */
  public Service(
      String name,
      String namespace,
      List<Integer> ports,
      List<ServiceEndpoint> endpoints,
      List<Route> routes,
      DestinationPolicy policy,
      List<SpiffeId> identities) {
    this(
        name,
        namespace,
        ports,
        endpoints,
        routes,
        policy,
        identities,
        AuthorizationPolicy.allAuthenticated(name + "." + namespace));
  }

  /** Whether its endpoints are reached over mesh TLS. */
  public boolean meshTls() {
    return !identities.isEmpty();
  }

  public Service {
    Objects.requireNonNull(policy, "policy");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(namespace, "namespace");
    ports = List.copyOf(ports);
    for (int port : ports) {
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("port: " + port + " (expected: 1..65535)");
      }
    }
    endpoints = List.copyOf(endpoints);
    routes = List.copyOf(routes);
    identities = List.copyOf(identities);
    Objects.requireNonNull(authorization, "authorization");
    // Denials name the policy; a policy named after another service would send readers astray.
    if (!authorization.name().equals(name + "." + namespace)) {
      throw new IllegalArgumentException(
          "authorization: a policy named " + authorization.name()
              + " (expected: the service's qualified name " + name + "." + namespace + ")");
    }
  }

  /** {@code name.namespace}, for example {@code hello.default}. */
  public String qualifiedName() {
    return name + "." + namespace;
  }
}
