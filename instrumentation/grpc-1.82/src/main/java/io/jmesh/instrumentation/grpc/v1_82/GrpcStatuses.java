package io.jmesh.instrumentation.grpc.v1_82;

import io.grpc.Status;
import java.io.InterruptedIOException;
import java.net.ConnectException;

/**
 * How the runtime, which speaks HTTP, sees a gRPC status: the HTTP status gRPC's own mapping
 * gives it (as grpc-gateway and Envoy's gRPC-JSON transcoder do), so that the breaker and the
 * balancer count UNAVAILABLE, INTERNAL and the like as the endpoint's failure and application
 * errors such as NOT_FOUND as its job done. DEADLINE_EXCEEDED is a timeout.
 */
final class GrpcStatuses {
  private GrpcStatuses() {}

  /** The HTTP status for the runtime; 0 when the attempt is reported as an error instead. */
  static int httpStatus(Status status) {
    switch (status.getCode()) {
      case OK:
        return 200;
      case CANCELLED:
        return 499;
      case INVALID_ARGUMENT:
      case FAILED_PRECONDITION:
      case OUT_OF_RANGE:
        return 400;
      case NOT_FOUND:
        return 404;
      case ALREADY_EXISTS:
      case ABORTED:
        return 409;
      case PERMISSION_DENIED:
        return 403;
      case UNAUTHENTICATED:
        return 401;
      case RESOURCE_EXHAUSTED:
        return 429;
      case UNIMPLEMENTED:
        return 501;
      case UNAVAILABLE:
        return 503;
      case DEADLINE_EXCEEDED:
        return 0;
      default: // UNKNOWN, INTERNAL, DATA_LOSS
        return 500;
    }
  }

  /** The error to report with {@link #httpStatus} 0, else {@code null}. */
  static Throwable error(Status status) {
    return status.getCode() == Status.Code.DEADLINE_EXCEEDED
        ? new InterruptedIOException("gRPC DEADLINE_EXCEEDED: " + status.getDescription())
        : null;
  }

  /** What a pick reports for an endpoint whose subchannel cannot connect: nothing was sent. */
  static ConnectException notConnected(String why) {
    return new ConnectException("jmesh: " + why);
  }
}
