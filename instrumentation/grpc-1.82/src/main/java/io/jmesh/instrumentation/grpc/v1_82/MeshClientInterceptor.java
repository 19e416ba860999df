package io.jmesh.instrumentation.grpc.v1_82;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.jmesh.bridge.BridgeCalls;
import io.jmesh.bridge.MeshBridge;

/**
 * Routes each RPC of a meshed channel when it starts: the runtime matches its route with the
 * method as the path ({@code /package.Service/Method}), {@code POST}, the logical authority and the
 * RPC's metadata as headers, and picks the backend (a weighted split, a subset). The endpoint is
 * picked per attempt by {@link MeshLoadBalancer}, which finds the routed call in the RPC's {@link
 * CallOptions}. Stateless; one per channel.
 */
public final class MeshClientInterceptor implements ClientInterceptor {
  private final String host;
  private final int port;
  private final boolean meshTls; // the channel speaks mesh TLS (MeshChannelTls)

  MeshClientInterceptor(String host, int port, boolean meshTls) {
    this.host = host;
    this.port = port;
    this.meshTls = meshTls;
  }

  @Override
  public <ReqT, RespT> ClientCall<ReqT, RespT> interceptCall(
      MethodDescriptor<ReqT, RespT> method, CallOptions callOptions, Channel next) {
    RpcState state = new RpcState(meshTls);
    return new MeshClientCall<>(
        next.newCall(method, callOptions.withOption(RpcState.KEY, state)), state, this, method.getFullMethodName());
  }

  @Override
  public String toString() {
    return "jmesh MeshClientInterceptor{" + host + ":" + port + "}";
  }

  static final class MeshClientCall<ReqT, RespT>
      extends ForwardingClientCall.SimpleForwardingClientCall<ReqT, RespT> {
    private final RpcState state;
    private final MeshClientInterceptor owner;
    private final String fullMethodName;

    MeshClientCall(ClientCall<ReqT, RespT> delegate, RpcState state, MeshClientInterceptor owner, String fullMethodName) {
      super(delegate);
      this.state = state;
      this.owner = owner;
      this.fullMethodName = fullMethodName;
    }

    @Override
    public void start(Listener<RespT> listener, Metadata headers) {
      try {
        BridgeCalls calls = MeshBridge.calls();
        state.call =
            calls == null
                ? null
                : calls.route("http", owner.host, owner.port, "POST", "/" + fullMethodName, name -> header(headers, name));
      } catch (Throwable t) {
        MeshBridge.adviceError(GrpcInstrumentationModule.NAME, t);
        state.call = null;
      }
      super.start(state.call == null ? listener : new MeshListener<>(listener, state), headers);
    }

    private static String header(Metadata headers, String name) {
      try {
        return name.endsWith(Metadata.BINARY_HEADER_SUFFIX)
            ? null
            : headers.get(Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER));
      } catch (IllegalArgumentException e) {
        return null; // not a valid metadata name (a pseudo-header): gRPC carries none such
      }
    }
  }

  /** Ends the runtime's call with the RPC. */
  static final class MeshListener<RespT> extends ForwardingClientCallListener.SimpleForwardingClientCallListener<RespT> {
    private final RpcState state;

    MeshListener(ClientCall.Listener<RespT> delegate, RpcState state) {
      super(delegate);
      this.state = state;
    }

    @Override
    public void onClose(Status status, Metadata trailers) {
      try {
        state.rpcClosed(status);
      } catch (Throwable t) {
        MeshBridge.adviceError(GrpcInstrumentationModule.NAME, t);
      }
      super.onClose(status, trailers);
    }
  }
}
