package io.jmesh.bridge;

/**
 * What a gRPC adapter supplies to {@link BridgeCall#startRpc}: how to start one attempt of an RPC
 * and how to close the application's call. The runtime's call driver does the rest (admission,
 * fault injection, the attempt loop, retries and their backoff, the deadline, recording), so the
 * adapter never decides any of it. Called on any thread; never two attempts at once.
 *
 * @param <A> the adapter's record of how one attempt closed (its status and trailers)
 */
public interface BridgeRpc<A> {
  /**
   * Starts one attempt to {@link Attempt#endpoint()} with {@link Attempt#timeoutNanos()} as its
   * deadline (when stricter than the application's) and the call's {@link
   * BridgeCall#traceHeaders()}, and reports its close on {@code attempt}, now or later. An
   * exception thrown here ends the RPC with it.
   */
  void send(Attempt<A> attempt);

  /** The gRPC status code (0..16) that {@code close} carries: what the application gets. */
  int code(A close);

  /** The RPC ends with the last attempt's {@code close}: give it to the application. */
  void answered(A close);

  /**
   * The mesh ends the RPC itself, with gRPC status {@code code} and {@code description}: a
   * refusal (described {@code jmesh: refused (HTTP status): reason}), an expired deadline
   * (DEADLINE_EXCEEDED), no endpoint (UNAVAILABLE), the application's cancellation.
   */
  void ended(int code, String description, Throwable cause);

  /** One attempt, as the driver asks for it. Reported once; later reports are ignored. */
  interface Attempt<A> {
    /** Where to send. */
    BridgeEndpoint endpoint();

    /** The attempt's timeout in nanoseconds, -1 for none (never 0). */
    long timeoutNanos();

    /**
     * The application has seen part of this attempt's answer (headers, a message), the RPC is a
     * stream, or the application cancelled it: the RPC ends with this attempt, never retried.
     */
    void commit();

    /**
     * The attempt closed with {@code close}. {@code httpStatus}: its gRPC status as HTTP
     * (UNAVAILABLE 503, 0 when it is reported as {@code error}); {@code grpcStatus}: the
     * stream's own code, -1 when the attempt never became a stream (its endpoint could not be
     * connected: {@code error} is then a {@link java.net.ConnectException}); {@code error}: why
     * it failed without a status (a timeout, a connect failure), else {@code null}.
     */
    void closed(A close, int httpStatus, int grpcStatus, Throwable error);
  }

  /** An RPC the driver runs. */
  interface Handle {
    /**
     * The application cancelled the RPC while no attempt was in flight (before the first, or in
     * a retry's backoff): ends it now with {@code code} and {@code description}, through {@link
     * #ended}. An attempt in flight is cancelled by the adapter instead, and committed.
     */
    void cancel(int code, String description, Throwable cause);
  }
}
