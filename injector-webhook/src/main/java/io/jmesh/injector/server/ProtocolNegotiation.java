package io.jmesh.injector.server;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import java.util.function.Supplier;

/**
 * After the TLS handshake, the pipeline for the protocol ALPN chose: HTTP/2 (each stream a child
 * channel with its own codec, deadline, aggregator and handler) or HTTP/1.1 (a client that offers
 * no ALPN gets HTTP/1.1). Both end in the same {@link AdmissionHttpHandler}.
 */
final class ProtocolNegotiation extends ApplicationProtocolNegotiationHandler {
  /** HTTP/1.1 limits: the request line and the headers (the API server sends a few hundred bytes). */
  static final int MAX_INITIAL_LINE = 4096;

  static final int MAX_HEADER_BYTES = 16 * 1024;
  /** HTTP/2: streams at once per connection (the API server opens a handful). */
  static final int MAX_STREAMS = 100;

  private final WebhookServer.Options options;
  private final AdmissionMetrics metrics;
  private final Supplier<AdmissionHttpHandler> handlers;

  ProtocolNegotiation(
      WebhookServer.Options options,
      AdmissionMetrics metrics,
      Supplier<AdmissionHttpHandler> handlers) {
    super(ApplicationProtocolNames.HTTP_1_1);
    this.options = options;
    this.metrics = metrics;
    this.handlers = handlers;
  }

  @Override
  protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
    ChannelPipeline pipeline = ctx.pipeline();
    long deadline = options.readTimeout().toMillis();
    if (ApplicationProtocolNames.HTTP_2.equals(protocol)) {
      pipeline.addLast(
          Http2FrameCodecBuilder.forServer()
              .initialSettings(
                  Http2Settings.defaultSettings()
                      .maxConcurrentStreams(MAX_STREAMS)
                      .maxHeaderListSize(MAX_HEADER_BYTES))
              .build());
      pipeline.addLast(
          new Http2MultiplexHandler(
              new ChannelInitializer<Http2StreamChannel>() {
                @Override
                protected void initChannel(Http2StreamChannel stream) {
                  stream
                      .pipeline()
                      .addLast(
                          new RequestDeadline(deadline, false),
                          new Http2StreamFrameToHttpObjectCodec(true),
                          new BoundedAggregator(options.maxBodyBytes(), metrics, options.readTimeout()),
                          handlers.get());
                }
              }));
      return;
    }
    if (!ApplicationProtocolNames.HTTP_1_1.equals(protocol)) {
      throw new IllegalStateException("ALPN: " + protocol + " (expected: h2 or http/1.1)");
    }
    pipeline.addLast(
        new RequestDeadline(deadline, true),
        new HttpServerCodec(
            new HttpDecoderConfig()
                .setMaxInitialLineLength(MAX_INITIAL_LINE)
                .setMaxHeaderSize(MAX_HEADER_BYTES)),
        new BoundedAggregator(options.maxBodyBytes(), metrics, null),
        handlers.get());
  }
}
