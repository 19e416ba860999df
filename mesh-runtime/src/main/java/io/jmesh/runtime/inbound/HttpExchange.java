package io.jmesh.runtime.inbound;

import io.jmesh.runtime.deadline.Deadline;
import io.jmesh.runtime.deadline.DeadlineHeader;
import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.trace.ServerSpan;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;

/**
 * One forwarded HTTP request, from the moment it waits for a connection to the application until
 * the caller has the answer: the request is written on a pooled connection (with the caller's
 * deadline, if it gave one, as the time that remains then), the application's
 * response (hop-by-hop headers removed) is written back to the caller, and the result is recorded
 * once, with the time since {@link HttpForwarder} read the request. An application that cannot
 * be reached, or whose connection breaks before the response, gives the caller a 502 naming its
 * address.
 *
 * <p>Threading: the caller's event loop only (the pool keeps the application's connection on that
 * loop), so its state needs no synchronization. Buffers: it owns one reference to the request
 * until it is written to the application (the write then owns it) or the pool fails (released
 * here); the response is retained once and handed to the write to the caller, while {@link
 * ApplicationConnection} releases its own reference.
 */
final class HttpExchange implements ApplicationPool.Lease {
  private final InboundContext inbound;
  private final ApplicationPool pool;
  private final ChannelHandlerContext caller;
  private final FullHttpRequest request;
  private final long start;
  private final String method; // for the metrics
  private final SpiffeId peer;
  private final ServerSpan span; // null when tracing is off
  private final Deadline deadline; // the caller's, null when it gave none
  private boolean done;

  /** @param start when the request was read, on {@link InboundContext#ticker()} */
  HttpExchange(
      InboundContext inbound,
      ApplicationPool pool,
      ChannelHandlerContext caller,
      FullHttpRequest request,
      long start,
      String method,
      SpiffeId peer,
      ServerSpan span,
      Deadline deadline) {
    this.inbound = inbound;
    this.pool = pool;
    this.caller = caller;
    this.request = request;
    this.start = start;
    this.method = method;
    this.peer = peer;
    this.span = span;
    this.deadline = deadline;
  }

  @Override
  public void acquired(Channel app) {
    ApplicationConnection connection = app.pipeline().get(ApplicationConnection.class);
    if (connection == null) { // closed between the pool's check and now: its pipeline is gone
      app.close();
      failed(new IOException("the connection to the application closed"));
      return;
    }
    connection.begin(this);
    if (deadline != null) {
      // What remains now: the time the request waited here is the caller's too.
      request.headers().set(DeadlineHeader.NAME, DeadlineHeader.format(deadline));
    }
    app.writeAndFlush(request)
        .addListener(
            (ChannelFutureListener)
                w -> {
                  if (!w.isSuccess()) {
                    connection.end(this);
                    app.close();
                    broken(w.cause());
                  }
                });
  }

  @Override
  public void failed(Throwable cause) {
    request.release();
    broken(cause);
  }

  @Override
  public void full(int pending) {
    request.release();
    done = true;
    inbound.stats().recordRefused(InboundStats.Refusal.PENDING_FULL, method, peer, 503, elapsed());
    if (span != null) {
      span.end(HttpResponseStatus.SERVICE_UNAVAILABLE.code(), null);
    }
    HttpForwarder.answer(
        caller,
        HttpResponseStatus.SERVICE_UNAVAILABLE,
        "jmesh: " + pending + " requests already wait for the application on " + inbound.applicationAddress()
            + " (the bound of maxPendingRequests on this event loop); try again\n");
  }

  /** The application answered on {@code app}; called by its {@link ApplicationConnection}. */
  void answered(Channel app, FullHttpResponse response) {
    if (done) {
      return;
    }
    done = true;
    boolean reusable = HttpUtil.isKeepAlive(response); // before its Connection header goes
    HttpHeaders headers = response.headers();
    HttpForwarder.removeHopByHop(headers);
    headers.set(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
    response.setProtocolVersion(HttpVersion.HTTP_1_1);
    FullHttpResponse back = response.retain(); // the connection's handler releases its own
    pool.release(app, reusable);
    inbound.stats().recordForwarded(method, peer, response.status().code(), elapsed());
    if (span != null) {
      span.end(response.status().code(), null);
    }
    caller.writeAndFlush(back);
  }

  /** No answer will come: 502 to the caller. */
  void broken(Throwable cause) {
    if (done) {
      return;
    }
    done = true;
    inbound.stats().recordUnreachable(method, peer, elapsed());
    if (span != null) {
      span.end(HttpResponseStatus.BAD_GATEWAY.code(), cause);
    }
    HttpForwarder.answer(
        caller,
        HttpResponseStatus.BAD_GATEWAY,
        "jmesh: the application on " + inbound.applicationAddress() + " did not answer: " + cause + "\n");
  }

  private long elapsed() {
    return inbound.ticker().nanoTime() - start;
  }
}
