package io.jmesh.runtime.inbound;

import io.jmesh.runtime.RuntimeLog;
import io.jmesh.runtime.identity.SpiffeId;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.lang.System.Logger.Level;
import java.util.ArrayDeque;

/**
 * HTTP/1.1 answers in request order (RFC 9112 9.3.2), whoever writes them: on a caller's
 * HTTP/1.1 connection, right after the codec, it lets <b>one request at a time</b> on to the
 * handlers after it ({@link HttpAuthorizer} or {@link ProbeGate}, the aggregator, {@link
 * HttpForwarder}) and holds the requests a caller pipelined behind it until that one's final
 * answer was written, by whichever handler: the application's answer, a 403, 400, 413 or 503 of
 * the listener's own. So a refusal written at once for request 2 can no longer overtake the
 * answer to request 1 that is still with the application, and a refusal that closes the
 * connection closes it after the earlier answers.
 *
 * <ul>
 *   <li><b>held</b>: a request read while another is outstanding waits here, with its body parts,
 *       and the connection stops reading (autoRead off) until every held request was let on, so
 *       a pipelining caller is back-pressured by TCP, not buffered. What one read already brought
 *       (the codec decodes a whole read at once) is held, up to {@value #MAX_READ_AHEAD} requests;
 *   <li><b>refused beyond the bound</b>: the next request gets, in its turn, a 503 with {@code
 *       Connection: close} and the connection closes after it; the codec stops decoding and what
 *       follows is released undecoded. Counted as {@link InboundStats.Refusal#PIPELINE_FULL}. A
 *       client retries the requests left unanswered on a new connection (RFC 9112 9.3.2);
 *   <li><b>closed in turn</b>: an answer that says {@code Connection: close} (the keep-alive
 *       handler after this one adds it where the request asked for it) ends the connection: the
 *       requests held behind it are released, never answered.
 * </ul>
 *
 * <p>A held request reaches {@link HttpAuthorizer} when it is let on, so its authorization and
 * recorded latency start then. HTTP/2 streams are independent and never pass here.
 *
 * <p>Threading: the connection's event loop only. The next request is let on in a task of that
 * loop after the answer's write, never from inside the write: the handler that wrote it is then
 * done with its own request. Buffers: a held message is owned here until it is let on (the next
 * handler owns it) or released (close, overflow, removal); nothing is copied.
 */
final class Http1Sequencer extends ChannelDuplexHandler {
  /**
   * Requests one connection may have read ahead of the one being answered. Reading stops at the
   * first, so only what one read brought is held (its bytes bounded by the read); this bounds the
   * objects decoded from it. Browsers do not pipeline, and a client that does keeps a few
   * outstanding: 32 is never met by one, and well below the codec's own depth (128), beyond which
   * Netty would close after the next answer rather than after those owed.
   */
  static final int MAX_READ_AHEAD = 32;

  private final InboundContext inbound;
  private final int maxReadAhead;
  private final HttpServerCodec codec;
  private final ArrayDeque<Object> held = new ArrayDeque<>();
  private int heldRequests;
  private boolean outstanding; // a request was let on and its final answer not yet written
  private boolean holding; // the last request read is held: so are its body parts
  private boolean paused; // autoRead turned off here
  private boolean overflowed; // a refusal is held: everything after it is released
  private boolean closing; // an answer said Connection: close
  private boolean interim; // the response being written is a 1xx
  private boolean letOnScheduled;

  /** @param codec the connection's codec, which decodes no more once the bound is exceeded */
  Http1Sequencer(InboundContext inbound, int maxReadAhead, HttpServerCodec codec) {
    if (maxReadAhead < 1) {
      throw new IllegalArgumentException("maxReadAhead: " + maxReadAhead + " (expected: >= 1)");
    }
    this.inbound = inbound;
    this.maxReadAhead = maxReadAhead;
    this.codec = codec;
  }

  /** A request beyond the read-ahead bound, read at {@code start}: answered 503 in its turn. */
  private record Overflow(long start, String method) {}

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (closing || overflowed) {
      ReferenceCountUtil.release(msg); // the connection closes after what is already owed
      return;
    }
    if (!(msg instanceof HttpObject)) {
      ctx.fireChannelRead(msg);
      return;
    }
    if (msg instanceof HttpRequest request) {
      if (!outstanding && held.isEmpty()) {
        holding = false;
        outstanding = true;
        ctx.fireChannelRead(msg);
        return;
      }
      holding = true;
      pause(ctx);
      if (heldRequests >= maxReadAhead) {
        ReferenceCountUtil.release(msg);
        overflowed = true;
        held.addLast(new Overflow(inbound.ticker().nanoTime(), request.method().name()));
        // The codec would decode the rest of this read too, and at its own pipeline depth (128)
        // close after the next answer, not after the ones owed: it decodes no more instead; the
        // bytes it holds come here raw and are released.
        codec.removeInboundHandler();
        return;
      }
      heldRequests++;
      held.addLast(msg);
      return;
    }
    if (holding) {
      held.addLast(msg); // a body part of a held request
    } else {
      ctx.fireChannelRead(msg); // of the request let on: its handlers read it as it comes
    }
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (msg instanceof HttpResponse r) {
      interim = r.status().codeClass() == HttpStatusClass.INFORMATIONAL;
      if (!interim && !HttpUtil.isKeepAlive(r)) {
        closing = true;
      }
    }
    boolean answered = msg instanceof LastHttpContent && !interim;
    ctx.write(msg, promise);
    if (!answered) {
      return;
    }
    outstanding = false;
    if (closing) {
      releaseHeld();
    } else if (!held.isEmpty() && !letOnScheduled) {
      letOnScheduled = true;
      ctx.executor().execute(() -> letOn(ctx));
    }
  }

  /** The answer before them was written: held requests go on, one at a time. */
  private void letOn(ChannelHandlerContext ctx) {
    letOnScheduled = false;
    while (!closing && !outstanding && !held.isEmpty() && ctx.channel().isActive()) {
      Object m = held.pollFirst();
      if (m instanceof Overflow o) {
        refuse(ctx, o);
        return;
      }
      if (m instanceof HttpRequest) {
        heldRequests--;
        outstanding = true;
      }
      ctx.fireChannelRead(m);
      // Its body parts follow it at once; its answer may even be written meanwhile (a 403).
      while (!held.isEmpty() && !(held.peekFirst() instanceof HttpRequest) && !(held.peekFirst() instanceof Overflow)) {
        ctx.fireChannelRead(held.pollFirst());
      }
    }
    if (held.isEmpty() && !closing && !overflowed) {
      holding = false; // the rest of the last request's body, if any, is read as it comes
      resume(ctx);
    }
  }

  private void refuse(ChannelHandlerContext ctx, Overflow o) {
    closing = true;
    releaseHeld();
    SpiffeId caller = ctx.channel().attr(InboundPipelines.CALLER).get();
    InboundStats stats = inbound.stats();
    stats.recordStarted();
    stats.recordRefused(
        InboundStats.Refusal.PIPELINE_FULL, o.method(), caller, 503, inbound.ticker().nanoTime() - o.start());
    RuntimeLog.log(
        Level.DEBUG,
        "inbound: " + ctx.channel() + ": more than " + maxReadAhead + " requests pipelined: 503 and closed");
    // Written from here, past the keep-alive handler: the close is this handler's own.
    FullHttpResponse r =
        HttpForwarder.response(
            HttpResponseStatus.SERVICE_UNAVAILABLE,
            "jmesh: more than " + maxReadAhead + " requests pipelined on this connection before their answers"
                + " (expected: at most " + maxReadAhead + " read ahead); send the rest on a new connection\n");
    r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
  }

  private void pause(ChannelHandlerContext ctx) {
    if (!paused) {
      paused = true;
      ctx.channel().config().setAutoRead(false);
    }
  }

  private void resume(ChannelHandlerContext ctx) {
    if (paused) {
      paused = false;
      ctx.channel().config().setAutoRead(true);
    }
  }

  private void releaseHeld() {
    for (Object m; (m = held.pollFirst()) != null; ) {
      ReferenceCountUtil.release(m);
    }
    heldRequests = 0;
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    releaseHeld();
    ctx.fireChannelInactive();
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    releaseHeld();
  }
}
