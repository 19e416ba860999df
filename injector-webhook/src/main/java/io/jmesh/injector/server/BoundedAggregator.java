package io.jmesh.injector.server;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * Netty's aggregator with the answer to an oversized body in one line of text (Netty's own 413
 * is empty): {@code 413}, then the connection (or HTTP/2 stream) is closed, since the rest of the
 * body would otherwise have to be read and thrown away. Counted as outcome {@code too_large}.
 */
final class BoundedAggregator extends HttpObjectAggregator {
  private final int maxBytes;
  private final AdmissionMetrics metrics;

  BoundedAggregator(int maxBytes, AdmissionMetrics metrics) {
    super(maxBytes);
    this.maxBytes = maxBytes;
    this.metrics = metrics;
  }

  @Override
  protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
    metrics.count("too_large");
    ctx.writeAndFlush(
            HttpAnswers.text(
                HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE,
                "request body: more than "
                    + maxBytes
                    + " bytes (expected: at most --max-body-bytes, "
                    + maxBytes
                    + ")",
                true))
        .addListener(ChannelFutureListener.CLOSE);
  }
}
