package io.jmesh.runtime.inbound;

import io.jmesh.runtime.RuntimeLog;
import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.identity.TlsRefusals;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.ssl.SslContext;
import io.netty.util.AttributeKey;
import java.lang.System.Logger.Level;

/**
 * The one place where a caller connection's pipeline is composed, stage by stage, as each stage
 * learns more about the connection:
 *
 * <ol>
 *   <li>{@link #detector()}: the first handler of every connection ({@link TlsDetector}), which
 *       tells TLS from plaintext;
 *   <li>{@link #tls}: the TLS handshake and then {@link AlpnHandler}, which reads the caller's
 *       identity and the protocol ALPN chose;
 *   <li>{@link #sniff}: without ALPN, {@link ProtocolSniffer} reads the first bytes;
 *   <li>then one of {@link #http1}, {@link #http2} (gRPC diverted to {@link GrpcRelay}) or {@link
 *       #opaque} (authorized once, relayed byte for byte by {@link OpaqueRelay}).
 * </ol>
 *
 * <p>Threading: each method is called on the connection's event loop by the handler that made the
 * decision; this object itself is immutable and shared by every connection of the listener.
 */
final class InboundPipelines {
  /** The caller's identity, on the connection (the parent of HTTP/2 stream channels). */
  static final AttributeKey<SpiffeId> CALLER = AttributeKey.valueOf("jmesh.caller");

  private final InboundContext inbound;
  private final SslContext sslContext;
  private final TlsRefusals refusals;
  private final ApplicationPool pool;
  private final GrpcRelay grpc;

  InboundPipelines(
      InboundContext inbound, SslContext sslContext, TlsRefusals refusals, ApplicationPool pool, GrpcRelay grpc) {
    this.inbound = inbound;
    this.sslContext = sslContext;
    this.refusals = refusals;
    this.pool = pool;
    this.grpc = grpc;
  }

  InboundContext inbound() {
    return inbound;
  }

  /** Where refused handshakes and plaintext connections are counted. */
  TlsRefusals refusals() {
    return refusals;
  }

  /** The first handler of a new connection. */
  ChannelHandler detector() {
    return new TlsDetector(this, inbound.options().mode());
  }

  /** TLS detected: {@code detector} gives way to the handshake, then to ALPN. */
  void tls(ChannelHandlerContext ctx, ChannelHandler detector) {
    ctx.pipeline().addAfter(ctx.name(), "alpn", new AlpnHandler(this));
    ctx.pipeline().replace(detector, "tls", sslContext.newHandler(ctx.alloc()));
  }

  /** A handshake without ALPN: the first bytes decide. */
  void sniff(ChannelPipeline p, SpiffeId caller) {
    p.addLast("sniff", new ProtocolSniffer(this, caller));
  }

  /**
   * HTTP/1.1, over TLS or plaintext (permissive mode): requests aggregated and forwarded one at a
   * time, the connection kept alive as the caller asks.
   */
  void http1(ChannelPipeline p) {
    p.addLast("http1", new HttpServerCodec());
    p.addLast("keepalive", new HttpServerKeepAliveHandler());
    p.addLast("aggregate", new HttpObjectAggregator(inbound.options().maxBodyBytes()));
    p.addLast("forward", new HttpForwarder(inbound, pool));
  }

  /**
   * HTTP/2: each stream a child channel whose first handler diverts gRPC calls to the streaming
   * relay; any other request is converted to HTTP/1.1 objects and forwarded as an HTTP/1.1 one.
   */
  void http2(ChannelPipeline p) {
    p.addLast(
        Http2FrameCodecBuilder.forServer().build(),
        new Http2MultiplexHandler(
            new ChannelInitializer<Channel>() {
              @Override
              protected void initChannel(Channel stream) {
                stream
                    .pipeline()
                    .addLast(
                        grpc.divert(), // gRPC calls leave here for GrpcRelay, streamed
                        new Http2StreamFrameToHttpObjectCodec(true),
                        new HttpObjectAggregator(inbound.options().maxBodyBytes()),
                        new HttpForwarder(inbound, pool));
              }
            }));
  }

  /**
   * Opaque TCP: adds the relay if the policy admits the connection (method {@code TCP}, no
   * path); closes it otherwise.
   *
   * @return whether the relay was added
   */
  boolean opaque(ChannelHandlerContext ctx, SpiffeId caller) {
    AuthorizationPolicy.Decision d = inbound.policy().get().decide(caller, "TCP", "");
    if (!d.allowed()) {
      inbound.stats().recordDenied(caller);
      RuntimeLog.log(
          Level.INFO, "inbound: TCP connection from " + caller + " denied by " + d.policy());
      ctx.close();
      return false;
    }
    inbound.stats().recordOpaque();
    ctx.pipeline().addLast(new OpaqueRelay(ctx.channel(), inbound.application(), inbound.applicationAddress()));
    return true;
  }
}
