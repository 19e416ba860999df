package io.jmesh.instrumentation.grpc.v1_60;

import io.grpc.CallOptions;
import io.grpc.ClientStreamTracer;
import io.grpc.ConnectivityState;
import io.grpc.LoadBalancer.PickResult;
import io.grpc.Metadata;
import io.grpc.Status;
import io.jmesh.bridge.BridgeCall;
import io.jmesh.bridge.BridgeEndpoint;
import io.jmesh.bridge.MeshBridge;

/**
 * One attempt of an RPC on a meshed channel: the runtime's call (routed by {@link
 * MeshClientInterceptor} when the RPC starts) and the endpoint of this attempt. It travels from the interceptor to the picker
 * in the RPC's {@link CallOptions}.
 *
 * <p>Every endpoint the runtime hands out ({@code nextEndpoint}, which counts the attempt in
 * flight) is reported back exactly once: by the attempt's stream tracer when the stream closes,
 * as a connect failure when its subchannel cannot connect, or with the RPC's status when the RPC
 * ends before a stream was made. While the chosen endpoint's subchannel is still connecting the
 * RPC keeps that choice and waits (the picker answers "no result", gRPC buffers the RPC and picks
 * again on the next picker), so waiting costs the runtime no extra pick.
 *
 * <p>Thread-safety: gRPC picks for one RPC one at a time, but a stream may close on a transport
 * thread while the RPC ends on the application's executor; the short critical sections on this
 * object (uncontended in practice) keep the one-report rule.
 */
final class RpcState {
  static final CallOptions.Key<RpcState> KEY = CallOptions.Key.createWithDefault("jmesh-rpc", null);

  /** Whether the RPC's channel speaks mesh TLS; if not, endpoints that require it are refused. */
  private final boolean meshTlsChannel;

  /** The RPC's call, routed when it started; null when it went unmeshed (agent error, config change). */
  final BridgeCall call;

  private long retryIn = -1; // the runtime's answer to the last report

  private BridgeEndpoint pending; // chosen, waiting for its subchannel to connect
  private BridgeEndpoint open; // picked, stream not closed yet
  private long openNanos;
  private boolean closed;

  RpcState(boolean meshTlsChannel, BridgeCall call) {
    this.meshTlsChannel = meshTlsChannel;
    this.call = call;
  }

  /** The pick for this RPC's next attempt; called by {@link MeshLoadBalancer.MeshPicker} only. */
  synchronized PickResult pick(MeshLoadBalancer.MeshPicker picker) {
    BridgeCall c = call;
    if (closed) {
      return PickResult.withError(Status.CANCELLED.withDescription("jmesh: the RPC has ended"));
    }
    if (open != null) {
      // The last pick never became a stream: its subchannel stopped being ready in between.
      report(open, 0, -1, GrpcStatuses.notConnected("subchannel of " + open + " stopped being ready"), System.nanoTime() - openNanos);
      open = null;
    }
    for (int i = 0; i < picker.size() + 2; i++) {
      BridgeEndpoint endpoint = pending != null ? pending : c.nextEndpoint();
      pending = null;
      if (endpoint == null) {
        return PickResult.withError(Status.UNAVAILABLE.withDescription(c.noEndpointMessage()));
      }
      if (endpoint.meshTls() != null && !meshTlsChannel) {
        // Security fails closed: a channel built without mesh TLS (the destination did not require
        // it then, or the transport could not be given it) never sends there in plaintext.
        report(endpoint, 0, -1, GrpcStatuses.notConnected("the channel has no mesh TLS"), 0);
        return PickResult.withDrop(
            Status.UNAVAILABLE.withDescription(
                "jmesh: " + c.authority() + " requires mesh TLS, and this channel was built without it"
                    + " (expected: a grpc-netty or grpc-netty-shaded channel built while the destination"
                    + " requires mesh TLS); nothing was sent"));
      }
      ConnectivityState state = picker.state(endpoint.socketAddress());
      if (state == ConnectivityState.READY) {
        open = endpoint;
        openNanos = System.nanoTime();
        return PickResult.withSubchannel(picker.subchannel(endpoint.socketAddress()), new AttemptTracerFactory(this, endpoint));
      }
      if (state == ConnectivityState.TRANSIENT_FAILURE) {
        // The runtime learns that the endpoint cannot be reached, and picks another.
        report(endpoint, 0, -1, GrpcStatuses.notConnected("cannot connect to " + endpoint), 0);
        continue;
      }
      // Connecting, idle, or no subchannel yet (an endpoint new to this channel): wait for it.
      pending = endpoint;
      picker.connect(endpoint.socketAddress());
      return PickResult.withNoResult();
    }
    return PickResult.withError(
        Status.UNAVAILABLE.withDescription("jmesh: no endpoint of " + c.authority() + " can be connected"));
  }

  /** The stream of the attempt on {@code endpoint} closed with {@code status}. */
  void attemptClosed(BridgeEndpoint endpoint, Status status, long nanos) {
    synchronized (this) {
      if (open != endpoint) {
        return; // already reported when the RPC ended
      }
      open = null;
      report(endpoint, GrpcStatuses.httpStatus(status), status.getCode().value(), GrpcStatuses.error(status), nanos);
    }
  }

  /**
   * The attempt ended with {@code status}: reports what is still outstanding and returns the
   * runtime's answer to the attempt's report (the delay before a retry in nanoseconds, or -1).
   */
  synchronized long attemptEnded(Status status) {
    closed = true;
    if (call == null) {
      return -1;
    }
    if (open != null) {
      report(open, GrpcStatuses.httpStatus(status), status.getCode().value(), GrpcStatuses.error(status), System.nanoTime() - openNanos);
      open = null;
    }
    if (pending != null) {
      // Cancelled or timed out while its endpoint connected: nothing was sent.
      report(pending, 0, status.getCode().value(), GrpcStatuses.error(status) != null ? GrpcStatuses.error(status) : GrpcStatuses.notConnected("the RPC ended before " + pending + " connected"), 0);
      pending = null;
    }
    return retryIn;
  }

  /** {@code grpcStatus}: the attempt's gRPC code, -1 when it never became a stream (connect failure). */
  private void report(BridgeEndpoint endpoint, int status, int grpcStatus, Throwable error, long nanos) {
    try {
      retryIn = call.attemptFinished(endpoint, status, grpcStatus, error, nanos);
    } catch (Throwable t) {
      MeshBridge.adviceError(GrpcInstrumentationModule.NAME, t);
    }
  }

  /** Sets the call's trace headers on each attempt and times it. */
  static final class AttemptTracerFactory extends ClientStreamTracer.Factory {
    private final RpcState state;
    private final BridgeEndpoint endpoint;

    AttemptTracerFactory(RpcState state, BridgeEndpoint endpoint) {
      this.state = state;
      this.endpoint = endpoint;
    }

    @Override
    public ClientStreamTracer newClientStreamTracer(ClientStreamTracer.StreamInfo info, Metadata headers) {
      try {
        String[] trace = state.call.traceHeaders();
        if (trace != null) {
          for (int i = 0; i + 1 < trace.length; i += 2) {
            Metadata.Key<String> key = Metadata.Key.of(trace[i], Metadata.ASCII_STRING_MARSHALLER);
            headers.discardAll(key);
            headers.put(key, trace[i + 1]);
          }
        }
      } catch (Throwable t) {
        MeshBridge.adviceError(GrpcInstrumentationModule.NAME, t);
      }
      return new AttemptTracer(state, endpoint);
    }
  }

  /** Reports one attempt's outcome and latency when its stream closes. */
  static final class AttemptTracer extends ClientStreamTracer {
    private final RpcState state;
    private final BridgeEndpoint endpoint;
    private final long startNanos = System.nanoTime();

    AttemptTracer(RpcState state, BridgeEndpoint endpoint) {
      this.state = state;
      this.endpoint = endpoint;
    }

    @Override
    public void streamClosed(Status status) {
      state.attemptClosed(endpoint, status, System.nanoTime() - startNanos);
    }
  }
}
