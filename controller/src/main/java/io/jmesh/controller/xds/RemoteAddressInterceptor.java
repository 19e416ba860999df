package io.jmesh.controller.xds;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

/**
 * Puts the caller's address into the gRPC {@link Context} of each call. java-control-plane's
 * callbacks only get a stream id; they run inside the call's context, so {@link AgentTracker} can
 * read the address there when a stream opens.
 */
final class RemoteAddressInterceptor implements ServerInterceptor {
  static final Context.Key<String> REMOTE_ADDRESS = Context.key("jmesh-remote-address");

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    String address = format(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
    Context context = Context.current().withValue(REMOTE_ADDRESS, address);
    return Contexts.interceptCall(context, call, headers, next);
  }

  /** The address of the current call, or null outside a call (as in unit tests). */
  static String current() {
    return REMOTE_ADDRESS.get();
  }

  /** {@code 127.0.0.1:53422}, {@code [::1]:53422}; never a host name (no reverse lookup). */
  static String format(SocketAddress address) {
    if (address instanceof InetSocketAddress) {
      InetSocketAddress inet = (InetSocketAddress) address;
      String host =
          inet.getAddress() != null ? inet.getAddress().getHostAddress() : inet.getHostString();
      return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + inet.getPort();
    }
    return address == null ? null : address.toString();
  }
}
