package io.jmesh.controller.ca;

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
 * Puts the call's {@code authorization} header and the caller's address into the gRPC {@link
 * Context}: a service method sees neither the headers nor the transport. Authentication itself
 * happens in {@link CaService}, so that a refusal is counted and logged in one place.
 */
final class BearerTokenInterceptor implements ServerInterceptor {
  static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  /** The raw {@code authorization} header; null when the call has none. */
  static final Context.Key<String> AUTHORIZATION_HEADER = Context.key("jmesh-ca-authorization");

  /** {@code ip:port} of the caller, for log lines; null if unknown. */
  static final Context.Key<String> REMOTE_ADDRESS = Context.key("jmesh-ca-remote-address");

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    Context context =
        Context.current()
            .withValue(AUTHORIZATION_HEADER, headers.get(AUTHORIZATION))
            .withValue(
                REMOTE_ADDRESS, format(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR)));
    return Contexts.interceptCall(context, call, headers, next);
  }

  private static String format(SocketAddress address) {
    if (address instanceof InetSocketAddress) {
      InetSocketAddress inet = (InetSocketAddress) address;
      String host =
          inet.getAddress() != null ? inet.getAddress().getHostAddress() : inet.getHostString();
      return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + inet.getPort();
    }
    return address == null ? null : address.toString();
  }
}
