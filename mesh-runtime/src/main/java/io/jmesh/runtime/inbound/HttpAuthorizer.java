package io.jmesh.runtime.inbound;

import io.jmesh.runtime.RuntimeLog;
import io.jmesh.runtime.deadline.Deadline;
import io.jmesh.runtime.deadline.DeadlineHeader;
import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.trace.ServerSpan;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;

/**
 * Authorization on a request's <b>headers</b>, before any of its body is read: each request of an
 * HTTP caller (an HTTP/1.1 connection, or one HTTP/2 stream) is checked against the policy with
 * the caller's SPIFFE identity as soon as its header is complete. A denial is a 403 whose body
 * names the policy, sent at once (on HTTP/1.1 a request reaches this handler only once the answers
 * before it were written: {@link Http1Sequencer}); the request's body is never aggregated. An
 * HTTP/1.1 request whose body would follow is answered with {@code Connection: close} and its
 * connection closed (reading 16 MiB to throw it away is what a hostile caller wants); an HTTP/2
 * stream is reset with {@code NO_ERROR} after its answer, which tells the caller to stop sending
 * (RFC 9113 8.1). An admitted request passes on, unchanged, to the aggregator, and {@link HttpForwarder}
 * hears of it ({@link HttpForwarder#admitted}) with its start time and server span.
 *
 * <p>An HTTP/1.1 request the codec could not parse (a header section above {@code
 * maxHeaderListBytes}, a request line above 8 KiB, garbage) is answered 431, 414 or 400 and its
 * connection closed, counted by reason, never forwarded.
 *
 * <p>Threading: the caller's event loop. Buffers: a denied request and the body parts that follow
 * it are released here; an admitted one is passed on.
 */
final class HttpAuthorizer extends ChannelInboundHandlerAdapter {
  private final InboundContext inbound;
  private final HttpForwarder forwarder;
  private boolean discarding; // the rest of a refused request: released as it arrives

  HttpAuthorizer(InboundContext inbound, HttpForwarder forwarder) {
    this.inbound = inbound;
    this.forwarder = forwarder;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (discarding && msg instanceof HttpContent && !(msg instanceof HttpRequest)) {
      discarding = !(msg instanceof LastHttpContent);
      ReferenceCountUtil.release(msg);
      return;
    }
    if (!(msg instanceof HttpRequest request)) {
      ctx.fireChannelRead(msg);
      return;
    }
    long start = inbound.ticker().nanoTime();
    InboundStats stats = inbound.stats();
    stats.recordStarted();
    boolean stream = ctx.channel() instanceof Http2StreamChannel;
    Channel connection = stream ? ctx.channel().parent() : ctx.channel();
    SpiffeId caller = connection.attr(InboundPipelines.CALLER).get();
    String method = request.method().name();
    if (request.decoderResult().isFailure()) {
      ReferenceCountUtil.release(msg);
      unparsed(ctx, request, caller, start);
      return;
    }
    String path = request.uri();
    int query = path.indexOf('?');
    String pathOnly = query < 0 ? path : path.substring(0, query);
    AuthorizationPolicy.Decision d = inbound.policy().get().decide(caller, method, pathOnly);
    ServerSpan span = inbound.tracing().enabled() ? serverSpan(ctx, connection, request, caller) : null;
    if (!d.allowed()) {
      boolean moreToCome = !(msg instanceof LastHttpContent);
      ReferenceCountUtil.release(msg);
      stats.recordDenied(method, caller, inbound.ticker().nanoTime() - start);
      if (span != null) {
        span.denied(d.policy());
        span.end(HttpResponseStatus.FORBIDDEN.code(), null);
      }
      String who = caller == null ? "a plaintext caller" : caller.toString();
      String body =
          "jmesh: denied by authorization policy " + d.policy() + ": " + who + " may not "
              + method + " " + pathOnly + "\n";
      if (stream) {
        HttpForwarder.answer(ctx, HttpResponseStatus.FORBIDDEN, body, false);
        if (moreToCome) {
          ctx.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.NO_ERROR)); // stop sending the body
        }
      } else {
        HttpForwarder.answer(ctx, HttpResponseStatus.FORBIDDEN, body, bodyFollows(request));
      }
      discarding = moreToCome;
      return;
    }
    if (d.audited()) {
      stats.recordAudited(caller, "http");
      RuntimeLog.log(
          Level.INFO,
          "inbound: audit: " + caller + " " + method + " " + pathOnly + " would be denied by "
              + d.policy());
    }
    Deadline deadline = MeshHeaders.deadline(request.headers().get(DeadlineHeader.NAME), inbound.ticker());
    forwarder.admitted(new HttpForwarder.Admitted(start, method, caller, span, deadline));
    ctx.fireChannelRead(msg);
  }

  /** Whether an HTTP/1.1 request announces a body (a length above 0, or chunks). */
  private static boolean bodyFollows(HttpRequest request) {
    return HttpUtil.getContentLength(request, 0L) > 0 || HttpUtil.isTransferEncodingChunked(request);
  }

  /** An HTTP/1.1 request the codec refused: answered, counted, the connection closed. */
  private void unparsed(ChannelHandlerContext ctx, HttpRequest request, SpiffeId caller, long start) {
    Throwable cause = request.decoderResult().cause();
    HttpResponseStatus status;
    InboundStats.Refusal reason;
    if (cause instanceof TooLongHttpLineException) {
      status = HttpResponseStatus.REQUEST_URI_TOO_LONG;
      reason = InboundStats.Refusal.HEADERS_TOO_LARGE;
    } else if (cause instanceof TooLongFrameException) {
      status = HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE;
      reason = InboundStats.Refusal.HEADERS_TOO_LARGE;
    } else {
      status = HttpResponseStatus.BAD_REQUEST;
      reason = InboundStats.Refusal.BAD_REQUEST;
    }
    inbound.stats().recordRefused(reason, request.method().name(), caller, status.code(), inbound.ticker().nanoTime() - start);
    RuntimeLog.log(Level.DEBUG, "inbound: " + ctx.channel() + ": request refused (" + status + "): " + cause);
    HttpForwarder.answer(
        ctx,
        status,
        "jmesh: request refused: " + cause.getMessage()
            + (reason == InboundStats.Refusal.HEADERS_TOO_LARGE
                ? " (expected: a header section within " + inbound.options().limits().maxHeaderListBytes() + " bytes)"
                : "")
            + "\n",
        true);
    discarding = true; // the codec passes nothing more after a failure; the connection closes
  }

  /** The request's server span: the caller's child, with who called over which protocol. */
  private ServerSpan serverSpan(
      ChannelHandlerContext ctx, Channel connection, HttpRequest request, SpiffeId caller) {
    HttpHeaders h = request.headers();
    String peer =
        connection.remoteAddress() instanceof InetSocketAddress a && a.getAddress() != null
            ? a.getAddress().getHostAddress()
            : null;
    return inbound
        .tracing()
        .startServer(
            h::get,
            request.method().name(),
            request.uri(),
            caller != null ? "https" : "http",
            ctx.channel() instanceof Http2StreamChannel ? "2" : "1.1",
            peer,
            inbound.listenPort().getAsInt(),
            caller == null ? null : caller.toString());
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    RuntimeLog.log(Level.DEBUG, "inbound: " + ctx.channel() + ": " + cause);
    ctx.close();
  }
}
