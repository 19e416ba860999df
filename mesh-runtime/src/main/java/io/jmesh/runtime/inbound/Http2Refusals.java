package io.jmesh.runtime.inbound;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameLogger;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.logging.LogLevel;

/**
 * Counts what Netty's HTTP/2 codec refuses on the listener's behalf, by reading the frames it
 * writes: the codec itself enforces {@code SETTINGS_MAX_CONCURRENT_STREAMS} ({@code RST_STREAM
 * REFUSED_STREAM}), the header list size (a 431, or GOAWAY well beyond it) and the reset limits
 * (GOAWAY {@code ENHANCE_YOUR_CALM}, which also ends its other floods: empty DATA frames), and
 * says so only on the wire. It is given to the codec as its frame logger, the one hook on every
 * frame written; it logs nothing itself.
 *
 * <p>Threading: the connection's event loop; shared by every connection (its state is the
 * thread-safe {@link InboundStats}).
 */
final class Http2Refusals extends Http2FrameLogger {
  private final InboundStats stats;

  Http2Refusals(InboundStats stats) {
    super(LogLevel.TRACE, Http2Refusals.class);
    this.stats = stats;
  }

  @Override
  public void logRstStream(Direction direction, ChannelHandlerContext ctx, int streamId, long errorCode) {
    if (direction == Direction.OUTBOUND
        && errorCode == Http2Error.REFUSED_STREAM.code()
        && !goAwaySent(ctx)) { // after its GOAWAY the codec still refuses what it decodes, unsent

      stats.recordRefused(InboundStats.Refusal.HTTP2_STREAM_LIMIT);
    }
  }

  @Override
  public void logGoAway(
      Direction direction, ChannelHandlerContext ctx, int lastStreamId, long errorCode, ByteBuf debugData) {
    if (direction == Direction.OUTBOUND && errorCode == Http2Error.ENHANCE_YOUR_CALM.code()) {
      stats.recordRefused(InboundStats.Refusal.HTTP2_FLOOD);
    }
  }

  @Override
  public void logHeaders(
      Direction direction, ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding, boolean endStream) {
    countTooLarge(direction, headers);
  }

  @Override
  public void logHeaders(
      Direction direction,
      ChannelHandlerContext ctx,
      int streamId,
      Http2Headers headers,
      int streamDependency,
      short weight,
      boolean exclusive,
      int padding,
      boolean endStream) {
    countTooLarge(direction, headers);
  }

  private static boolean goAwaySent(ChannelHandlerContext ctx) {
    return ctx.handler() instanceof Http2ConnectionHandler h && h.connection().goAwaySent();
  }

  /** The codec answers a header list above the limit with 431 itself; nothing else here does. */
  private void countTooLarge(Direction direction, Http2Headers headers) {
    if (direction == Direction.OUTBOUND && headers.status() != null && "431".contentEquals(headers.status())) {
      stats.recordRefused(InboundStats.Refusal.HEADERS_TOO_LARGE);
    }
  }
}
