package io.jmesh.instrumentation.grpc.v1_60;

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
    // On the code's number: a switch on the enum would compile to one more (synthetic) helper class.
    switch (status.getCode().value()) {
      case 0: // OK
        return 200;
      case 1: // CANCELLED
        return 499;
      case 3: // INVALID_ARGUMENT
      case 9: // FAILED_PRECONDITION
      case 11: // OUT_OF_RANGE
        return 400;
      case 5: // NOT_FOUND
        return 404;
      case 6: // ALREADY_EXISTS
      case 10: // ABORTED
        return 409;
      case 7: // PERMISSION_DENIED
        return 403;
      case 16: // UNAUTHENTICATED
        return 401;
      case 8: // RESOURCE_EXHAUSTED
        return 429;
      case 12: // UNIMPLEMENTED
        return 501;
      case 14: // UNAVAILABLE
        return 503;
      case 4: // DEADLINE_EXCEEDED
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
