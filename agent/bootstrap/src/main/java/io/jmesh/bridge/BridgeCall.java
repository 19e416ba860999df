package io.jmesh.bridge;

/**
 * One request to a mesh destination, already routed, with its route's policy. Woven code hands
 * the whole call to the runtime's one call driver, which does admission, fault injection, the
 * attempts with their endpoints, timeouts, retries and backoff, the deadline and recording:
 * {@link #execute} for a blocking client, {@link #startRpc} for a gRPC call. The woven code only
 * sends one attempt when asked, with the logical {@link #authority()} as Host, {@link
 * #DEADLINE_HEADER} set to {@link #deadlineHeaderValue()} when that is not {@code null}, and each
 * pair of {@link #traceHeaders()} set. There is deliberately no step-by-step API here: every
 * client follows the same rules because none can write its own copy of them.
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
   * deadline ran out, or a {@link MeshRefusal} (no endpoint). Ends the call.
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
   * never retried. Ends the call.
   *
   * @param unary whether the RPC is unary (its one request message is kept for a retry)
   */
  default <A> BridgeRpc.Handle startRpc(boolean unary, BridgeRpc<A> rpc) {
    throw new UnsupportedOperationException("the agent's calls implement startRpc; " + this + " does not");
  }

  /** The authority the application addressed; send it as {@code Host} / {@code :authority}. */
  String authority();

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
   * The route's edits of every attempt's request headers, or {@code null} for none: {@code
   * [0]} names to remove, {@code [1]} name/value pairs to set (replacing every value the
   * application sent under that name), {@code [2]} name/value pairs to add (after any values
   * already there). Apply them in that order, before the deadline and trace headers. The arrays
   * are shared: never modify them.
   */
  default String[][] requestHeaderEdits() {
    return null;
  }

  /**
   * The route's edits of the response headers the application sees, or {@code null} for none, in
   * the shape of {@link #requestHeaderEdits()}: apply them (remove, set, add) to the head of the
   * response an attempt got from the destination, never to the mesh's own refusals. Apply them to
   * a copy and hand the application the copy only once every edit went in: on any error, hand it
   * the response as received and report the error with {@link
   * MeshBridge#responseHeadersNotEdited}. The arrays are shared: never modify them.
   */
  default String[][] responseHeaderEdits() {
    return null;
  }

  /**
   * The path (without query) every attempt sends instead of the application's, the route's URL
   * rewrite, or {@code null} to keep the application's. Keep the application's query.
   */
  default String rewrittenPath() {
    return null;
  }

  /** Whether the call's deadline has expired. */
  boolean deadlineExpired();

  /** One line saying that the deadline expired, naming the destination and the budget. */
  String deadlineMessage();
}
