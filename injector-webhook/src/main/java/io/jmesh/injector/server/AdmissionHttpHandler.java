package io.jmesh.injector.server;

import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Routes one aggregated request: {@code POST <path>} to the {@link AdmissionEndpoint} (on the
 * worker executor, since a namespace lookup may read the API), {@code GET /ready} and {@code GET
 * /metrics} on the I/O thread; anything else a one-line 404 or 405. The same handler serves an
 * HTTP/1.1 connection and an HTTP/2 stream (whose frames a codec turned into HTTP objects).
 *
 * <p>One instance per channel.
 */
final class AdmissionHttpHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
  private final String path;
  private final AdmissionEndpoint endpoint;
  private final Executor workers;
  private final BooleanSupplier ready;
  private final AdmissionMetrics metrics;
  private final ServerTls tls;
  // Event-loop state: the admission in progress on this channel and the answers waiting for it.
  private final ArrayDeque<Runnable> waiting = new ArrayDeque<>();
  private boolean busy;

  /** Requests a pipelining HTTP/1.1 client may queue behind one in progress; more: closed. */
  static final int MAX_PIPELINED = 16;

  AdmissionHttpHandler(
      String path,
      AdmissionEndpoint endpoint,
      Executor workers,
      BooleanSupplier ready,
      AdmissionMetrics metrics,
      ServerTls tls) {
    this.path = path;
    this.endpoint = endpoint;
    this.workers = workers;
    this.ready = ready;
    this.metrics = metrics;
    this.tls = tls;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
    boolean keepAlive = HttpUtil.isKeepAlive(request);
    if (request.decoderResult().isFailure()) {
      metrics.count("bad_http");
      reply(
          ctx,
          HttpAnswers.text(
              HttpResponseStatus.BAD_REQUEST,
              "bad HTTP request: " + request.decoderResult().cause().getMessage(),
              true),
          false);
      return;
    }
    String requestPath = new QueryStringDecoder(request.uri()).path();
    HttpMethod method = request.method();
    if (requestPath.equals(path)) {
      if (!HttpMethod.POST.equals(method)) {
        metrics.count("bad_method");
        FullHttpResponse answer =
            HttpAnswers.text(
                HttpResponseStatus.METHOD_NOT_ALLOWED,
                method + " " + path + " (expected: POST with an AdmissionReview)",
                !keepAlive);
        answer.headers().set(HttpHeaderNames.ALLOW, "POST");
        reply(ctx, answer, keepAlive);
        return;
      }
      // The body is copied (at most --max-body-bytes) so the buffer is released on this thread.
      byte[] body = ByteBufUtil.getBytes(request.content());
      answerInOrder(
          ctx,
          () -> {
            AdmissionEndpoint.Answer answer = endpoint.handle(body);
            return HttpAnswers.bytes(
                HttpResponseStatus.valueOf(answer.status()),
                answer.contentType(),
                answer.body(),
                !keepAlive);
          },
          keepAlive);
      return;
    }
    boolean get = HttpMethod.GET.equals(method) || HttpMethod.HEAD.equals(method);
    if (requestPath.equals("/ready") && get) {
      boolean isReady = ready.getAsBoolean();
      reply(
          ctx,
          HttpAnswers.text(
              isReady ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE,
              isReady ? "ready" : "not ready: the namespace cache has not synced yet",
              !keepAlive),
          keepAlive);
      return;
    }
    if (requestPath.equals("/metrics") && get) {
      reply(
          ctx,
          HttpAnswers.bytes(
              HttpResponseStatus.OK,
              "text/plain; version=0.0.4; charset=utf-8",
              metrics.prometheusText(tls).getBytes(StandardCharsets.UTF_8),
              !keepAlive),
          keepAlive);
      return;
    }
    metrics.count(requestPath.equals("/ready") || requestPath.equals("/metrics") ? "bad_method" : "not_found");
    reply(
        ctx,
        HttpAnswers.text(
            requestPath.equals("/ready") || requestPath.equals("/metrics")
                ? HttpResponseStatus.METHOD_NOT_ALLOWED
                : HttpResponseStatus.NOT_FOUND,
            method + " " + requestPath + " (expected: POST " + path + ", GET /ready or GET /metrics)",
            !keepAlive),
        keepAlive);
  }

  /**
   * Runs {@code work} on a worker and writes its answer, after the answers of earlier requests of
   * this channel: an HTTP/1.1 client may send its next request before the first is answered
   * (pipelining), and answers must keep the requests' order. Called on the event loop.
   */
  private void answerInOrder(
      ChannelHandlerContext ctx, Supplier<FullHttpResponse> work, boolean keepAlive) {
    if (busy) {
      if (waiting.size() >= MAX_PIPELINED) {
        metrics.count("busy");
        ctx.close();
        return;
      }
      waiting.add(() -> answerInOrder(ctx, work, keepAlive));
      return;
    }
    busy = true;
    try {
      workers.execute(
          () -> {
            FullHttpResponse response;
            try {
              response = work.get();
            } catch (RuntimeException e) {
              // AdmissionEndpoint answers its own failures; this is the last net, so the
              // channel's queue moves on.
              metrics.count("internal_error");
              response =
                  HttpAnswers.text(
                      HttpResponseStatus.INTERNAL_SERVER_ERROR, "internal error: " + e, true);
            }
            FullHttpResponse answer = response;
            ctx.executor()
                .execute(
                    () -> {
                      send(ctx, answer, keepAlive && !answer.headers().contains("connection"));
                      next();
                    });
          });
    } catch (RejectedExecutionException e) {
      metrics.count("busy");
      send(
          ctx,
          HttpAnswers.text(
              HttpResponseStatus.SERVICE_UNAVAILABLE,
              "busy: too many admissions in progress (try again)",
              !keepAlive),
          keepAlive);
      next();
    }
  }

  private void next() {
    busy = false;
    Runnable waiter = waiting.poll();
    if (waiter != null) {
      waiter.run();
    }
  }

  /** Writes now, or after the admissions in progress on this channel. */
  private void reply(ChannelHandlerContext ctx, FullHttpResponse response, boolean keepAlive) {
    if (busy) {
      answerInOrder(ctx, () -> response, keepAlive);
    } else {
      send(ctx, response, keepAlive);
    }
  }

  private static void send(ChannelHandlerContext ctx, FullHttpResponse response, boolean keepAlive) {
    var written = ctx.writeAndFlush(response);
    if (!keepAlive) {
      written.addListener(ChannelFutureListener.CLOSE);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    // A reset or a TLS failure of one connection: nothing to answer, nothing to log per byte.
    ctx.close();
  }
}
