package io.jmesh.runtime.inbound;

import io.jmesh.runtime.RuntimeLog;
import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.trace.ServerSpan;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.util.AsciiString;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The last handler of an HTTP caller (an HTTP/1.1 connection, or one HTTP/2 stream): each
 * aggregated request is <b>authorized</b> against the policy with the caller's SPIFFE identity (a
 * denial is a 403 whose body names the policy), then <b>forwarded</b> as HTTP/1.1 to the
 * application over the {@link ApplicationPool}, with the caller's identity in {@value
 * InboundTerminator#CLIENT_ID_HEADER} (any such header from the caller removed first), trace
 * context from the request's server span, and the hop-by-hop headers removed. {@link HttpExchange}
 * carries the request from there to the answer.
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

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
    long start = inbound.ticker().nanoTime();
    InboundStats stats = inbound.stats();
    stats.recordStarted();
    Channel connection =
        ctx.channel() instanceof Http2StreamChannel ? ctx.channel().parent() : ctx.channel();
    SpiffeId caller = connection.attr(InboundPipelines.CALLER).get();
    String method = request.method().name();
    String path = request.uri();
    int query = path.indexOf('?');
    String pathOnly = query < 0 ? path : path.substring(0, query);
    AuthorizationPolicy.Decision d = inbound.policy().get().decide(caller, method, pathOnly);
    ServerSpan span = inbound.tracing().enabled() ? serverSpan(ctx, connection, request, caller) : null;
    if (!d.allowed()) {
      stats.recordDenied(method, caller, inbound.ticker().nanoTime() - start);
      if (span != null) {
        span.denied(d.policy());
        span.end(HttpResponseStatus.FORBIDDEN.code(), null);
      }
      String who = caller == null ? "a plaintext caller" : caller.toString();
      answer(
          ctx,
          HttpResponseStatus.FORBIDDEN,
          "jmesh: denied by authorization policy " + d.policy() + ": " + who + " may not "
              + method + " " + pathOnly + "\n");
      return;
    }
    if (d.audited()) {
      stats.recordAudited(caller, "http");
      RuntimeLog.log(
          Level.INFO,
          "inbound: audit: " + caller + " " + method + " " + pathOnly + " would be denied by "
              + d.policy());
    }
    // The request goes on as it came, its headers edited in place: copying them cost a header
    // map and a lower-cased string per header, the largest share of the listener's garbage.
    HttpHeaders headers = request.headers();
    removeHopByHop(headers);
    for (AsciiString name : HTTP2_EXTENSION_HEADERS) {
      headers.remove(name); // x-http2-*: what Netty's HTTP/2 conversion adds, not the caller
    }
    headers.remove(InboundTerminator.CLIENT_ID_HEADER); // only the proven identity, never one the caller sent
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
        new HttpExchange(inbound, pool, ctx, toApplication, start, method, caller, span));
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    RuntimeLog.log(Level.DEBUG, "inbound: " + ctx.channel() + ": " + cause);
    ctx.close();
  }

  /** The request's server span: the caller's child, with who called over which protocol. */
  private ServerSpan serverSpan(
      ChannelHandlerContext ctx, Channel connection, FullHttpRequest request, SpiffeId caller) {
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

  /** Removes the headers of one connection (a request's or a response's). */
  static void removeHopByHop(HttpHeaders headers) {
    for (AsciiString name : HOP_BY_HOP) {
      headers.remove(name);
    }
  }

  /** An answer of the listener's own (403, 502), as plain text. */
  static void answer(ChannelHandlerContext ctx, HttpResponseStatus status, String body) {
    ByteBuf content = Unpooled.copiedBuffer(body, StandardCharsets.UTF_8);
    FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, content);
    r.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8")
        .set(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
    ctx.writeAndFlush(r);
  }
}
