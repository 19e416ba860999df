/**
 * Keeps traffic away from what cannot take it: per-endpoint circuit breakers with a cap on
 * ejections ({@link io.jmesh.runtime.breaker.EndpointHealth}), per-destination concurrency limits
 * ({@link io.jmesh.runtime.breaker.ConcurrencyLimit}) and the load split across priority levels
 * ({@link io.jmesh.runtime.breaker.PriorityFailover}). The balancer consults the first and the
 * third; the call path the second.
 */
package io.jmesh.runtime.breaker;
