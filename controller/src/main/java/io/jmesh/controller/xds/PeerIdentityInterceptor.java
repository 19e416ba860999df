package io.jmesh.controller.xds;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.jmesh.runtime.identity.MeshTls;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Puts the SPIFFE identity of the caller's verified client certificate into the gRPC {@link
 * Context} of each call, so that {@link AgentTracker} can record whose stream it is. The
 * certificate was checked against the CA's anchors during the handshake ({@link ServingTls}); a
 * call without one (plaintext, or an agent before its first certificate) has no identity.
 */
final class PeerIdentityInterceptor implements ServerInterceptor {
  static final Context.Key<String> PEER_IDENTITY = Context.key("jmesh-peer-identity");

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    String identity = identity(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
    if (identity == null) {
      return next.startCall(call, headers);
    }
    Context context = Context.current().withValue(PEER_IDENTITY, identity);
    return Contexts.interceptCall(context, call, headers, next);
  }

  /** The identity of the current call, or null (none, or outside a call). */
  static String current() {
    return PEER_IDENTITY.get();
  }

  private static String identity(SSLSession session) {
    if (session == null) {
      return null;
    }
    try {
      return MeshTls.peerIdentity(session).toString();
    } catch (SSLPeerUnverifiedException e) {
      return null; // no client certificate, or one without a SPIFFE id
    }
  }
}
