package io.jmesh.runtime;

/**
 * One logical request to a mesh destination, as routed by {@link MeshRuntime#route}. The adapter
 * asks for an endpoint per attempt and reports each attempt's result; the call remembers the
 * route and backend chosen for it.
 *
 * <p>Thread-safety: one call is driven by one adapter at a time; different calls are independent.
 */
public interface OutboundCall {
  /** The destination service's fully qualified name, for example {@code hello.default}. */
  String destination();

  /** The authority to send in {@code Host} / {@code :authority}: what the application used. */
  String authority();

  /** The name of the route that matched, for telemetry. */
  String routeName();

  /**
   * Picks the endpoint for the next attempt, or returns {@code null} when the chosen backend has
   * no endpoint (the adapter then fails the call with {@link NoEndpointException}).
   */
  Endpoint nextEndpoint();

  /** Reports the result of one attempt on {@code endpoint}. */
  void attemptFinished(Endpoint endpoint, boolean success, long durationNanos);
}
