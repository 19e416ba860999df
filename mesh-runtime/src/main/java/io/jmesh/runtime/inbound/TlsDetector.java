package io.jmesh.runtime.inbound;

import io.jmesh.runtime.RuntimeLog;
import io.jmesh.runtime.identity.TlsRefusals;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.ssl.SslHandler;
import java.lang.System.Logger.Level;
import java.util.List;

/**
 * The first handler of every caller connection (as Netty's {@code OptionalSslHandler}): looks at
 * the first bytes and replaces itself. A TLS record goes on to the handshake; plaintext is refused
 * and counted in {@link InboundTerminator.Mode#STRICT} (when probe paths are declared, read as
 * HTTP/1.1 and only those served, {@link ProbeGate}), served as HTTP/1.1 from an unauthenticated
 * caller in {@link InboundTerminator.Mode#PERMISSIVE}.
 *
 * <p>Threading: the connection's event loop. Buffers: the bytes read so far stay in the decoder's
 * cumulation and are handed to the handlers added after it when it removes itself; refused bytes
 * are skipped, and the decoder releases them.
 */
final class TlsDetector extends ByteToMessageDecoder {
  /** A TLS record header: enough to tell TLS from anything else. */
  private static final int TLS_HEADER_BYTES = 5;

  private final InboundPipelines pipelines;
  private final InboundTerminator.Mode mode;
  private final boolean probes;

  TlsDetector(InboundPipelines pipelines, InboundTerminator.Options options) {
    this.pipelines = pipelines;
    this.mode = options.mode();
    this.probes = !options.probePaths().isEmpty();
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    if (in.readableBytes() < TLS_HEADER_BYTES) {
      return;
    }
    if (SslHandler.isEncrypted(in, false)) {
      pipelines.tls(ctx, this);
    } else if (mode == InboundTerminator.Mode.STRICT && probes) {
      pipelines.probes(ctx.pipeline()); // health checks only; the rest refused request by request
      ctx.pipeline().remove(this);
    } else if (mode == InboundTerminator.Mode.STRICT) {
      pipelines.refusals().record(TlsRefusals.Reason.PLAINTEXT);
      RuntimeLog.log(
          Level.DEBUG,
          "inbound: plaintext connection from " + ctx.channel().remoteAddress()
              + " refused (strict mTLS)");
      in.skipBytes(in.readableBytes());
      ctx.close();
    } else {
      pipelines.http1(ctx.pipeline());
      ctx.pipeline().remove(this); // hands the bytes read so far to the HTTP/1.1 codec
    }
  }
}
