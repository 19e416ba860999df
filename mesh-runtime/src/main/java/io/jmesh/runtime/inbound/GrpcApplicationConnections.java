package io.jmesh.runtime.inbound;

import io.jmesh.runtime.RuntimeLog;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2SettingsFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The h2c connections (cleartext HTTP/2 with prior knowledge) that {@link GrpcRelay}'s calls open
 * their streams on, kept per event loop as {@link ApplicationPool} keeps the HTTP/1.1 ones: a call
 * read on one loop gets a stream on a connection of that same loop, opened lazily by the loop that
 * needs one. Each connection carries up to the application's {@code
 * SETTINGS_MAX_CONCURRENT_STREAMS} streams; one that received GOAWAY or reached that limit takes
 * no new stream (another is opened), and a closed one is forgotten. Streams wait for the
 * application's SETTINGS before they open, so the limit is known and an application that does
 * not speak HTTP/2 (no SETTINGS within {@value #SETTINGS_TIMEOUT_MS} ms) fails the calls. A loop
 * opens at most {@code maxPerLoop} connections ({@code maxGrpcConnectionsToApplication} shared out):
 * a call that finds them all full fails at once (counted as {@link
 * InboundStats.Refusal#GRPC_CONNECTIONS}) rather than opening one more for every hostile caller.
 *
 * <p>Threading: {@link #openStream} must be called on the loop given, and its lease hears back
 * there; each loop's connections are touched only on that loop. Only the per-loop map and the
 * closed flag are shared, and {@link #close} and {@link #connections} may be called from any
 * thread. Buffers: frames a connection reads for itself (SETTINGS, GOAWAY, pings) are released
 * here; stream frames belong to the streams' own pipelines.
 */
final class GrpcApplicationConnections {
  /** How long a new connection may take to send its SETTINGS before its calls fail. */
  static final long SETTINGS_TIMEOUT_MS = 5_000;

  /** Hands a stream to the application (or the reason there is none) to one call. */
  interface StreamLease {
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

  private final InboundContext inbound;
  private final Bootstrap bootstrap;
  private final int maxPerLoop;
  private final Map<EventLoop, PerLoop> loops = new ConcurrentHashMap<>();
  private volatile boolean closed;

  GrpcApplicationConnections(InboundContext inbound, int maxPerLoop) {
    this.inbound = inbound;
    this.maxPerLoop = maxPerLoop;
    this.bootstrap =
        new Bootstrap()
            .channel(NioSocketChannel.class)
            .option(ChannelOption.TCP_NODELAY, true)
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 5_000)
            .remoteAddress(inbound.application());
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

  /**
   * Opens a stream to the application for a call read on {@code loop}, on a connection of that
   * loop, with {@code handler} as its pipeline; {@code lease} hears of it (or of why not) on that
   * loop. Call on {@code loop}.
   */
  void openStream(EventLoop loop, ChannelHandler handler, StreamLease lease) {
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
      if (connections.size() >= maxPerLoop) {
        inbound.stats().recordRefused(InboundStats.Refusal.GRPC_CONNECTIONS);
        lease.failed(
            new IOException(
                connections.size() + " h2c connections to the application are open on this event loop and"
                    + " full (maxGrpcConnectionsToApplication, shared out between the loops)"));
        return;
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
              "inbound: the application on " + inbound.applicationAddress() + " sent GOAWAY (" + g.errorCode() + "): no new streams on " + channel);
        }
      } finally {
        ReferenceCountUtil.release(msg);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      failure = cause;
      RuntimeLog.log(Level.DEBUG, "inbound: h2c connection to the application on " + inbound.applicationAddress() + ": " + cause);
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
