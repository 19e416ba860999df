package io.jmesh.agent.tooling;

import io.jmesh.bridge.AgentLog;
import io.jmesh.bridge.BridgeRpc;
import io.jmesh.runtime.Admission;
import io.jmesh.runtime.NoEndpointException;
import io.jmesh.runtime.OutboundCall;
import io.jmesh.runtime.call.CallDriver;
import io.jmesh.runtime.call.Outcomes;
import io.jmesh.runtime.call.Timer;
import io.jmesh.runtime.deadline.DeadlineExceededException;
import io.jmesh.runtime.retry.AttemptOutcome;
import io.jmesh.runtime.trace.ClientSpan;
import java.util.concurrent.CancellationException;

/**
 * One gRPC call of a woven gRPC adapter, driven by the runtime's {@link CallDriver} on {@link
 * Timer#delayed()}: runtime types to bridge types and back. Decides only what the bridge leaves
 * to it: the gRPC status of an RPC the mesh ends itself, and that status code in the call's
 * metrics ({@link OutboundCall#grpcStatus}, said before the call finishes).
 *
 * <p>Thread-safety: the driver's; the fields written by an attempt's report are read by the end
 * of the call that the same report causes, or after a hand-over through the driver.
 */
final class MeshRpc<A> implements CallDriver.Sender<A>, CallDriver.Listener<A>, BridgeRpc.Handle {
  private final OutboundCall call;
  private final MeshCalls.Call owner;
  private final boolean unary;
  private final BridgeRpc<A> rpc;
  private volatile CallDriver<A> driver;
  private volatile A lastClose; // the last attempt's close when it was reported with an error
  private volatile Throwable lastError;
  private volatile Cancelled cancelled;
  // How the RPC ends, decided in ending() (before finish) and given to the adapter after it.
  private int endCode;
  private String endDescription;
  private Throwable endCause;
  private A endClose;

  private MeshRpc(MeshCalls.Call owner, OutboundCall call, boolean unary, BridgeRpc<A> rpc) {
    this.owner = owner;
    this.call = call;
    this.unary = unary;
    this.rpc = rpc;
  }

  static <A> BridgeRpc.Handle start(
      MeshCalls.Call owner, OutboundCall call, boolean unary, BridgeRpc<A> rpc, CallDriver.Observer observer) {
    MeshRpc<A> r = new MeshRpc<>(owner, call, unary, rpc);
    // The one request message of a unary RPC is kept by the adapter, whatever its size, as
    // gRPC's own retries keep it; streams are never replayed.
    r.driver = CallDriver.start(call, unary, unary ? 0 : -1, r, r, Timer.delayed(), observer);
    return r;
  }

  @Override
  public void send(CallDriver.Attempt<A> attempt) {
    MeshEndpoint endpoint = new MeshEndpoint(attempt.endpoint(), owner.meshTlsContext());
    rpc.send(
        new BridgeRpc.Attempt<A>() {
          @Override
          public MeshEndpoint endpoint() {
            return endpoint;
          }

          @Override
          public long timeoutNanos() {
            return attempt.timeoutNanos();
          }

          @Override
          public void commit() {
            attempt.commit();
          }

          @Override
          public void closed(A close, int httpStatus, int grpcStatus, Throwable error) {
            if (!unary) {
              attempt.commit(); // streams are never retried, not even after a connect failure
            }
            AttemptOutcome outcome = httpStatus > 0 ? Outcomes.of(httpStatus) : Outcomes.classify(error);
            if (grpcStatus >= 0 && grpcStatus <= 16) {
              outcome = outcome.withGrpcStatus(grpcStatus);
            }
            if (error == null) {
              attempt.succeeded(close, outcome, httpStatus);
            } else {
              lastClose = close;
              lastError = error;
              attempt.failed(outcome, error);
            }
          }
        });
  }

  @Override
  public void cancel(int code, String description, Throwable cause) {
    Cancelled c = new Cancelled(code, description, cause);
    cancelled = c;
    driver.cancel(c);
  }

  @Override
  public void ending(A response, Throwable error, Admission refusal) {
    if (refusal != null) {
      endCode = refusalCode(refusal.status());
      endDescription = "jmesh: refused (HTTP " + refusal.status() + "): " + refusal.reason();
    } else if (response != null) {
      endClose = response;
    } else if ((error != null && error == lastError)
        || (error instanceof DeadlineExceededException && error.getCause() != null && error.getCause() == lastError)) {
      // The last attempt's own close: the status gRPC gave it (a connect failure's UNAVAILABLE,
      // DEADLINE_EXCEEDED), as the application would have had it without the mesh.
      endClose = lastClose;
    } else if (error instanceof Cancelled c) {
      endCode = c.code;
      endDescription = c.getMessage();
      endCause = c.getCause();
    } else if (error instanceof DeadlineExceededException) {
      endCode = 4; // DEADLINE_EXCEEDED
      endDescription = error.getMessage();
    } else if (error instanceof NoEndpointException) {
      endCode = 14; // UNAVAILABLE
      endDescription = error.getMessage();
    } else {
      endCode = 2; // UNKNOWN: the adapter could not start an attempt
      endDescription = "jmesh: " + call.destination() + ": " + error;
      endCause = error;
    }
    try {
      call.grpcStatus(endClose != null ? rpc.code(endClose) : endCode);
    } catch (RuntimeException | LinkageError e) {
      AgentLog.warn("grpc: could not read an RPC's status for its metrics", e);
    }
  }

  @Override
  public void onResponse(A response) {
    answer();
  }

  @Override
  public void onRefused(Admission refusal) {
    ClientSpan span = owner.span();
    if (span != null) {
      span.refused(refusal.status(), refusal.refusal().header());
    }
    answer();
  }

  @Override
  public void onFailed(Throwable error) {
    answer();
  }

  private void answer() {
    if (endClose != null) {
      rpc.answered(endClose);
    } else {
      rpc.ended(endCode, endDescription, endCause);
    }
  }

  /**
   * The gRPC status for a call the runtime refused before sending it: 429 (rate limited)
   * RESOURCE_EXHAUSTED, 503 (overloaded, no identity) UNAVAILABLE, 504 (deadline already spent)
   * DEADLINE_EXCEEDED; a fault's abort status as gRPC maps HTTP statuses.
   */
  static int refusalCode(int httpStatus) {
    switch (httpStatus) {
      case 429:
        return 8; // RESOURCE_EXHAUSTED
      case 502:
      case 503:
        return 14; // UNAVAILABLE
      case 504:
        return 4; // DEADLINE_EXCEEDED
      case 400:
        return 13; // INTERNAL
      case 401:
        return 16; // UNAUTHENTICATED
      case 403:
        return 7; // PERMISSION_DENIED
      case 404:
        return 12; // UNIMPLEMENTED
      default:
        return 2; // UNKNOWN
    }
  }

  /** The application's cancellation, as the driver's reason to end the call. */
  private static final class Cancelled extends CancellationException {
    final int code;

    Cancelled(int code, String description, Throwable cause) {
      super(description);
      this.code = code;
      initCause(cause);
    }
  }
}
