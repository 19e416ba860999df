package io.jmesh.runtime.inbound;

import io.jmesh.runtime.RuntimeLog;
import io.jmesh.runtime.deadline.Deadline;
import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.trace.ServerSpan;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.util.AsciiString;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Arrays;

/**
 * The last handler of an HTTP caller (an HTTP/1.1 connection, or one HTTP/2 stream): each
 * aggregated request that {@link HttpAuthorizer} admitted on its headers is <b>forwarded</b> as
 * HTTP/1.1 to the application over the {@link ApplicationPool}, with the caller's identity in
 * {@value InboundTerminator#CLIENT_ID_HEADER} (every {@code x-jmesh-*} header from the caller
 * removed first: {@link MeshHeaders}),
 * trace context from the request's server span, and the hop-by-hop headers removed. {@link
 * HttpExchange} carries the request from there to the answer. A body above {@code maxBodyBytes}
 * is answered 413 by the aggregator before it (which {@link #tooLarge} records).
 *
 * <p>Threading: the caller's event loop. Buffers: the request is released by this handler (a
 * {@link SimpleChannelInboundHandler}); the copy forwarded is a second reference ({@code
 * retain()}) that the exchange hands to the write to the application, or releases.
 */
final class HttpForwarder extends SimpleChannelInboundHandler<FullHttpRequest> {
  /** Headers that describe one connection, not the message: never passed on (RFC 9110 7.6.1). */
  private static final AsciiString[] HOP_BY_HOP = {
    AsciiString.cached("connection"), AsciiString.cached("keep-alive"),
    AsciiString.cached("proxy-connection"), AsciiString.cached("transfer-encoding"),
    AsciiString.cached("upgrade"), AsciiString.cached("te"), AsciiString.cached("trailer"),
    AsciiString.cached("proxy-authenticate"), AsciiString.cached("proxy-authorization"),
    AsciiString.cached("http2-settings")
  };
  /** The x-http2-* names, once: {@code values()} would copy the array for every request. */
  private static final AsciiString[] HTTP2_EXTENSION_HEADERS =
      Arrays.stream(HttpConversionUtil.ExtensionHeaderNames.values())
          .map(HttpConversionUtil.ExtensionHeaderNames::text)
          .toArray(AsciiString[]::new);

  private final InboundContext inbound;
  private final ApplicationPool pool;

  HttpForwarder(InboundContext inbound, ApplicationPool pool) {
    this.inbound = inbound;
    this.pool = pool;
  }

  /**
   * A request admitted on its headers: when it arrived, who sent it, its server span, and the
   * deadline its caller gave it when its headers arrived ({@code null}: none).
   */
  record Admitted(long start, String method, SpiffeId caller, ServerSpan span, Deadline deadline) {}

  /** Admitted requests whose body is still being aggregated, oldest first (HTTP/1.1 pipelining). */
  private final ArrayDeque<Admitted> admitted = new ArrayDeque<>(1);

  /** Called by {@link HttpAuthorizer} as it passes a request's headers on. */
  void admitted(Admitted a) {
    admitted.addLast(a);
  }

  /** The aggregator refused the oldest admitted request's body (413): recorded here. */
  void tooLarge() {
    Admitted a = admitted.pollFirst();
    if (a == null) {
      return;
    }
    inbound.stats().recordRefused(
        InboundStats.Refusal.BODY_TOO_LARGE, a.method(), a.caller(), 413, inbound.ticker().nanoTime() - a.start());
    if (a.span() != null) {
      a.span().end(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE.code(), null);
    }
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
    Admitted a = admitted.pollFirst();
    if (a == null) { // no authorization seen for it: never forwarded
      RuntimeLog.log(Level.WARNING, "inbound: " + ctx.channel() + ": a request reached the forwarder unauthorized; closing");
      ctx.close();
      return;
    }
    SpiffeId caller = a.caller();
    ServerSpan span = a.span();
    // The request goes on as it came, its headers edited in place: copying them cost a header
    // map and a lower-cased string per header, the largest share of the listener's garbage.
    HttpHeaders headers = request.headers();
    removeHopByHop(headers);
    for (AsciiString name : HTTP2_EXTENSION_HEADERS) {
      headers.remove(name); // x-http2-*: what Netty's HTTP/2 conversion adds, not the caller
    }
    // No x-jmesh-* header of the caller's goes on: the identity is the proven one, and the
    // deadline is written again by the exchange from the one read on arrival.
    MeshHeaders.strip(headers);
    MeshHeaders.strip(request.trailingHeaders());
    if (caller != null) {
      headers.set(InboundTerminator.CLIENT_ID_HEADER, caller.toString());
    }
    if (span != null) {
      span.inject(headers::set); // the application continues the trace from the server span
    }
    headers.set(HttpHeaderNames.CONTENT_LENGTH, request.content().readableBytes());
    request.setProtocolVersion(HttpVersion.HTTP_1_1);
    FullHttpRequest toApplication = request.retain(); // this handler releases its own reference
    pool.acquire(
        ctx.channel().eventLoop(),
        new HttpExchange(inbound, pool, ctx, toApplication, a.start(), a.method(), caller, span, a.deadline()));
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    RuntimeLog.log(Level.DEBUG, "inbound: " + ctx.channel() + ": " + cause);
    ctx.close();
  }

  /** Removes the headers of one connection (a request's or a response's). */
  static void removeHopByHop(HttpHeaders headers) {
    for (AsciiString name : HOP_BY_HOP) {
      headers.remove(name);
    }
  }

  /** An answer of the listener's own (403, 502, 503), as plain text. */
  static void answer(ChannelHandlerContext ctx, HttpResponseStatus status, String body) {
    answer(ctx, status, body, false);
  }

  /**
   * As {@link #answer(ChannelHandlerContext, HttpResponseStatus, String)}; {@code close} says
   * {@code Connection: close} (HTTP/1.1 only), which the keep-alive handler honours by closing
   * the connection once the answer is written.
   */
  static void answer(ChannelHandlerContext ctx, HttpResponseStatus status, String body, boolean close) {
    FullHttpResponse r = response(status, body);
    if (close) {
      r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
    } else {
      ctx.writeAndFlush(r);
    }
  }

  /** A plain-text answer of the listener's own, with its length. */
  static FullHttpResponse response(HttpResponseStatus status, String body) {
    ByteBuf content = Unpooled.copiedBuffer(body, StandardCharsets.UTF_8);
    FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, content);
    r.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8")
        .set(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
    return r;
  }
}
