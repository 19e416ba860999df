package io.jmesh.runtime.inbound;

import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.telemetry.ServerMeters;
import java.util.EnumMap;
import java.util.Locale;
import java.util.concurrent.atomic.LongAdder;

/**
 * Server-side counts of the inbound path: requests forwarded by result, refusals by authorization,
 * and the time from a request's arrival to its response being written. Every event also goes to
 * the workload's {@link ServerMeters} (Micrometer: {@code http.server.request.duration} by caller,
 * method, status and error type, {@code jmesh.server.authorization.denied}, ...); the totals here
 * stay for tests and cheap reads. Thread-safe.
 */
public final class InboundStats {
  /**
   * Why the listener refused or closed something a caller sent, beyond the authorization policy
   * (counted apart, by {@link #denied}). Each is one knob of {@link InboundTerminator.Limits} or
   * {@link InboundTerminator.Options}; the metric's {@code reason} is the name in lower case.
   */
  public enum Refusal {
    /** More requests waited for the application than {@code maxPendingRequests}: 503. */
    PENDING_FULL,
    /** Every h2c connection the gRPC relay may open was full: UNAVAILABLE. */
    GRPC_CONNECTIONS,
    /**
     * More HTTP/1.1 requests pipelined on one connection ahead of their answers than {@link
     * Http1Sequencer#MAX_READ_AHEAD}: 503 in its turn, then closed.
     */
    PIPELINE_FULL,
    /** A request body above {@code maxBodyBytes}: 413. */
    BODY_TOO_LARGE,
    /** A request header block above {@code maxHeaderListBytes}: 431 (HTTP/1.1 also closed). */
    HEADERS_TOO_LARGE,
    /** An HTTP/1.1 request that did not parse: 400 and closed. */
    BAD_REQUEST,
    /** An HTTP/2 stream beyond {@code maxConcurrentStreams}: {@code REFUSED_STREAM}. */
    HTTP2_STREAM_LIMIT,
    /**
     * A flood Netty's HTTP/2 codec ends with GOAWAY {@code ENHANCE_YOUR_CALM}: too many resets
     * within the window, either way (rapid reset, refused streams), or empty DATA frames.
     */
    HTTP2_FLOOD,
    /** A connection that sent no complete request header within {@code requestHeaderTimeout}: closed. */
    REQUEST_HEADER_TIMEOUT,
    /** A connection without traffic or requests for {@code idleTimeout}: closed. */
    IDLE_TIMEOUT
  }

  private final ServerMeters meters;
  private final LongAdder connections = new LongAdder();
  private final LongAdder requests = new LongAdder();
  private final LongAdder success = new LongAdder(); // status < 500
  private final LongAdder serverErrors = new LongAdder(); // 5xx from the application
  private final LongAdder unreachable = new LongAdder(); // the application did not answer: 502
  private final LongAdder denied = new LongAdder();
  private final LongAdder audited = new LongAdder();
  private final LongAdder opaqueConnections = new LongAdder();
  private final LongAdder latencyNanos = new LongAdder();
  private final EnumMap<Refusal, LongAdder> refusals = new EnumMap<>(Refusal.class);

  /** Counts, and the meters of this workload's service. */
  public InboundStats(ServerMeters meters) {
    this.meters = java.util.Objects.requireNonNull(meters, "meters");
    for (Refusal r : Refusal.values()) {
      refusals.put(r, new LongAdder()); // filled once: read without locks afterwards
    }
  }

  void recordConnection() {
    connections.increment();
    meters.connectionAccepted();
  }

  /** An HTTP request arrived; exactly one of forwarded, unreachable or denied follows. */
  void recordStarted() {
    meters.requestStarted();
  }

  void recordForwarded(String method, SpiffeId caller, int status, long nanos) {
    requests.increment();
    (status >= 500 ? serverErrors : success).increment();
    latencyNanos.add(nanos);
    meters.requestFinished(method, peer(caller), status, status >= 500 ? Integer.toString(status) : null, nanos);
  }

  void recordUnreachable(String method, SpiffeId caller, long nanos) {
    requests.increment();
    unreachable.increment();
    latencyNanos.add(nanos);
    meters.requestFinished(method, peer(caller), 502, "application_unreachable", nanos);
  }

  /** An HTTP request refused with 403. */
  void recordDenied(String method, SpiffeId caller, long nanos) {
    requests.increment();
    denied.increment();
    meters.denied(peer(caller), "http");
    meters.requestFinished(method, peer(caller), 403, "authorization_denied", nanos);
  }

  /**
   * A gRPC call relayed to the application ended: with the application's answer, a reset, or the
   * caller's cancel. {@code grpcStatus} is the code the caller got (-1 when none arrived); a
   * non-OK code is the call's error type (its name: {@code NOT_FOUND}), and the codes that mean
   * the server failed ({@link GrpcRelay#isServerError}) count as server errors.
   */
  void recordGrpcFinished(SpiffeId caller, String path, int httpStatus, int grpcStatus, long nanos) {
    requests.increment();
    boolean serverError = httpStatus >= 500 || GrpcRelay.isServerError(grpcStatus);
    (serverError ? serverErrors : success).increment();
    latencyNanos.add(nanos);
    String errorType;
    if (grpcStatus > 0) {
      errorType = GrpcRelay.statusName(grpcStatus);
    } else if (httpStatus >= 500) {
      errorType = Integer.toString(httpStatus);
    } else {
      errorType = grpcStatus < 0 ? "grpc_status_missing" : null; // an answer that is no gRPC answer
    }
    meters.requestFinished("POST", peer(caller), httpStatus, errorType, nanos);
    meters.rpcFinished(peer(caller), path, grpcStatus, nanos);
  }

  /**
   * A gRPC call the application did not answer: the caller got UNAVAILABLE (HTTP 200), or a
   * REFUSED_STREAM that its gRPC library reads as UNAVAILABLE.
   */
  void recordGrpcUnreachable(SpiffeId caller, String path, long nanos) {
    requests.increment();
    unreachable.increment();
    latencyNanos.add(nanos);
    meters.requestFinished("POST", peer(caller), 200, "application_unreachable", nanos);
    meters.rpcFinished(peer(caller), path, GrpcRelay.UNAVAILABLE, nanos);
  }

  /** A gRPC call refused with PERMISSION_DENIED (HTTP 200, trailers only). */
  void recordGrpcDenied(SpiffeId caller, String path, long nanos) {
    requests.increment();
    denied.increment();
    meters.denied(peer(caller), "grpc");
    meters.requestFinished("POST", peer(caller), 200, "authorization_denied", nanos);
    meters.rpcFinished(peer(caller), path, GrpcRelay.PERMISSION_DENIED, nanos);
  }

  /** An opaque TCP connection refused (closed). */
  void recordDenied(SpiffeId caller) {
    requests.increment();
    denied.increment();
    meters.denied(peer(caller), "tcp");
  }

  /** A refusal that is not a request's answer (a connection closed, a stream refused). */
  void recordRefused(Refusal reason) {
    refusals.get(reason).increment();
    meters.refused(reason.name().toLowerCase(Locale.ROOT));
  }

  /**
   * A request the listener answered itself with {@code status} (413, 431, 503) for {@code reason}:
   * counted as a request, as a refusal, and in the duration metric with the reason as error type.
   */
  void recordRefused(Refusal reason, String method, SpiffeId caller, int status, long nanos) {
    requests.increment();
    recordRefused(reason);
    meters.requestFinished(method, peer(caller), status, reason.name().toLowerCase(Locale.ROOT), nanos);
  }

  void recordAudited(SpiffeId caller, String protocol) {
    audited.increment();
    meters.audited(peer(caller), protocol);
  }

  void recordOpaque() {
    opaqueConnections.increment();
  }

  private static String peer(SpiffeId caller) {
    return caller == null ? null : caller.toString();
  }

  /** Connections accepted by the listener (TLS or not). */
  public long connections() {
    return connections.sum();
  }

  /** Requests received (forwarded, unreachable or denied). */
  public long requests() {
    return requests.sum();
  }

  public long succeeded() {
    return success.sum();
  }

  public long serverErrors() {
    return serverErrors.sum();
  }

  public long unreachable() {
    return unreachable.sum();
  }

  /** Requests refused with 403 by the authorization policy. */
  public long denied() {
    return denied.sum();
  }

  /** Requests an audit-mode policy would have denied, let through. */
  public long audited() {
    return audited.sum();
  }

  /** Requests, streams and connections refused or closed for {@code reason}. */
  public long refusals(Refusal reason) {
    return refusals.get(reason).sum();
  }

  public long opaqueConnections() {
    return opaqueConnections.sum();
  }

  /** Sum of server-side latencies of forwarded requests, in nanoseconds. */
  public long latencyNanosTotal() {
    return latencyNanos.sum();
  }
}
