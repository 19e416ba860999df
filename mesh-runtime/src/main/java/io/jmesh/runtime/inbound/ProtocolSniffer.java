package io.jmesh.runtime.inbound;

import io.jmesh.runtime.identity.SpiffeId;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Protocol detection after a handshake without ALPN, as Linkerd does: an HTTP/1 request line or
 * the HTTP/2 preface means HTTP (so per-request authorization and the identity header apply);
 * anything else, or nothing within {@link #DETECT_TIMEOUT_MS} (a protocol where the server speaks
 * first), is opaque TCP. Replaces itself with what it detected.
 *
 * <p>Threading: the connection's event loop, the timeout too. Buffers: it only peeks; the bytes
 * read so far stay in the decoder's cumulation and go to the handlers added after it when it
 * removes itself (or are released with it when the connection is closed).
 */
final class ProtocolSniffer extends ByteToMessageDecoder {
  /** How long a connection without ALPN may stay silent before it is taken for opaque TCP. */
  static final long DETECT_TIMEOUT_MS = 1_000;
  /** Enough for any method token and a space, and for the preface's {@code PRI * HTTP/2.0}. */
  private static final int PEEK_BYTES = 16;

  private static final Set<String> HTTP_METHODS =
      Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH");
  private static final String OPAQUE = "opaque";

  private final InboundPipelines pipelines;
  private final SpiffeId caller;
  private ScheduledFuture<?> timeout;

  ProtocolSniffer(InboundPipelines pipelines, SpiffeId caller) {
    this.pipelines = pipelines;
    this.caller = caller;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    timeout =
        ctx.executor()
            .schedule(
                () -> {
                  if (ctx.pipeline().context(this) != null) {
                    decided(ctx, OPAQUE);
                  }
                },
                DETECT_TIMEOUT_MS,
                TimeUnit.MILLISECONDS);
  }

  @Override
  protected void handlerRemoved0(ChannelHandlerContext ctx) {
    if (timeout != null) {
      timeout.cancel(false);
    }
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    int n = Math.min(in.readableBytes(), PEEK_BYTES);
    String head = in.toString(in.readerIndex(), n, StandardCharsets.ISO_8859_1);
    if (head.startsWith("PRI * HTTP/2.0")) {
      decided(ctx, ApplicationProtocolNames.HTTP_2);
      return;
    }
    int space = head.indexOf(' ');
    if (space > 0) {
      decided(ctx, HTTP_METHODS.contains(head.substring(0, space)) ? ApplicationProtocolNames.HTTP_1_1 : OPAQUE);
    } else if (n == PEEK_BYTES || !head.chars().allMatch(c -> c >= 'A' && c <= 'Z')) {
      decided(ctx, OPAQUE); // no method token: not HTTP
    }
    // else: wait for more bytes
  }

  private void decided(ChannelHandlerContext ctx, String protocol) {
    switch (protocol) {
      case ApplicationProtocolNames.HTTP_2 -> pipelines.http2(ctx.pipeline());
      case ApplicationProtocolNames.HTTP_1_1 -> pipelines.http1(ctx.pipeline());
      default -> {
        if (!pipelines.opaque(ctx, caller)) {
          return;
        }
      }
    }
    ctx.pipeline().remove(this); // hands the bytes read so far to what was just added
  }
}
