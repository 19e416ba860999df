package io.jmesh.runtime.inbound;

import io.jmesh.runtime.RuntimeLog;
import io.jmesh.runtime.identity.TlsRefusals;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.lang.System.Logger.Level;
import java.util.Set;

/**
 * In {@link InboundTerminator.Mode#STRICT}, on a plaintext HTTP/1.1 connection, in place of
 * {@link HttpAuthorizer}: the health-check exemption, as Linkerd's for kubelet probes. A request
 * passes on to the aggregator and {@link HttpForwarder} only when it is a {@code GET} or {@code
 * HEAD} of a declared probe path (exact, its query ignored) without a body; it then goes to the
 * application without identity (no {@value InboundTerminator#CLIENT_ID_HEADER}) and without the
 * authorization policy, which a caller without identity could not meet in strict mode. Anything
 * else, an unparsable request too, is refused: a 403 naming what is served, the connection
 * closed, and counted as {@link TlsRefusals.Reason#PLAINTEXT}, as a strict plaintext connection
 * always is. The refusal comes after the answers to earlier requests of the connection ({@link
 * Http1Sequencer} lets each request reach this gate only then).
 *
 * <p>Threading: the connection's event loop. Buffers: a refused request and the body parts that
 * follow it are released here; an admitted one is passed on.
 */
final class ProbeGate extends ChannelInboundHandlerAdapter {
  private final InboundContext inbound;
  private final TlsRefusals refusals;
  private final HttpForwarder forwarder;
  private final Set<String> paths;
  private boolean discarding; // after a refusal: the rest is released until the close

  ProbeGate(InboundContext inbound, TlsRefusals refusals, HttpForwarder forwarder) {
    this.inbound = inbound;
    this.refusals = refusals;
    this.forwarder = forwarder;
    this.paths = inbound.options().probePaths();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (discarding) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (!(msg instanceof HttpRequest request)) {
      ctx.fireChannelRead(msg); // the (empty) end of an admitted probe
      return;
    }
    String path = ProbePaths.pathOf(request.uri());
    if (isProbe(request, path)) {
      inbound.stats().recordStarted();
      forwarder.admitted(new HttpForwarder.Admitted(inbound.ticker().nanoTime(), request.method().name(), null, null, null));
      ctx.fireChannelRead(msg);
      return;
    }
    ReferenceCountUtil.release(msg);
    discarding = !(msg instanceof LastHttpContent);
    refusals.record(TlsRefusals.Reason.PLAINTEXT);
    String what = request.decoderResult().isSuccess() ? request.method().name() + " " + path : "an unparsable request";
    RuntimeLog.log(
        Level.DEBUG,
        "inbound: plaintext " + what + " from " + ctx.channel().remoteAddress() + " refused (strict mTLS)");
    HttpForwarder.answer(
        ctx,
        HttpResponseStatus.FORBIDDEN,
        "jmesh: plaintext " + what + " refused (strict mTLS; expected: mesh TLS, or GET or HEAD"
            + " of one of this workload's probe paths, without a body)\n",
        true);
  }

  private boolean isProbe(HttpRequest request, String path) {
    HttpMethod m = request.method();
    return request.decoderResult().isSuccess()
        && (m.equals(HttpMethod.GET) || m.equals(HttpMethod.HEAD))
        && paths.contains(path)
        && !HttpUtil.isTransferEncodingChunked(request)
        && HttpUtil.getContentLength(request, 0L) == 0
        && !(request instanceof HttpContent c && c.content().isReadable());
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    RuntimeLog.log(Level.DEBUG, "inbound: " + ctx.channel() + ": " + cause);
    ctx.close();
  }
}
