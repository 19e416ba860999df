package io.jmesh.runtime.retry;

/**
 * How one attempt ended, as classified by the adapter. Immutable; the outcomes without a status
 * code are shared constants.
 */
public final class AttemptOutcome {
  /** The kinds of outcome that matter to retry decisions. */
  public enum Kind {
    /** A good response (or a non-HTTP success): the call is done. */
    SUCCESS,
    /**
     * The connection (TCP or TLS handshake) could not be made: no byte of the request reached the
     * server, so even a non-idempotent request is safe to send again.
     */
    CONNECT_FAILURE,
    /** The connection or stream was reset after the request may have been (partly) sent. */
    RESET,
    /** The per-try timeout fired before a response arrived. */
    TIMEOUT,
    /** A response arrived with {@link #statusCode()}. */
    HTTP_STATUS,
    /** Any other failure (protocol error, local I/O error); never retried. */
    OTHER_ERROR
  }

  private static final AttemptOutcome SUCCESS = new AttemptOutcome(Kind.SUCCESS, 0);
  private static final AttemptOutcome CONNECT_FAILURE = new AttemptOutcome(Kind.CONNECT_FAILURE, 0);
  private static final AttemptOutcome RESET = new AttemptOutcome(Kind.RESET, 0);
  private static final AttemptOutcome TIMEOUT = new AttemptOutcome(Kind.TIMEOUT, 0);
  private static final AttemptOutcome OTHER_ERROR = new AttemptOutcome(Kind.OTHER_ERROR, 0);

  // One outcome per status code, made on first use: adapters report one per attempt.
  private static final AttemptOutcome[] STATUS = new AttemptOutcome[600];

  private final Kind kind;
  private final int statusCode;
  private final int grpcStatus;

  private AttemptOutcome(Kind kind, int statusCode) {
    this(kind, statusCode, -1);
  }

  private AttemptOutcome(Kind kind, int statusCode, int grpcStatus) {
    this.kind = kind;
    this.statusCode = statusCode;
    this.grpcStatus = grpcStatus;
  }

  public static AttemptOutcome success() {
    return SUCCESS;
  }

  public static AttemptOutcome connectFailure() {
    return CONNECT_FAILURE;
  }

  public static AttemptOutcome reset() {
    return RESET;
  }

  public static AttemptOutcome timeout() {
    return TIMEOUT;
  }

  public static AttemptOutcome otherError() {
    return OTHER_ERROR;
  }

  /**
   * A response with HTTP status {@code code}.
   *
   * @throws IllegalArgumentException when {@code code} is not in 100..599
   */
  public static AttemptOutcome status(int code) {
    if (code < 100 || code > 599) {
      throw new IllegalArgumentException("status: " + code + " (expected: 100..599)");
    }
    AttemptOutcome outcome = STATUS[code];
    if (outcome == null) {
      // Racing threads may each make one; they are equal and immutable, so either will do.
      outcome = new AttemptOutcome(Kind.HTTP_STATUS, code);
      STATUS[code] = outcome;
    }
    return outcome;
  }

  /**
   * This outcome as the end of a gRPC attempt with status {@code code} (0..16): the kind and
   * HTTP status stay what the adapter mapped the code to (UNAVAILABLE a 503, DEADLINE_EXCEEDED a
   * timeout), for the breaker and the balancer; the code is what a route's gRPC retry conditions
   * ({@code retry.on: [unavailable]}) match.
   *
   * @throws IllegalArgumentException when {@code code} is not in 0..16
   */
  public AttemptOutcome withGrpcStatus(int code) {
    if (code < 0 || code > 16) {
      throw new IllegalArgumentException("grpcStatus: " + code + " (expected: a gRPC status code in 0..16)");
    }
    return new AttemptOutcome(kind, statusCode, code);
  }

  public Kind kind() {
    return kind;
  }

  /** The HTTP status for {@link Kind#HTTP_STATUS}, otherwise 0. */
  public int statusCode() {
    return statusCode;
  }

  /** The gRPC status code of a gRPC attempt ({@link #withGrpcStatus}), otherwise -1. */
  public int grpcStatus() {
    return grpcStatus;
  }

  /** Whether the call is done and good: {@link Kind#SUCCESS} or a 1xx..3xx status. */
  public boolean isSuccess() {
    return kind == Kind.SUCCESS || (kind == Kind.HTTP_STATUS && statusCode < 400);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof AttemptOutcome other
        && other.kind == kind
        && other.statusCode == statusCode
        && other.grpcStatus == grpcStatus;
  }

  @Override
  public int hashCode() {
    return (kind.hashCode() * 31 + statusCode) * 31 + grpcStatus;
  }

  @Override
  public String toString() {
    String s = kind == Kind.HTTP_STATUS ? "HTTP_STATUS(" + statusCode + ")" : kind.name();
    return grpcStatus < 0 ? s : s + " grpc-status " + grpcStatus;
  }
}
