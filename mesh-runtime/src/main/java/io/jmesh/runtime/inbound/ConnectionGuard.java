package io.jmesh.runtime.inbound;

import io.jmesh.runtime.RuntimeLog;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.concurrent.ScheduledFuture;
import java.lang.System.Logger.Level;
import java.util.concurrent.TimeUnit;

/**
 * The two timers of a caller connection, on its event loop, right after Netty's {@code
 * IdleStateHandler} at the head of its pipeline:
 *
 * <ul>
 *   <li><b>request header</b>: from the accept (so the TLS handshake and detection too) to the
 *       first complete request header, and on HTTP/1.1 from the first byte of each next request to
 *       its complete header. It is a deadline, not an idle timer: a caller that sends a header a
 *       byte at a time (slowloris) does not extend it. On HTTP/2 it ends with the first stream's
 *       headers, and on opaque TCP with the decision to relay; from then on only the idle timer
 *       applies;
 *   <li><b>idle</b>: Netty's {@code IdleStateHandler} says when nothing was read or written for
 *       {@code idleTimeout}; the connection is closed then unless a request waits for the
 *       application (HTTP/1.1: a request read whole and not yet answered; HTTP/2: any active
 *       stream), which is the application's time, not the caller's. A request whose body the
 *       caller stopped sending is the caller's time: closed.
 * </ul>
 *
 * Each close is counted ({@link InboundStats.Refusal#REQUEST_HEADER_TIMEOUT}, {@link
 * InboundStats.Refusal#IDLE_TIMEOUT}). The stages of {@link InboundPipelines} tell it what the
 * connection became ({@link #http1Watch}, {@link #http2}, {@link #streamOpened}, {@link #opaque}).
 *
 * <p>Threading: the connection's event loop only, the timer's task too; nothing is shared.
 */
final class ConnectionGuard extends ChannelInboundHandlerAdapter {
  private final InboundStats stats;
  private final long headerTimeoutNanos;
  private ChannelHandlerContext ctx;
  private ScheduledFuture<?> headerDeadline;
  private boolean awaitingHeader = true; // from the accept until the first request's header
  private boolean receiving; // HTTP/1.1: a request's body is being read
  private long requests; // HTTP/1.1: request headers read
  private long answers; // HTTP/1.1: final responses written
  private Http2FrameCodec http2;
  private boolean opaque;

  ConnectionGuard(InboundStats stats, InboundTerminator.Limits limits) {
    this.stats = stats;
    this.headerTimeoutNanos = limits.requestHeaderTimeout().toNanos();
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    arm();
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    disarm();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    disarm();
    ctx.fireChannelInactive();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    // The first byte of a next HTTP/1.1 request starts its header's deadline.
    if (!awaitingHeader && http2 == null && !opaque && !receiving && requests == answers) {
      awaitingHeader = true;
      arm();
    }
    ctx.fireChannelRead(msg);
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (evt instanceof IdleStateEvent) {
      if (!waitingForTheApplication()) {
        stats.recordRefused(InboundStats.Refusal.IDLE_TIMEOUT);
        RuntimeLog.log(Level.DEBUG, "inbound: " + ctx.channel() + " idle: closed");
        ctx.close();
      }
      return;
    }
    ctx.fireUserEventTriggered(evt);
  }

  private boolean waitingForTheApplication() {
    if (http2 != null) {
      return http2.connection().numActiveStreams() > 0;
    }
    return !opaque && !receiving && requests > answers;
  }

  /** HTTP/2 from now on: the header deadline ends with the first stream. */
  void http2(Http2FrameCodec codec) {
    this.http2 = codec;
  }

  /** A caller's HTTP/2 stream opened: its headers are complete. */
  void streamOpened() {
    headerRead();
  }

  /**
   * Opaque TCP from now on: neither timer applies. A database's pooled connections sit idle for
   * as long as the pool keeps them, and a mesh that closes them under the pool is what users of
   * sidecars hit (istio#24856); the application's own end decides when they go.
   */
  void opaque() {
    opaque = true;
    headerRead();
    if (ctx.pipeline().get("idle") != null) {
      ctx.pipeline().remove("idle");
    }
  }

  /** The handler after the HTTP/1.1 codec that tells this guard where each request is. */
  ChannelHandler http1Watch() {
    return new Http1Watch();
  }

  private void headerRead() {
    awaitingHeader = false;
    disarm();
  }

  private void arm() {
    disarm();
    headerDeadline = ctx.executor().schedule(this::headerTimedOut, headerTimeoutNanos, TimeUnit.NANOSECONDS);
  }

  private void disarm() {
    if (headerDeadline != null) {
      headerDeadline.cancel(false);
      headerDeadline = null;
    }
  }

  private void headerTimedOut() {
    headerDeadline = null;
    if (awaitingHeader && ctx.channel().isOpen()) {
      stats.recordRefused(InboundStats.Refusal.REQUEST_HEADER_TIMEOUT);
      RuntimeLog.log(
          Level.DEBUG,
          "inbound: " + ctx.channel() + ": no complete request header within "
              + TimeUnit.NANOSECONDS.toMillis(headerTimeoutNanos) + " ms (requestHeaderTimeout): closed");
      ctx.close();
    }
  }

  /** Sees HTTP/1.1 requests come in and their answers go out. */
  private final class Http1Watch extends ChannelDuplexHandler {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof HttpRequest) {
        requests++;
        receiving = true;
        headerRead();
      }
      if (msg instanceof LastHttpContent) {
        receiving = false;
      }
      ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
      boolean interim = msg instanceof HttpResponse r && r.status().codeClass() == HttpStatusClass.INFORMATIONAL;
      if (msg instanceof LastHttpContent && !interim) {
        answers++;
      }
      ctx.write(msg, promise);
    }
  }
}
