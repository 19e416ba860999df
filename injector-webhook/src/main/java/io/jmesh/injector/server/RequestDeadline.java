package io.jmesh.injector.server;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Bounds the time from a request's first byte to the first byte of its answer, so a client that
 * sends its headers or body slowly (or not at all) cannot hold a connection and a buffer: the
 * timer starts at the first read after an answer and stops at the next write. On expiry an
 * HTTP/1.1 connection gets a plain {@code 408} and is closed; an HTTP/2 stream is reset.
 *
 * <p>One instance per channel (HTTP/1.1 connection or HTTP/2 stream); runs on its event loop.
 */
final class RequestDeadline extends ChannelDuplexHandler {
  private final long millis;
  private final boolean http1;
  private ScheduledFuture<?> timer;

  RequestDeadline(long millis, boolean http1) {
    this.millis = millis;
    this.http1 = http1;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
    if (timer == null) {
      timer = ctx.executor().schedule(() -> expire(ctx), millis, TimeUnit.MILLISECONDS);
    }
    super.channelRead(ctx, msg);
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
    cancel();
    super.write(ctx, msg, promise);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    cancel();
    super.channelInactive(ctx);
  }

  private void cancel() {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }

  private void expire(ChannelHandlerContext ctx) {
    timer = null;
    if (!http1) {
      ctx.close();
      return;
    }
    // Below the HTTP codec: the answer is written as bytes.
    byte[] body =
        ("request not received within " + millis + " ms (--read-timeout)\n")
            .getBytes(StandardCharsets.UTF_8);
    String head =
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: "
            + body.length
            + "\r\nconnection: close\r\n\r\n";
    ctx.writeAndFlush(
            Unpooled.wrappedBuffer(head.getBytes(StandardCharsets.US_ASCII), body))
        .addListener(ChannelFutureListener.CLOSE);
  }
}
