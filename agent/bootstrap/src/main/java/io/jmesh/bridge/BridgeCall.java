package io.jmesh.bridge;

import java.util.concurrent.CompletableFuture;

/**
 * One request to a mesh destination, already routed, with its route's policy. Woven code drives
 * it in this order:
 *
 * <ol>
 *   <li>{@link #admit} once. A non-zero answer refuses the call: answer the application with that
 *       status and {@link #refusalReason()} as the body and {@link #REFUSED_HEADER} set to {@link
 *       #refusalKind()} (or, where the client cannot be handed a response, fail the call with a
 *       {@link MeshRefusal} carrying the reason). Otherwise wait {@link #admissionDelayNanos()},
 *       then for {@link #admissionSlot()} when it is not {@code null};
 *   <li>per attempt: {@link #nextEndpoint()}; send there with the logical {@link #authority()} as
 *       Host, {@link #DEADLINE_HEADER} set to {@link #deadlineHeaderValue()} when that is not
 *       {@code null}, each pair of {@link #traceHeaders()} set (replacing the application's values),
 *       and {@link #attemptTimeoutNanos()} as the attempt's timeout; report with
 *       {@link #attemptFinished}, whose answer is the delay before the next attempt, or -1 to stop;
 *   <li>when the last attempt failed and {@link #deadlineExpired()}, fail the call with a timeout
 *       carrying {@link #deadlineMessage()};
 *   <li>{@link #finish()} once, however the call ended.
 * </ol>
 *
 * Woven code that cannot retry may skip {@link #admit} and treat every answer of {@link
 * #attemptFinished} as -1.
 */
public interface BridgeCall {
  /** The header that carries the call's deadline to the next hop, in milliseconds left. */
  String DEADLINE_HEADER = "x-jmesh-deadline-ms";

  /** The header a refusal response carries, naming what refused the call. */
  String REFUSED_HEADER = "x-jmesh-refused";

  /**
   * Drives the whole call on this thread, the way every client's call goes (admission, fault
   * injection, attempts, retries and their backoff, the deadline, recording), and returns the
   * application's answer: the last attempt's response, or {@link BridgeSender#refused} for a
   * refusal. Throws the last attempt's error, {@link BridgeSender#deadlineExceeded} when the
   * deadline ran out, or a {@link MeshRefusal} (no endpoint). Ends the call: do not call the
   * other methods of this call, nor {@link #finish()}, afterwards.
   *
   * @param bodyReplayable whether the body can be sent again; true when there is none
   * @param bodyLength the body's size: 0 for none, -1 when unknown (never replayed)
   */
  default <R> R execute(boolean bodyReplayable, long bodyLength, BridgeSender<R> sender)
      throws java.io.IOException {
    throw new UnsupportedOperationException("the agent's calls implement execute; " + this + " does not");
  }

  /**
   * Starts a gRPC call's whole path, the way every client's call goes (admission, fault
   * injection, attempts, retries and their backoff, the deadline, recording), asynchronously: the
   * runtime asks {@code rpc} for each attempt and tells it how the RPC ends. Streaming RPCs are
   * never retried. Ends the call: do not call the other methods of this call, nor {@link
   * #finish()}, afterwards.
   *
   * @param unary whether the RPC is unary (its one request message is kept for a retry)
   */
  default <A> BridgeRpc.Handle startRpc(boolean unary, BridgeRpc<A> rpc) {
    throw new UnsupportedOperationException("the agent's calls implement startRpc; " + this + " does not");
  }

  /** The authority the application addressed; send it as {@code Host} / {@code :authority}. */
  String authority();

  /**
   * Admits the call: 0 to go on, or the HTTP status to refuse it with (fault abort, 429 rate
   * limited, 503 overloaded, 504 deadline already expired).
   *
   * @param bodyReplayable whether the body can be sent again; true when there is none
   * @param bodyLength the body's size: 0 for none, -1 when unknown (never replayed)
   */
  int admit(boolean bodyReplayable, long bodyLength);

  /** Why {@link #admit} refused the call, one line; {@code null} when it did not. */
  String refusalReason();

  /** What refused the call, for example {@code rate-limited}; {@code null} when nothing did. */
  String refusalKind();

  /** How long to hold the first attempt back (an injected delay), in nanoseconds. */
  long admissionDelayNanos();

  /** Completes when the call may start; {@code null} when it need not wait. */
  CompletableFuture<Void> admissionSlot();

  /** The endpoint for the next attempt, or {@code null} when the destination has none. */
  BridgeEndpoint nextEndpoint();

  /** The message to fail the call with when {@link #nextEndpoint()} returned {@code null}. */
  String noEndpointMessage();

  /**
   * The next attempt's timeout in nanoseconds, {@code -1} for none; 0 when the deadline has
   * expired (send nothing).
   */
  long attemptTimeoutNanos();

  /** The value of {@link #DEADLINE_HEADER} for the next attempt, or {@code null}. */
  String deadlineHeaderValue();

  /**
   * The trace headers for the next attempt as name/value pairs in one array ({@code traceparent},
   * maybe {@code tracestate} and B3), naming the call's span as the next hop's parent; set each,
   * replacing what the application sent under that name. {@code null} when tracing is off: leave
   * the application's headers as they are. The array is shared: never modify it.
   */
  default String[] traceHeaders() {
    return null;
  }

  /**
   * Reports one attempt and decides what follows: the delay in nanoseconds before the next
   * attempt, or -1 when the call ends with this attempt's result.
   *
   * @param status the HTTP status received, 0 when the attempt failed without one
   * @param error why the attempt failed without a status, or {@code null}
   */
  long attemptFinished(BridgeEndpoint endpoint, int status, Throwable error, long durationNanos);

  /** Whether the call's deadline has expired. */
  boolean deadlineExpired();

  /** One line saying that the deadline expired, naming the destination and the budget. */
  String deadlineMessage();

  /** Ends the call; idempotent. */
  void finish();
}
