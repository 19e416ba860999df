package io.jmesh.runtime;

import io.jmesh.runtime.retry.AttemptOutcome;
import io.jmesh.runtime.retry.RetryPolicy;

/**
 * One logical request to a mesh destination, as routed by {@link MeshRuntime#route}: it carries
 * the route, the backend and the route's policy, and drives the attempts an adapter sends.
 *
 * <p>An adapter's loop, in order:
 *
 * <ol>
 *   <li>{@link #admit} once: fault injection, rate limit, concurrency cap, deadline start;
 *   <li>per attempt: {@link #nextEndpoint()}, send with the timeout {@link #attemptTimeoutNanos()}
 *       and the header {@link #deadlineHeaderValue()}, then {@link #attemptFinished} with the
 *       outcome; its answer says whether to retry, and after how long;
 *   <li>{@link #finish()} once when the call ends, however it ends.
 * </ol>
 *
 * An adapter that cannot retry or admit may call only {@link #nextEndpoint()} and {@link
 * #attemptFinished} (the call then has no deadline and takes nothing from the retry budget).
 *
 * <p>Thread-safety: one call is driven by one adapter at a time (attempts may run on different
 * threads one after another); different calls are independent.
 */
public interface OutboundCall {
  /** The destination service's fully qualified name, for example {@code hello.default}. */
  String destination();

  /**
   * The authority to send in {@code Host} / {@code :authority}: what the application used, or the
   * route's rewritten host name (with the port the application used, if not the default).
   */
  String authority();

  /**
   * The route's header edits and rewrite. An adapter applies {@link
   * io.jmesh.runtime.config.RouteFilters#requestHeaders()} to every attempt it sends, after its
   * own headers (deadline, trace), and {@link io.jmesh.runtime.config.RouteFilters#responseHeaders()}
   * to the response the application gets. The default: none.
   */
  default io.jmesh.runtime.config.RouteFilters filters() {
    return io.jmesh.runtime.config.RouteFilters.NONE;
  }

  /**
   * The path every attempt sends instead of the application's (without the query, which the
   * adapter keeps), or {@code null} when the route does not rewrite it. The default: {@code null}.
   */
  default String rewrittenPath() {
    return null;
  }

  /**
   * Whether the route sends a copy of its requests elsewhere ({@link
   * io.jmesh.runtime.config.RouteFilters#mirror()}): an adapter builds a {@link RequestCopy} only
   * then. The default: no.
   */
  default boolean mirrors() {
    return false;
  }

  /**
   * Hands the route's mirror a copy of this call's request, fire-and-forget: the runtime decides
   * whether this request is copied (the mirror's percent), sends the copy on its own connection to
   * an endpoint of the mirror service with {@code -shadow} appended to the authority's host, never
   * retries it and discards its answer. Returns at once, never throws, and nothing of the copy
   * (latency, failure, a full cap) reaches this call. Call at most once, after a successful
   * {@link #admit}, before the first attempt; {@code null} says the client has no copy to give
   * (counted as skipped). The default does nothing.
   */
  default void mirror(RequestCopy copy) {}

  /** The name of the route that matched, for telemetry. */
  String routeName();

  /**
   * Admits the call before its first attempt; call at most once. Counts the call in the retry
   * budget, starts its deadline, applies the route's faults, the destination's rate limit and its
   * cap on requests in flight (the slot taken is given back by {@link #finish()}).
   *
   * @param bodyReplayable whether the adapter can send the body again; true when there is none
   * @param bodyLength the body's size, 0 for none, -1 when unknown (never replayed)
   */
  Admission admit(boolean bodyReplayable, long bodyLength);

  /**
   * Picks the endpoint for the next attempt, avoiding the previous attempt's endpoint and ejected
   * endpoints, or returns {@code null} when the chosen backend has no endpoint, or when the call
   * has had its {@link #maxAttempts()} endpoints already (the adapter then fails the call with
   * {@link #noEndpointMessage()}). Every endpoint handed out counts as an attempt, whether it was
   * sent to, failed to connect, or was given up for another pick.
   */
  Endpoint nextEndpoint();

  /** The message to fail the call with when {@link #nextEndpoint()} returned {@code null}. */
  String noEndpointMessage();

  /**
   * The timeout of the next attempt: the smaller of the route's per-try timeout and the time the
   * call's deadline leaves, in nanoseconds; {@code -1} when nothing limits the attempt. 0 means the
   * deadline has expired: send nothing, fail with {@link #deadlineMessage()}.
   */
  long attemptTimeoutNanos();

  /**
   * The value of the {@link io.jmesh.runtime.deadline.DeadlineHeader#NAME} header for the next
   * attempt (the time left, in milliseconds), or {@code null} when the call has no deadline.
   */
  String deadlineHeaderValue();

  /**
   * Reports how one attempt on {@code endpoint} ended and decides what follows: feeds the latency
   * to the balancer and the result to the circuit breaker, then applies the route's retry policy
   * (which takes a retry from the destination's budget when it answers RETRY).
   */
  RetryPolicy.Decision attemptFinished(Endpoint endpoint, AttemptOutcome outcome, long durationNanos);

  /**
   * Whether the call's deadline has expired; an adapter whose last attempt failed then fails the
   * call with {@link #deadlineMessage()} rather than the attempt's own error.
   */
  boolean deadlineExpired();

  /**
   * What the call's deadline leaves, in nanoseconds: 0 when it has expired, -1 when the call has
   * no deadline (or was not admitted).
   */
  long deadlineRemainingNanos();

  /**
   * The most attempts the call may make, the first included: the route's {@code retry.attempts}
   * (3 by default). {@link #nextEndpoint()} hands out no more endpoints than this.
   */
  int maxAttempts();

  /** The ticker the call's deadline and durations are measured with. */
  io.jmesh.runtime.time.Ticker ticker();

  /** One line saying that the call's deadline expired, naming the destination and the budget. */
  String deadlineMessage();

  /**
   * Says that the adapter refused the call itself before any attempt (for example {@code
   * no_mesh_identity}: the destination needs mesh TLS and this workload has none), so that the
   * call's metrics name the reason. Call before {@link #finish()}; the default ignores it.
   *
   * @param errorType a low-cardinality reason in snake case, used as the {@code error.type} label
   */
  default void refused(String errorType) {}

  /**
   * Says that the call is a gRPC call and ended with status {@code code} (0..16, what the
   * application got, however the call ended), so that its metrics carry {@code
   * rpc.grpc.status_code}. Call before {@link #finish()}; an attempt reported with a gRPC status
   * ({@link io.jmesh.runtime.retry.AttemptOutcome#withGrpcStatus}) says so too. The default
   * ignores it.
   */
  default void grpcStatus(int code) {}

  /**
   * Ends the call: gives back its place among the requests in flight and records its metrics
   * (one update per call). Idempotent.
   */
  void finish();
}
