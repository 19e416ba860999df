package io.jmesh.injector.server;

import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Netty's aggregator with the answer to an oversized body in one line of text (Netty's own 413
 * is empty), counted as outcome {@code too_large}. HTTP/1.1: {@code 413}, then the connection is
 * closed, since the rest of the body would otherwise have to be read and thrown away. HTTP/2: the
 * rest of the stream's body is read and dropped (the connection's other streams go on, and some
 * clients, the JDK's among them, take the answer only once they have sent their body), and the
 * stream is closed when it ends or at the read timeout, whichever comes first.
 */
final class BoundedAggregator extends HttpObjectAggregator {
  private final int maxBytes;
  private final AdmissionMetrics metrics;
  private final Duration http2Grace;

  /** {@code http2Grace}: null on HTTP/1.1; on HTTP/2, how long the dropped body may take. */
  BoundedAggregator(int maxBytes, AdmissionMetrics metrics, Duration http2Grace) {
    super(maxBytes);
    this.maxBytes = maxBytes;
    this.metrics = metrics;
    this.http2Grace = http2Grace;
  }

  @Override
  protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
    metrics.count("too_large");
    ChannelFuture written =
        ctx.writeAndFlush(
            HttpAnswers.text(
                HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE,
                "request body: more than "
                    + maxBytes
                    + " bytes (expected: at most --max-body-bytes, "
                    + maxBytes
                    + ")",
                http2Grace == null));
    if (http2Grace == null) {
      written.addListener(ChannelFutureListener.CLOSE);
    } else {
      ctx.executor().schedule(() -> ctx.close(), http2Grace.toMillis(), TimeUnit.MILLISECONDS);
    }
  }
}
