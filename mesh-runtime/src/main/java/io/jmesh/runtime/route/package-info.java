/**
 * Routing, the "logical" stage of the outbound path: each snapshot compiled into an immutable
 * {@link io.jmesh.runtime.route.RouteTable} that maps a request to its destination, route and
 * backend, and the per-destination state (breaker, retry budget, in-flight cap, rate limit) that
 * outlives snapshots; public only for {@code io.jmesh.runtime}, not an API.
 */
package io.jmesh.runtime.route;
