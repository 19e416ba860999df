package io.jmesh.runtime.mirror;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;

/**
 * Reads a copy's response and throws it away: the mirror's answer never matters, only that it
 * ended (and whether the connection may carry the next copy). One per connection, on the sender's
 * loop; {@link #current} is the copy the connection carries now, {@code null} while idle.
 */
final class MirrorResponseHandler extends ChannelInboundHandlerAdapter {
  /** The idle pool a connection goes back to. */
  static final AttributeKey<MirrorSender.PoolKey> KEY = AttributeKey.valueOf("jmesh.mirror.pool");

  private final MirrorSender sender;
  MirrorExchange current;
  private boolean keepAlive;

  MirrorResponseHandler(MirrorSender sender) {
    this.sender = sender;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    try {
      if (msg instanceof HttpResponse response) {
        keepAlive = HttpUtil.isKeepAlive(response);
      }
      if (msg instanceof LastHttpContent && current != null) {
        MirrorExchange exchange = current;
        current = null;
        sender.responded(ctx.channel(), exchange, true, keepAlive);
      }
    } finally {
      ReferenceCountUtil.release(msg);
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    MirrorExchange exchange = current;
    current = null;
    if (exchange != null) {
      sender.responded(ctx.channel(), exchange, false, false);
    }
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close(); // channelInactive ends the copy as failed
  }
}
