package io.jmesh.runtime.balance;

import io.jmesh.runtime.Endpoint;

/**
 * Tells a balancer which endpoints may receive traffic now. The circuit breaker implements it to
 * exclude ejected endpoints; balancers reach it through {@link LoadBalancer.Helper#filter()}.
 *
 * <p>Contract: called on the request path for every candidate of every pick, concurrently from
 * any thread, so it must be thread-safe, cheap and non-blocking (a volatile read, a hash lookup).
 * Its answer may change between two calls. When it rejects every endpoint of a backend the
 * balancer ignores it (panic mode, see {@link LoadBalancer}).
 */
@FunctionalInterface
public interface EndpointFilter {
  /** Lets every endpoint through. */
  EndpointFilter ALL = e -> true;

  /** Whether {@code endpoint} may receive traffic now. */
  boolean isAvailable(Endpoint endpoint);
}
