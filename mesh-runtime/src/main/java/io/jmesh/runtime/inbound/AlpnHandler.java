package io.jmesh.runtime.inbound;

import io.jmesh.runtime.RuntimeLog;
import io.jmesh.runtime.identity.MeshTls;
import io.jmesh.runtime.identity.PeerRefusedException;
import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.identity.TlsRefusals;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.handler.ssl.SslHandler;
import java.lang.System.Logger.Level;
import javax.net.ssl.SSLPeerUnverifiedException;

/**
 * After the mesh TLS handshake: who the caller is (its SPIFFE identity, kept on the connection as
 * {@link InboundPipelines#CALLER}), and which protocol it chose by ALPN: {@code h2}, {@code
 * http/1.1}, or none, when {@link ProtocolSniffer} reads the first bytes instead. A failed
 * handshake is counted (unless the trust manager already counted its refusal) and closes the
 * connection. Removes itself once the protocol is set up (Netty's {@link
 * ApplicationProtocolNegotiationHandler}).
 *
 * <p>Threading: the connection's event loop. Buffers: none of its own; what arrives before the
 * handshake completes is buffered by the base class and passed on.
 */
final class AlpnHandler extends ApplicationProtocolNegotiationHandler {
  /** The protocol when the caller offered no ALPN: not known yet. */
  static final String NO_ALPN = "jmesh-opaque";

  private final InboundPipelines pipelines;

  AlpnHandler(InboundPipelines pipelines) {
    super(NO_ALPN);
    this.pipelines = pipelines;
  }

  @Override
  protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
    SslHandler ssl = ctx.pipeline().get(SslHandler.class);
    SpiffeId caller;
    try {
      caller = MeshTls.peerIdentity(ssl.engine().getSession());
    } catch (SSLPeerUnverifiedException e) {
      // The trust manager accepted the chain, so this does not happen; fail closed if it does.
      pipelines.refusals().record(TlsRefusals.Reason.NO_IDENTITY);
      ctx.close();
      return;
    }
    ctx.channel().attr(InboundPipelines.CALLER).set(caller);
    switch (protocol) {
      case ApplicationProtocolNames.HTTP_2 -> pipelines.http2(ctx.pipeline());
      case ApplicationProtocolNames.HTTP_1_1 -> pipelines.http1(ctx.pipeline());
      // No ALPN: an HTTP/1.1 client that does not offer it (the JDK's HttpClient asked for
      // HTTP/1.1, HttpURLConnection), or another protocol. Look at the first bytes.
      default -> pipelines.sniff(ctx.pipeline(), caller);
    }
  }

  @Override
  protected void handshakeFailure(ChannelHandlerContext ctx, Throwable cause) {
    if (!refusedByTrustManager(cause)) {
      pipelines.refusals().record(TlsRefusals.Reason.HANDSHAKE);
    }
    RuntimeLog.log(
        Level.DEBUG,
        "inbound: TLS handshake with " + ctx.channel().remoteAddress() + " failed: " + cause);
    ctx.close();
  }

  /** Whether the trust manager refused the peer (and so counted it already). */
  private static boolean refusedByTrustManager(Throwable cause) {
    for (Throwable t = cause; t != null; t = t.getCause()) {
      if (t instanceof PeerRefusedException) {
        return true;
      }
    }
    return false;
  }
}
