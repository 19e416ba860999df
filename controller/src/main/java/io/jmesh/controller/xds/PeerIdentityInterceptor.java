package io.jmesh.controller.xds;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.jmesh.runtime.identity.MeshTls;
import io.jmesh.runtime.identity.SpiffeId;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Puts the SPIFFE identity of the caller's verified client certificate into the gRPC {@link
 * Context} of each call, so that {@link AgentTracker} can record whose stream it is and {@link
 * XdsServer} can serve it its namespace's view. The
 * certificate was checked against the CA's anchors during the handshake ({@link ServingTls}); a
 * call without one (plaintext, or an agent before its first certificate) has no identity.
 */
final class PeerIdentityInterceptor implements ServerInterceptor {
  static final Context.Key<String> PEER_IDENTITY = Context.key("jmesh-peer-identity");
  static final Context.Key<String> PEER_NAMESPACE = Context.key("jmesh-peer-namespace");

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    SpiffeId identity = identity(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
    if (identity == null) {
      return next.startCall(call, headers);
    }
    Context context =
        Context.current()
            .withValues(PEER_IDENTITY, identity.toString(), PEER_NAMESPACE, identity.namespace());
    return Contexts.interceptCall(context, call, headers, next);
  }

  /** The identity of the current call, or null (none, or outside a call). */
  static String current() {
    return PEER_IDENTITY.get();
  }

  /**
   * The namespace of the current call's verified identity, or null (none, or outside a call):
   * what the call may see ({@link XdsServer}'s views). Never what the client says of itself.
   */
  static String currentNamespace() {
    return PEER_NAMESPACE.get();
  }

  private static SpiffeId identity(SSLSession session) {
    if (session == null) {
      return null;
    }
    try {
      return MeshTls.peerIdentity(session);
    } catch (SSLPeerUnverifiedException e) {
      return null; // no client certificate, or one without a SPIFFE id
    }
  }
}
