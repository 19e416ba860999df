package io.jmesh.runtime.inbound;

import io.jmesh.runtime.RuntimeLog;
import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.trace.ServerSpan;
import io.jmesh.runtime.trace.Tracing;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2SettingsFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.codec.http2.Http2StreamFrame;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

/**
 * gRPC through the inbound terminator: an HTTP/2 request whose {@code content-type} starts with
 * {@code application/grpc} is relayed, frame by frame, as an HTTP/2 stream to the application
 * over cleartext HTTP/2 with prior knowledge (h2c, which every gRPC server accepts), instead of
 * being aggregated and forwarded as HTTP/1.1. So unary, server-, client- and bidi-streaming calls
 * keep their streaming semantics, trailers ({@code grpc-status}) and flow control.
 *
 * <p>Per call:
 *
 * <ul>
 *   <li><b>authorized</b> with the existing {@link AuthorizationPolicy} as method {@code POST} and
 *       the path {@code /pkg.Service/Method}, so rules can name gRPC methods by path prefix. A
 *       denial is a trailers-only response (HTTP 200, {@code grpc-status: 7} PERMISSION_DENIED, a
 *       {@code grpc-message} naming the policy), counted as denied;
 *   <li><b>relayed</b>: the caller's headers (its own {@value InboundTerminator#CLIENT_ID_HEADER}
 *       replaced by its proven identity; trace context from the server span), data, trailers and
 *       end of stream go to a new stream on an h2c connection to the application, and the
 *       application's headers, data and trailers come back the same way. RST_STREAM travels both
 *       ways with its error code: a caller's cancel resets the application's stream (a gRPC server
 *       sees the call cancelled), an application's reset resets the caller's stream;
 *   <li><b>back-pressured</b>: a side that reads stops reading (autoRead off) while the other
 *       side's stream is not writable (its HTTP/2 window is spent or its queue is above the high
 *       water mark) and resumes when it is writable again; a stream that does not read returns no
 *       window, so a fast producer on either side cannot make the relay buffer without bound;
 *   <li><b>failed closed</b>: an application that cannot be reached, or whose stream ends before
 *       it answered, gives the caller a trailers-only {@code grpc-status: 14} UNAVAILABLE naming
 *       its address, counted as unreachable; a stream that breaks after the answer began is reset
 *       ({@code INTERNAL_ERROR}). A stream the application's GOAWAY says it never processed resets
 *       the caller's with {@code REFUSED_STREAM}, which gRPC clients retry transparently.
 * </ul>
 *
 * <p>Connections to the application: per event loop, h2c connections opened lazily by the loop
 * that needs one, each carrying up to the application's {@code SETTINGS_MAX_CONCURRENT_STREAMS}
 * streams. A connection that received GOAWAY or reached that limit takes no new stream (another
 * is opened); a closed one is forgotten. Streams wait for the application's SETTINGS before they
 * open, so the limit is known and an application that does not speak HTTP/2 fails the call.
 *
 * <p>Threading: everything of one call runs on the caller connection's event loop, and the
 * application's stream is opened on a connection of that same loop (as {@link ApplicationPool}
 * does for HTTP/1.1): no state here is shared between threads except the per-loop map and the
 * closed flag. Every {@code ByteBuf} read is either written on (the write then owns it) or
 * released here, exactly once.
 */
final class GrpcRelay {
  static final AsciiString GRPC_STATUS = AsciiString.cached("grpc-status");
  static final AsciiString GRPC_MESSAGE = AsciiString.cached("grpc-message");
  private static final AsciiString CLIENT_ID = AsciiString.cached(InboundTerminator.CLIENT_ID_HEADER);
  private static final AsciiString APPLICATION_GRPC = AsciiString.cached("application/grpc");
  private static final AsciiString HTTP = AsciiString.cached("http");
  /** gRPC status codes used here; the rest only appear as names in metrics. */
  static final int OK = 0, CANCELLED = 1, PERMISSION_DENIED = 7, INTERNAL = 13, UNAVAILABLE = 14;
  private static final String[] STATUS_NAMES = {
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
    "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"
  };
  /** How long a new connection may take to send its SETTINGS before its calls fail. */
  static final long SETTINGS_TIMEOUT_MS = 5_000;

  private final Bootstrap bootstrap;
  private final String applicationAddress;
  private final Supplier<AuthorizationPolicy> policy;
  private final InboundStats stats;
  private final Tracing tracing;
  private final IntSupplier listenPort;
  private final Map<EventLoop, PerLoop> loops = new ConcurrentHashMap<>();
  private volatile boolean closed;

  /**
   * @param applicationAddress how messages name the application ({@code 127.0.0.1:8080})
   * @param listenPort the mesh listener's port, for the server span
   */
  GrpcRelay(
      InetSocketAddress application,
      String applicationAddress,
      Supplier<AuthorizationPolicy> policy,
      InboundStats stats,
      Tracing tracing,
      IntSupplier listenPort) {
    this.applicationAddress = applicationAddress;
    this.policy = policy;
    this.stats = stats;
    this.tracing = tracing;
    this.listenPort = listenPort;
    this.bootstrap =
        new Bootstrap()
            .channel(NioSocketChannel.class)
            .option(ChannelOption.TCP_NODELAY, true)
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 5_000)
            .remoteAddress(application);
  }

  /**
   * Whether an HTTP/2 request is a gRPC call: {@code application/grpc}, {@code
   * application/grpc+proto}, ... but not {@code application/grpc-web}, which a gRPC server does
   * not accept as is (it stays on the HTTP path).
   */
  static boolean isGrpc(Http2Headers headers) {
    CharSequence type = headers.get("content-type");
    int n = APPLICATION_GRPC.length();
    if (type == null || !AsciiString.regionMatches(type, true, 0, APPLICATION_GRPC, 0, n)) {
      return false;
    }
    return type.length() == n || type.charAt(n) == '+' || type.charAt(n) == ';';
  }

  /**
   * The first handler of a caller's HTTP/2 stream: a gRPC call replaces it and everything after it
   * (the HTTP/1.1 aggregation path) with the relay; any other request passes on unchanged.
   */
  ChannelHandler divert() {
    return new Divert();
  }

  /** Closes every connection to the application; the calls on them end as their streams close. */
  void close() {
    closed = true;
    for (PerLoop p : loops.values()) {
      p.loop.execute(p::closeAll);
    }
  }

  /** Connections to the application open now, over all loops (for tests). */
  int connections() {
    int n = 0;
    for (PerLoop p : loops.values()) {
      n += p.connections.size();
    }
    return n;
  }

  /** The gRPC name of a status code ({@code NOT_FOUND}), or the number for an unknown code. */
  static String statusName(int code) {
    return code >= 0 && code < STATUS_NAMES.length ? STATUS_NAMES[code] : Integer.toString(code);
  }

  /**
   * Codes that say the server failed rather than the request (the ones OpenTelemetry counts as
   * server errors for gRPC): UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE,
   * DATA_LOSS.
   */
  static boolean isServerError(int code) {
    return code == 2 || code == 4 || code == 12 || code == 13 || code == 14 || code == 15;
  }

  /**
   * {@code grpc-message} as the gRPC wire format wants it: UTF-8, every byte outside printable
   * ASCII and {@code %} itself percent-encoded.
   */
  static String percentEncode(String message) {
    byte[] bytes = message.getBytes(StandardCharsets.UTF_8);
    StringBuilder out = new StringBuilder(bytes.length);
    for (byte b : bytes) {
      int c = b & 0xff;
      if (c >= 0x20 && c <= 0x7e && c != '%') {
        out.append((char) c);
      } else {
        out.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
            .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
      }
    }
    return out.toString();
  }

  /** Hands a stream to the application (or the reason there is none) to one call. */
  private interface StreamLease {
    void opened(Http2StreamChannel stream);

    void failed(Throwable cause);
  }

  /** A gRPC server pushes nothing and opens no streams: any stream it opens is reset. */
  @ChannelHandler.Sharable
  private static final class RefuseStreams extends ChannelInboundHandlerAdapter {
    static final RefuseStreams INSTANCE = new RefuseStreams();

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      ctx.close();
    }
  }

  private record Pending(ChannelHandler handler, StreamLease lease) {}

  /** Decides, on the first frame of a caller's stream, whether it is a gRPC call. */
  private final class Divert extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof Http2HeadersFrame h && isGrpc(h.headers())) {
        Http2StreamChannel stream = (Http2StreamChannel) ctx.channel();
        Call call = new Call(stream, stream.parent().attr(InboundTerminator.CALLER).get());
        ChannelPipeline p = ctx.pipeline();
        while (p.last() != this) {
          p.removeLast(); // the HTTP/1.1 codec, the aggregator and Forward: not for this stream
        }
        p.replace(this, "grpc", call.callerSide);
        p.fireChannelRead(msg);
      } else {
        ctx.fireChannelRead(msg);
        ctx.pipeline().remove(this);
      }
    }
  }

  /**
   * One gRPC call: the caller's stream and the application's, and what is recorded when it ends.
   * Confined to the caller's event loop.
   */
  private final class Call implements StreamLease {
    final Http2StreamChannel caller;
    final SpiffeId peer; // null for a plaintext caller (permissive mode)
    final long start = System.nanoTime();
    final CallerSide callerSide = new CallerSide();
    final AppSide appSide = new AppSide();
    /** The caller's frames that arrived while the application's stream was being opened. */
    final ArrayDeque<Http2StreamFrame> early = new ArrayDeque<>();
    ServerSpan span; // null when tracing is off
    Http2HeadersFrame request; // the headers for the application, until its stream is open
    Http2StreamChannel app;
    String path;
    boolean headersSeen;
    boolean answeredByUs; // denied or unavailable: the caller's further frames are dropped
    boolean callerGone; // reset or closed: nothing more to write to it
    boolean responseStarted;
    boolean responseEnded;
    boolean recorded;
    int httpStatus; // 0 until the application answers
    int grpcStatus = -1; // -1 until a grpc-status arrives

    Call(Http2StreamChannel caller, SpiffeId peer) {
      this.caller = caller;
      this.peer = peer;
    }

    /** The request headers: authorize, then open the application's stream. */
    void begin(Http2HeadersFrame frame) {
      stats.recordStarted();
      Http2Headers in = frame.headers();
      String target = in.path() == null ? "" : in.path().toString();
      int query = target.indexOf('?');
      path = query < 0 ? target : target.substring(0, query);
      if (tracing.enabled()) {
        span = serverSpan(in, target);
      }
      AuthorizationPolicy.Decision d = policy.get().decide(peer, "POST", path);
      if (!d.allowed()) {
        stats.recordGrpcDenied(peer, path, System.nanoTime() - start);
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
        stats.recordAudited(peer, "grpc");
        RuntimeLog.log(Level.INFO, "inbound: audit: " + peer + " gRPC " + path + " would be denied by " + d.policy());
      }
      // The caller's headers object is ours: edit it in place rather than copy it.
      in.remove(CLIENT_ID);
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
      openStream(caller.eventLoop(), appSide, this);
    }

    private ServerSpan serverSpan(Http2Headers in, String target) {
      Channel connection = caller.parent();
      String address =
          connection.remoteAddress() instanceof InetSocketAddress a && a.getAddress() != null
              ? a.getAddress().getHostAddress()
              : null;
      return tracing.startServer(
          name -> {
            CharSequence v = in.get(name.toLowerCase(Locale.ROOT)); // HTTP/2 names are lower case
            return v == null ? null : v.toString();
          },
          "POST",
          target,
          peer != null ? "https" : "http",
          "2",
          address,
          listenPort.getAsInt(),
          peer == null ? null : peer.toString());
    }

    @Override
    public void opened(Http2StreamChannel stream) {
      if (callerGone) {
        stream.close(); // the caller went away while the connection was being made
        return;
      }
      app = stream;
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
    void unavailable(Throwable cause) {
      if (recorded || responseStarted) {
        return;
      }
      recorded = true;
      stats.recordGrpcUnreachable(peer, path, System.nanoTime() - start);
      if (span != null) {
        span.end(200, cause);
      }
      RuntimeLog.log(Level.DEBUG, "inbound: gRPC " + path + ": the application on " + applicationAddress + " did not answer: " + cause);
      answer(UNAVAILABLE, "jmesh: the application on " + applicationAddress + " did not answer: " + cause);
    }

    /** A trailers-only response of our own, then the caller's further frames are dropped. */
    void answer(int code, String message) {
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
              .set(GRPC_MESSAGE, percentEncode(message));
      caller.writeAndFlush(new DefaultHttp2HeadersFrame(h, true));
      caller.config().setAutoRead(true); // drain (and drop) what the caller still sends
    }

    /** Records the call once: the HTTP status and grpc-status the caller got. */
    void finish(Throwable error) {
      if (recorded) {
        return;
      }
      recorded = true;
      stats.recordGrpcFinished(peer, path, httpStatus, grpcStatus, System.nanoTime() - start);
      if (span != null) {
        span.end(httpStatus, error);
      }
    }

    void releaseEarly() {
      Http2StreamFrame f;
      while ((f = early.poll()) != null) {
        ReferenceCountUtil.release(f);
      }
    }

    /** In the caller's stream: its frames go to the application's stream. */
    final class CallerSide extends ChannelInboundHandlerAdapter {
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
          out = new DefaultHttp2HeadersFrame(h.headers(), h.isEndStream()); // the caller's trailers
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
    final class AppSide extends ChannelInboundHandlerAdapter {
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
          stats.recordGrpcUnreachable(peer, path, System.nanoTime() - start);
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

  private void openStream(EventLoop loop, ChannelHandler handler, StreamLease lease) {
    assert loop.inEventLoop();
    if (closed) {
      lease.failed(new IllegalStateException("the inbound listener is closed"));
      return;
    }
    loops.computeIfAbsent(loop, PerLoop::new).openStream(handler, lease);
  }

  /** One loop's h2c connections to the application; touched only on that loop. */
  private final class PerLoop {
    final EventLoop loop;
    final List<AppConnection> connections = new ArrayList<>();

    PerLoop(EventLoop loop) {
      this.loop = loop;
    }

    void openStream(ChannelHandler handler, StreamLease lease) {
      for (AppConnection c : connections) {
        if (c.accepts()) {
          c.openStream(handler, lease);
          return;
        }
      }
      AppConnection c = new AppConnection(this);
      connections.add(c);
      c.openStream(handler, lease);
    }

    void closeAll() {
      for (AppConnection c : new ArrayList<>(connections)) {
        c.channel.close();
      }
    }
  }

  /**
   * One h2c connection to the application. Streams asked for before its SETTINGS arrived wait in
   * {@link #waiting}.
   */
  private final class AppConnection extends ChannelInboundHandlerAdapter {
    final PerLoop owner;
    final Channel channel;
    final ArrayDeque<Pending> waiting = new ArrayDeque<>();
    Http2FrameCodec codec;
    boolean ready; // the application's SETTINGS arrived
    boolean draining; // GOAWAY received: no new streams
    int streams; // opening or open, not counting the waiting ones
    Throwable failure;

    AppConnection(PerLoop owner) {
      this.owner = owner;
      ChannelFuture f =
          bootstrap
              .clone(owner.loop)
              .handler(
                  new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                      codec = Http2FrameCodecBuilder.forClient().build();
                      ch.pipeline()
                          .addLast(
                              codec,
                              new Http2MultiplexHandler(RefuseStreams.INSTANCE),
                              AppConnection.this);
                    }
                  })
              .connect();
      this.channel = f.channel();
      f.addListener(
          x -> {
            if (!x.isSuccess()) {
              failure = x.cause();
            }
          });
      channel.closeFuture().addListener(x -> closed());
      owner.loop.schedule(
          () -> {
            if (!ready && channel.isOpen()) {
              failure = new IOException("no HTTP/2 SETTINGS from the application within " + SETTINGS_TIMEOUT_MS + " ms (expected: a gRPC server, h2c with prior knowledge)");
              channel.close();
            }
          },
          SETTINGS_TIMEOUT_MS,
          TimeUnit.MILLISECONDS);
    }

    boolean accepts() {
      return !draining && channel.isOpen() && (!ready || streams < maxStreams());
    }

    void openStream(ChannelHandler handler, StreamLease lease) {
      if (ready) {
        open(new Pending(handler, lease));
      } else {
        waiting.add(new Pending(handler, lease));
      }
    }

    private int maxStreams() {
      return codec.connection().local().maxActiveStreams(); // the application's SETTINGS say it
    }

    private void open(Pending p) {
      streams++;
      new Http2StreamChannelBootstrap(channel)
          .handler(p.handler())
          .open()
          .addListener(
              f -> {
                if (f.isSuccess()) {
                  Http2StreamChannel s = (Http2StreamChannel) f.getNow();
                  s.closeFuture().addListener(x -> streams--);
                  p.lease().opened(s);
                } else {
                  streams--;
                  p.lease().failed(f.cause());
                }
              });
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      try {
        if (msg instanceof Http2SettingsFrame && !ready) {
          ready = true;
          // Now the limit is known: what this connection cannot take goes to another one.
          Pending p;
          while ((p = waiting.poll()) != null) {
            if (streams < maxStreams()) {
              open(p);
            } else {
              owner.openStream(p.handler(), p.lease());
            }
          }
        } else if (msg instanceof Http2GoAwayFrame g) {
          draining = true;
          RuntimeLog.log(
              Level.DEBUG,
              "inbound: the application on " + applicationAddress + " sent GOAWAY (" + g.errorCode() + "): no new streams on " + channel);
        }
      } finally {
        ReferenceCountUtil.release(msg);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      failure = cause;
      RuntimeLog.log(Level.DEBUG, "inbound: h2c connection to the application on " + applicationAddress + ": " + cause);
      ctx.close();
    }

    private void closed() {
      owner.connections.remove(this);
      Throwable cause =
          failure != null ? failure : new IOException("the connection to the application closed before its HTTP/2 SETTINGS");
      Pending p;
      while ((p = waiting.poll()) != null) {
        p.lease().failed(cause);
      }
    }
  }
}
