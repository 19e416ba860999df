package io.jmesh.injector.server;

import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.AttributeKey;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Bounds the open connections of the whole server: one past {@code max} is closed at once,
 * before its TLS handshake costs anything. Shared by every connection; thread-safe.
 */
@Sharable
final class ConnectionLimit extends ChannelInboundHandlerAdapter {
  private static final Logger LOG = System.getLogger("io.jmesh.injector.server");
  private static final AttributeKey<Boolean> COUNTED = AttributeKey.valueOf("jmesh.counted");

  private final int max;
  private final AtomicInteger open = new AtomicInteger();
  private final AtomicLong refused = new AtomicLong();

  ConnectionLimit(int max) {
    this.max = max;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    if (open.incrementAndGet() > max) {
      open.decrementAndGet();
      if (refused.getAndIncrement() % 100 == 0) {
        // One line per hundred refusals: a flood must not flood the log too.
        LOG.log(
            Level.WARNING,
            "connection from " + ctx.channel().remoteAddress() + " closed: " + max
                + " connections open (--max-connections); " + refused.get() + " refused so far");
      }
      ctx.close();
      return;
    }
    ctx.channel().attr(COUNTED).set(Boolean.TRUE);
    super.channelActive(ctx);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    if (ctx.channel().attr(COUNTED).getAndSet(null) != null) {
      open.decrementAndGet();
    }
    super.channelInactive(ctx);
  }

  int open() {
    return open.get();
  }
}
