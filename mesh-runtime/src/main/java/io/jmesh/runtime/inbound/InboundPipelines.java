package io.jmesh.runtime.inbound;

import io.jmesh.runtime.RuntimeLog;
import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.identity.TlsRefusals;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.AttributeKey;
import java.lang.System.Logger.Level;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The one place where a caller connection's pipeline is composed, stage by stage, as each stage
 * learns more about the connection:
 *
 * <ol>
 *   <li>{@link #accepted}: the connection's timers ({@link ConnectionGuard}, after Netty's {@code
 *       IdleStateHandler}), then {@link TlsDetector}, which tells TLS from plaintext;
 *   <li>{@link #tls}: the TLS handshake and then {@link AlpnHandler}, which reads the caller's
 *       identity and the protocol ALPN chose;
 *   <li>{@link #sniff}: without ALPN, {@link ProtocolSniffer} reads the first bytes;
 *   <li>plaintext: {@link #http1} in permissive mode; in strict mode with probe paths, {@link
 *       #probes} (only health checks served, {@link ProbeGate});
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
  private final Http2Refusals http2Refusals;

  InboundPipelines(
      InboundContext inbound, SslContext sslContext, TlsRefusals refusals, ApplicationPool pool, GrpcRelay grpc) {
    this.inbound = inbound;
    this.sslContext = sslContext;
    this.refusals = refusals;
    this.pool = pool;
    this.grpc = grpc;
    this.http2Refusals = new Http2Refusals(inbound.stats());
  }

  InboundContext inbound() {
    return inbound;
  }

  /** Where refused handshakes and plaintext connections are counted. */
  TlsRefusals refusals() {
    return refusals;
  }

  /** A new connection: its timers first (they cover the handshake), then detection. */
  void accepted(ChannelPipeline p) {
    InboundTerminator.Limits limits = inbound.options().limits();
    p.addLast("idle", new IdleStateHandler(0, 0, limits.idleTimeout().toNanos(), TimeUnit.NANOSECONDS));
    p.addLast("guard", new ConnectionGuard(inbound.stats(), limits));
    p.addLast("detect", new TlsDetector(this, inbound.options()));
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
   * HTTP/1.1, over TLS or plaintext (permissive mode): each request authorized on its header
   * section (bounded by {@code maxHeaderListBytes}), then aggregated and forwarded one at a time
   * ({@link Http1Sequencer}: pipelined requests wait for the answers before them, so every answer
   * leaves in request order), the connection kept alive as the caller asks.
   */
  void http1(ChannelPipeline p) {
    http1(p, forwarder -> new HttpAuthorizer(inbound, forwarder));
  }

  /**
   * Plaintext in strict mode with probe paths declared: HTTP/1.1 as {@link #http1}, but {@link
   * ProbeGate} in place of authorization, so only the workload's health checks are served.
   */
  void probes(ChannelPipeline p) {
    http1(p, forwarder -> new ProbeGate(inbound, refusals, forwarder));
  }

  /** The HTTP/1.1 stages, {@code gate} deciding on each request's header what goes on. */
  private void http1(ChannelPipeline p, Function<HttpForwarder, ChannelHandler> gate) {
    int maxHeader = inbound.options().limits().maxHeaderListBytes();
    HttpServerCodec codec = new HttpServerCodec(new HttpDecoderConfig().setMaxHeaderSize(maxHeader));
    p.addLast("http1", codec);
    p.addLast("watch", p.get(ConnectionGuard.class).http1Watch());
    // Before the keep-alive handler: it sees the answers with the Connection header that handler
    // set, and that handler sees the requests one at a time, as they are answered.
    p.addLast("sequence", new Http1Sequencer(inbound, Http1Sequencer.MAX_READ_AHEAD, codec));
    p.addLast("keepalive", new HttpServerKeepAliveHandler());
    HttpForwarder forwarder = new HttpForwarder(inbound, pool);
    p.addLast("authorize", gate.apply(forwarder));
    p.addLast("aggregate", aggregator(forwarder));
    p.addLast("forward", forwarder);
  }

  /** Bodies up to {@code maxBodyBytes}; a larger one is answered 413 and counted. */
  private HttpObjectAggregator aggregator(HttpForwarder forwarder) {
    return new HttpObjectAggregator(inbound.options().maxBodyBytes()) {
      @Override
      protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) throws Exception {
        forwarder.tooLarge();
        super.handleOversizedMessage(ctx, oversized);
      }
    };
  }

  /**
   * HTTP/2: each stream a child channel whose first handler diverts gRPC calls to the streaming
   * relay; any other request is converted to HTTP/1.1 objects, authorized on its headers, and
   * forwarded as an HTTP/1.1 one. The codec enforces the stream, header and reset limits itself
   * (Netty's protections, which {@link Http2Refusals} counts).
   */
  void http2(ChannelPipeline p) {
    InboundTerminator.Limits limits = inbound.options().limits();
    int window = (int) limits.resetWindow().toSeconds();
    Http2FrameCodec codec =
        Http2FrameCodecBuilder.forServer()
            // The builder puts the stream limit in force at once, not only once the caller
            // acknowledged our SETTINGS: a caller that never acknowledges is bounded too.
            .initialSettings(
                Http2Settings.defaultSettings()
                    .maxConcurrentStreams(limits.maxConcurrentStreams())
                    .maxHeaderListSize(limits.maxHeaderListBytes()))
            // Rapid reset (CVE-2023-44487): resets the caller sends ...
            .decoderEnforceMaxRstFramesPerWindow(limits.maxResetsPerWindow(), window)
            // ... and resets it makes the listener send (streams beyond the limit, "MadeYouReset").
            .encoderEnforceMaxRstFramesPerWindow(limits.maxResetsPerWindow(), window)
            .frameLogger(http2Refusals)
            .build();
    ConnectionGuard guard = p.get(ConnectionGuard.class);
    guard.http2(codec);
    p.addLast(
        codec,
        new Http2MultiplexHandler(
            new ChannelInitializer<Channel>() {
              @Override
              protected void initChannel(Channel stream) {
                guard.streamOpened();
                HttpForwarder forwarder = new HttpForwarder(inbound, pool);
                stream
                    .pipeline()
                    .addLast(
                        grpc.divert(), // gRPC calls leave here for GrpcRelay, streamed
                        new Http2StreamFrameToHttpObjectCodec(true),
                        new HttpAuthorizer(inbound, forwarder),
                        aggregator(forwarder),
                        forwarder);
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
    ctx.pipeline().get(ConnectionGuard.class).opaque();
    ctx.pipeline().addLast(new OpaqueRelay(ctx.channel(), inbound.application(), inbound.applicationAddress()));
    return true;
  }
}
