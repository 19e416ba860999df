package io.jmesh.runtime.inbound;

import static io.jmesh.runtime.inbound.GrpcRelay.CANCELLED;
import static io.jmesh.runtime.inbound.GrpcRelay.GRPC_MESSAGE;
import static io.jmesh.runtime.inbound.GrpcRelay.GRPC_STATUS;
import static io.jmesh.runtime.inbound.GrpcRelay.INTERNAL;
import static io.jmesh.runtime.inbound.GrpcRelay.PERMISSION_DENIED;
import static io.jmesh.runtime.inbound.GrpcRelay.UNAVAILABLE;

import io.jmesh.runtime.RuntimeLog;
import io.jmesh.runtime.deadline.Deadline;
import io.jmesh.runtime.deadline.DeadlineHeader;
import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.trace.ServerSpan;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrame;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.Locale;

/**
 * One gRPC call relayed by {@link GrpcRelay}: the caller's HTTP/2 stream and the application's,
 * and what is recorded when the call ends.
 *
 * <ul>
 *   <li><b>begun</b> on the caller's request headers: authorized as {@code POST} of its path (a
 *       denial is answered trailers-only, PERMISSION_DENIED), its headers edited in place (the
 *       caller's {@code x-jmesh-*} headers removed ({@link MeshHeaders}), its proven identity
 *       in {@value InboundTerminator#CLIENT_ID_HEADER}, its deadline written again as it opens, the
 *       scheme {@code http}, trace context injected), then a stream to the application is asked
 *       of {@link GrpcApplicationConnections};
 *   <li><b>relayed</b> by two handlers: {@code CallerSide} in the caller's stream writes its data,
 *       trailers and resets to the application's stream, {@code AppSide} in the application's
 *       stream writes its headers, data, trailers and resets back. Each side stops reading while
 *       the other side's stream is not writable, and resumes when it is;
 *   <li><b>recorded</b> once ({@code finish}, {@code unavailable}, or a denial), with the HTTP
 *       status and {@code grpc-status} the caller got and the time since the request headers
 *       arrived, on the listener's ticker.
 * </ul>
 *
 * <p>Threading: confined to the caller connection's event loop; the application's stream is on a
 * connection of that same loop, so no state here needs synchronization. Buffers: every frame read
 * on either side is re-wrapped and written on to the other side (the write then owns its content),
 * or released here, exactly once. Frames that arrive while the application's stream is being
 * opened wait in {@code early} (bounded: the caller's stream stops reading until then) and are
 * written first, or released if the call ends before.
 */
final class GrpcCall implements GrpcApplicationConnections.StreamLease {
  private static final AsciiString CLIENT_ID = AsciiString.cached(InboundTerminator.CLIENT_ID_HEADER);
  private static final AsciiString DEADLINE = AsciiString.cached(DeadlineHeader.NAME);
  private static final AsciiString APPLICATION_GRPC = AsciiString.cached("application/grpc");
  private static final AsciiString HTTP = AsciiString.cached("http");

  private final InboundContext inbound;
  private final GrpcApplicationConnections connections;
  private final Http2StreamChannel caller;
  private final SpiffeId peer; // null for a plaintext caller (permissive mode)
  private final long start;
  private final CallerSide callerSide = new CallerSide();
  private final AppSide appSide = new AppSide();
  /** The caller's frames that arrived while the application's stream was being opened. */
  private final ArrayDeque<Http2StreamFrame> early = new ArrayDeque<>();
  private ServerSpan span; // null when tracing is off
  private Deadline deadline; // the caller's x-jmesh-deadline-ms, null when it gave none
  private Http2HeadersFrame request; // the headers for the application, until its stream is open
  private Http2StreamChannel app;
  private String path;
  private boolean headersSeen;
  private boolean answeredByUs; // denied or unavailable: the caller's further frames are dropped
  private boolean callerGone; // reset or closed: nothing more to write to it
  private boolean responseStarted;
  private boolean responseEnded;
  private boolean recorded;
  private int httpStatus; // 0 until the application answers
  private int grpcStatus = -1; // -1 until a grpc-status arrives

  GrpcCall(
      InboundContext inbound,
      GrpcApplicationConnections connections,
      Http2StreamChannel caller,
      SpiffeId peer) {
    this.inbound = inbound;
    this.connections = connections;
    this.caller = caller;
    this.peer = peer;
    this.start = inbound.ticker().nanoTime();
  }

  /** The handler that takes the caller's stream over, from its request headers on. */
  ChannelHandler callerHandler() {
    return callerSide;
  }

  /** The request headers: authorize, then open the application's stream. */
  private void begin(Http2HeadersFrame frame) {
    inbound.stats().recordStarted();
    Http2Headers in = frame.headers();
    String target = in.path() == null ? "" : in.path().toString();
    int query = target.indexOf('?');
    path = query < 0 ? target : target.substring(0, query);
    if (inbound.tracing().enabled()) {
      span = serverSpan(in, target);
    }
    AuthorizationPolicy.Decision d = inbound.policy().get().decide(peer, "POST", path);
    if (!d.allowed()) {
      inbound.stats().recordGrpcDenied(peer, path, elapsed());
      recorded = true;
      if (span != null) {
        span.denied(d.policy());
        span.end(200, null);
      }
      String who = peer == null ? "a plaintext caller" : peer.toString();
      answer(PERMISSION_DENIED, "jmesh: denied by authorization policy " + d.policy() + ": " + who + " may not call " + path);
      return;
    }
    if (d.audited()) {
      inbound.stats().recordAudited(peer, "grpc");
      RuntimeLog.log(Level.INFO, "inbound: audit: " + peer + " gRPC " + path + " would be denied by " + d.policy());
    }
    // The caller's headers object is ours: edit it in place rather than copy it. No x-jmesh-*
    // header of the caller's goes on; the deadline is written again when the stream opens.
    deadline = MeshHeaders.deadline(in.get(DEADLINE), inbound.ticker());
    MeshHeaders.strip(in);
    if (peer != null) {
      in.set(CLIENT_ID, peer.toString());
    }
    in.scheme(HTTP); // the hop to the application is cleartext
    if (span != null) {
      span.inject((name, value) -> in.set(name.toLowerCase(Locale.ROOT), value));
    }
    request = new DefaultHttp2HeadersFrame(in, frame.isEndStream());
    // Read nothing more from the caller until there is somewhere to put it.
    caller.config().setAutoRead(false);
    connections.openStream(caller.eventLoop(), appSide, this);
  }

  private ServerSpan serverSpan(Http2Headers in, String target) {
    Channel connection = caller.parent();
    String address =
        connection.remoteAddress() instanceof InetSocketAddress a && a.getAddress() != null
            ? a.getAddress().getHostAddress()
            : null;
    return inbound.tracing().startServer(
        name -> {
          CharSequence v = in.get(name.toLowerCase(Locale.ROOT)); // HTTP/2 names are lower case
          return v == null ? null : v.toString();
        },
        "POST",
        target,
        peer != null ? "https" : "http",
        "2",
        address,
        inbound.listenPort().getAsInt(),
        peer == null ? null : peer.toString());
  }

  @Override
  public void opened(Http2StreamChannel stream) {
    if (callerGone) {
      stream.close(); // the caller went away while the connection was being made
      return;
    }
    app = stream;
    if (deadline != null) {
      request.headers().set(DEADLINE, DeadlineHeader.format(deadline)); // what remains now
    }
    app.write(request)
        .addListener(
            (ChannelFutureListener)
                f -> {
                  if (!f.isSuccess()) {
                    // E.g. the connection hit the application's stream limit or closed.
                    unavailable(f.cause());
                    app.close();
                  }
                });
    request = null;
    Http2StreamFrame f;
    while ((f = early.poll()) != null) {
      app.write(f);
    }
    app.flush();
    caller.config().setAutoRead(app.isWritable());
  }

  @Override
  public void failed(Throwable cause) {
    releaseEarly();
    unavailable(cause);
  }

  /** The application could not be reached, or its stream ended before any answer. */
  private void unavailable(Throwable cause) {
    if (recorded || responseStarted) {
      return;
    }
    recorded = true;
    inbound.stats().recordGrpcUnreachable(peer, path, elapsed());
    if (span != null) {
      span.end(200, cause);
    }
    RuntimeLog.log(Level.DEBUG, "inbound: gRPC " + path + ": the application on " + inbound.applicationAddress() + " did not answer: " + cause);
    answer(UNAVAILABLE, "jmesh: the application on " + inbound.applicationAddress() + " did not answer: " + cause);
  }

  /** A trailers-only response of our own, then the caller's further frames are dropped. */
  private void answer(int code, String message) {
    answeredByUs = true;
    releaseEarly();
    if (callerGone) {
      return;
    }
    Http2Headers h =
        new DefaultHttp2Headers()
            .status("200")
            .set("content-type", APPLICATION_GRPC)
            .setInt(GRPC_STATUS, code)
            .set(GRPC_MESSAGE, GrpcRelay.percentEncode(message));
    caller.writeAndFlush(new DefaultHttp2HeadersFrame(h, true));
    caller.config().setAutoRead(true); // drain (and drop) what the caller still sends
  }

  /** Records the call once: the HTTP status and grpc-status the caller got. */
  private void finish(Throwable error) {
    if (recorded) {
      return;
    }
    recorded = true;
    inbound.stats().recordGrpcFinished(peer, path, httpStatus, grpcStatus, elapsed());
    if (span != null) {
      span.end(httpStatus, error);
    }
  }

  private void releaseEarly() {
    Http2StreamFrame f;
    while ((f = early.poll()) != null) {
      ReferenceCountUtil.release(f);
    }
  }

  /** In the caller's stream: its frames go to the application's stream. */
  private final class CallerSide extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (!headersSeen && msg instanceof Http2HeadersFrame h) {
        headersSeen = true;
        begin(h);
        return;
      }
      if (answeredByUs) {
        ReferenceCountUtil.release(msg);
        return;
      }
      Http2StreamFrame out;
      if (msg instanceof Http2DataFrame d) {
        out = new DefaultHttp2DataFrame(d.content(), d.isEndStream()); // the content moves on
      } else if (msg instanceof Http2HeadersFrame h) {
        MeshHeaders.strip(h.headers()); // the caller's trailers: no x-jmesh-* either
        out = new DefaultHttp2HeadersFrame(h.headers(), h.isEndStream());
      } else {
        ReferenceCountUtil.release(msg);
        return;
      }
      if (app == null) {
        early.add(out); // bounded: the caller's stream stopped reading in begin()
      } else if (isEndStream(out)) {
        app.writeAndFlush(out); // as for the answer: the stream may close before its read completes
      } else {
        app.write(out);
        if (!app.isWritable()) {
          caller.config().setAutoRead(false);
        }
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      if (app != null) {
        app.flush();
      }
      ctx.fireChannelReadComplete();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      if (app != null) {
        app.config().setAutoRead(caller.isWritable());
      }
      ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof Http2ResetFrame r) {
        // The caller cancelled (or broke) the call: so does the application's stream.
        callerGone = true;
        if (app != null && app.isActive()) {
          app.writeAndFlush(new DefaultHttp2ResetFrame(r.errorCode()));
        }
        if (!responseEnded) {
          grpcStatus = CANCELLED;
        }
        finish(null);
      }
      ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      callerGone = true;
      releaseEarly();
      if (app != null && app.isActive()) {
        app.close(); // resets the application's stream (CANCEL) if it is still open
      }
      if (!recorded) {
        grpcStatus = responseEnded ? grpcStatus : CANCELLED;
        finish(null);
      }
      ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      RuntimeLog.log(Level.DEBUG, "inbound: gRPC " + path + " from " + peer + ": " + cause);
      ctx.close();
    }
  }

  /** In the application's stream: its frames go back to the caller's stream. */
  private final class AppSide extends ChannelInboundHandlerAdapter {
    private boolean reset;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (callerGone) {
        ReferenceCountUtil.release(msg);
        return;
      }
      Http2StreamFrame out;
      boolean end;
      if (msg instanceof Http2HeadersFrame h) {
        Http2Headers headers = h.headers();
        if (!responseStarted) {
          responseStarted = true;
          httpStatus = parse(headers.status(), 0);
        }
        CharSequence s = headers.get(GRPC_STATUS);
        if (s != null) {
          grpcStatus = parse(s, -1);
        }
        end = h.isEndStream();
        out = new DefaultHttp2HeadersFrame(headers, end);
      } else if (msg instanceof Http2DataFrame d) {
        end = d.isEndStream();
        out = new DefaultHttp2DataFrame(d.content(), end);
      } else {
        ReferenceCountUtil.release(msg);
        return;
      }
      if (end) {
        // The stream may close before its read completes: flush now, not in channelReadComplete.
        caller.writeAndFlush(out);
        responseEnded = true;
        finish(null);
      } else {
        caller.write(out);
      }
      if (!caller.isWritable()) {
        app.config().setAutoRead(false);
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      caller.flush();
      ctx.fireChannelReadComplete();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      caller.config().setAutoRead(ctx.channel().isWritable());
      ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof Http2GoAwayFrame && !responseStarted && !recorded && !callerGone) {
        // The application's GOAWAY says it never processed this stream: refuse the caller's,
        // which a gRPC client retries transparently (on this connection, so on a new h2c one).
        reset = true;
        recorded = true;
        inbound.stats().recordGrpcUnreachable(peer, path, elapsed());
        if (span != null) {
          span.end(0, new IOException("refused: the application sent GOAWAY before this stream"));
        }
        caller.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.REFUSED_STREAM));
      } else if (evt instanceof Http2ResetFrame r) {
        reset = true;
        // Also after a complete answer: RST_STREAM(NO_ERROR) then tells a caller still sending
        // to stop (RFC 9113, 8.1).
        if (!callerGone && caller.isActive()) {
          caller.writeAndFlush(new DefaultHttp2ResetFrame(r.errorCode()));
        }
        if (!responseEnded) {
          grpcStatus = r.errorCode() == Http2Error.CANCEL.code() ? CANCELLED : INTERNAL;
        }
        finish(null);
      }
      ctx.fireUserEventTriggered(evt); // the pipeline's tail releases what needs releasing
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      caller.flush();
      if (!responseEnded && !reset && !callerGone) {
        if (!responseStarted) {
          unavailable(new IOException("the stream to the application closed before its answer"));
        } else {
          caller.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.INTERNAL_ERROR));
          grpcStatus = INTERNAL;
          finish(new IOException("the stream to the application closed during its answer"));
        }
      }
      ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      RuntimeLog.log(Level.DEBUG, "inbound: gRPC " + path + " to the application: " + cause);
      ctx.close();
    }
  }

  private long elapsed() {
    return inbound.ticker().nanoTime() - start;
  }

  private static boolean isEndStream(Http2StreamFrame f) {
    return f instanceof Http2DataFrame d ? d.isEndStream() : f instanceof Http2HeadersFrame h && h.isEndStream();
  }

  private static int parse(CharSequence s, int otherwise) {
    if (s == null) {
      return otherwise;
    }
    try {
      return Integer.parseInt(s.toString());
    } catch (NumberFormatException e) {
      return otherwise;
    }
  }
}
