package io.jmesh.runtime.inbound;

import io.jmesh.runtime.RuntimeLog;
import io.jmesh.runtime.identity.MeshTls;
import io.jmesh.runtime.identity.PeerRefusedException;
import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.identity.TlsRefusals;
import io.jmesh.runtime.trace.ServerSpan;
import io.jmesh.runtime.trace.Tracing;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.IdentityCipherSuiteFilter;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.AsciiString;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import javax.net.ssl.SSLPeerUnverifiedException;

/**
 * The workload's inbound mesh listener. Each connection is, in order:
 *
 * <ol>
 *   <li><b>detected</b>: TLS or plaintext, from its first bytes. Plaintext is refused and counted
 *       in {@link Mode#STRICT}, served as HTTP/1.1 from an unauthenticated caller in {@link
 *       Mode#PERMISSIVE} (migration, as Istio's PERMISSIVE mTLS);
 *   <li><b>terminated</b>: TLS 1.3 with a client certificate of the mesh required ({@link MeshTls}),
 *       ALPN {@code h2} or {@code http/1.1}. No ALPN means opaque TCP (a database protocol, say);
 *   <li><b>authorized</b>: each request (each connection for opaque TCP) against the policy, with
 *       the caller's SPIFFE identity; a denial is a 403 whose body names the policy;
 *   <li><b>forwarded</b>: to the application's port on loopback, as HTTP/1.1 over a small pool of
 *       keep-alive connections, with the caller's identity in {@value #CLIENT_ID_HEADER} (any such
 *       header from the caller is removed first). So two HTTP/1.1 applications talk HTTP/2 between
 *       their JVMs, many requests on one connection. Opaque TCP is relayed byte for byte.
 * </ol>
 *
 * <p>HTTP bodies are aggregated up to {@link Options#maxBodyBytes} (413 beyond). gRPC calls (an
 * HTTP/2 request with {@code content-type: application/grpc...}) are not: {@link GrpcRelay} relays
 * them frame by frame, streaming, over cleartext HTTP/2 to the application, with flow control,
 * trailers and resets passed through; a denied call gets {@code PERMISSION_DENIED}, an unreachable
 * application {@code UNAVAILABLE}. Threads: its own small Netty event loop group, daemon threads;
 * a request's connection to the application lives on the caller connection's event loop.
 */
public final class InboundTerminator implements AutoCloseable {
  /** The caller's SPIFFE identity, as the application receives it (Linkerd: l5d-client-id). */
  public static final String CLIENT_ID_HEADER = "x-jmesh-client-id";

  static final String OPAQUE = "jmesh-opaque";
  /** How long a connection without ALPN may stay silent before it is taken for opaque TCP. */
  static final long DETECT_TIMEOUT_MS = 1_000;
  private static final Set<String> HTTP_METHODS =
      Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH");
  /** Event loops of the listener; each keeps its own connections to the application. */
  private static final int LOOPS = 2;
  /** The caller's identity, on the connection (the parent of HTTP/2 stream channels). */
  static final AttributeKey<SpiffeId> CALLER = AttributeKey.valueOf("jmesh.caller");
  /** Headers that describe one connection, not the message: never passed on (RFC 9110 7.6.1). */
  private static final AsciiString[] HOP_BY_HOP = {
    AsciiString.cached("connection"), AsciiString.cached("keep-alive"),
    AsciiString.cached("proxy-connection"), AsciiString.cached("transfer-encoding"),
    AsciiString.cached("upgrade"), AsciiString.cached("te"), AsciiString.cached("trailer"),
    AsciiString.cached("proxy-authenticate"), AsciiString.cached("proxy-authorization"),
    AsciiString.cached("http2-settings")
  };

  /** Whether plaintext connections are refused (the default) or served unauthenticated. */
  public enum Mode {
    STRICT,
    PERMISSIVE
  }

  /**
   * @param listen where the mesh listener binds (all interfaces or the pod IP in production)
   * @param application the application's own port, on loopback
   * @param maxBodyBytes the largest request or response body forwarded
   * @param maxConnectionsToApplication the pool's size; more concurrent requests queue
   */
  public record Options(
      InetSocketAddress listen,
      InetSocketAddress application,
      Mode mode,
      int maxBodyBytes,
      int maxConnectionsToApplication) {
    public Options {
      Objects.requireNonNull(listen, "listen");
      Objects.requireNonNull(application, "application");
      Objects.requireNonNull(mode, "mode");
      if (maxBodyBytes < 1) {
        throw new IllegalArgumentException("maxBodyBytes: " + maxBodyBytes + " (expected: >= 1)");
      }
      if (maxConnectionsToApplication < 1) {
        throw new IllegalArgumentException(
            "maxConnectionsToApplication: " + maxConnectionsToApplication + " (expected: >= 1)");
      }
    }

    /** Strict, 16 MiB bodies, 64 connections to the application. */
    public static Options of(InetSocketAddress listen, InetSocketAddress application) {
      return new Options(listen, application, Mode.STRICT, 16 << 20, 64);
    }

    public Options withMode(Mode newMode) {
      return new Options(listen, application, newMode, maxBodyBytes, maxConnectionsToApplication);
    }
  }

  private final Options options;
  private final MeshTls tls;
  private final Supplier<AuthorizationPolicy> policy;
  private final InboundStats stats;
  private final Tracing tracing;
  private final SslContext sslContext;
  private final EventLoopGroup group;
  private final ApplicationPool pool;
  private final GrpcRelay grpc;
  private final Channel server;

  private InboundTerminator(
      Options options, MeshTls tls, Supplier<AuthorizationPolicy> policy, InboundStats stats, Tracing tracing)
      throws InterruptedException {
    this.options = options;
    this.tls = tls;
    this.policy = policy;
    this.stats = stats;
    this.tracing = tracing;
    this.sslContext =
        new JdkSslContext(
            tls.serverContext(),
            false,
            null,
            IdentityCipherSuiteFilter.INSTANCE,
            new ApplicationProtocolConfig(
                ApplicationProtocolConfig.Protocol.ALPN,
                ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                ApplicationProtocolNames.HTTP_2,
                ApplicationProtocolNames.HTTP_1_1),
            ClientAuth.REQUIRE,
            new String[] {"TLSv1.3"},
            false);
    this.group =
        new MultiThreadIoEventLoopGroup(
            LOOPS, new DefaultThreadFactory("jmesh-inbound", true), NioIoHandler.newFactory());
    Bootstrap toApplication =
        new Bootstrap()
            .group(group) // replaced per connection by the loop that asks (ApplicationPool)
            .channel(NioSocketChannel.class)
            .option(ChannelOption.TCP_NODELAY, true)
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 5_000)
            .remoteAddress(options.application())
            .handler(
                new ChannelInitializer<Channel>() {
                  @Override
                  protected void initChannel(Channel ch) {
                    ch.pipeline()
                        .addLast(
                            new HttpClientCodec(),
                            new HttpObjectAggregator(options.maxBodyBytes()),
                            new ApplicationConnection());
                  }
                });
    // The configured total, shared out between the loops (each forwards what it reads).
    this.pool =
        new ApplicationPool(
            toApplication, (options.maxConnectionsToApplication() + LOOPS - 1) / LOOPS);
    this.grpc = new GrpcRelay(options.application(), applicationAddress(), policy, stats, tracing, this::port);
    try {
      this.server =
          new ServerBootstrap()
              .group(group)
              .channel(NioServerSocketChannel.class)
              .childOption(ChannelOption.TCP_NODELAY, true)
              .childHandler(
                  new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                      stats.recordConnection();
                      ch.pipeline().addLast("detect", new Detect());
                    }
                  })
              .bind(options.listen())
              .sync()
              .channel();
    } catch (RuntimeException | InterruptedException e) {
      pool.close();
      grpc.close();
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      throw e;
    }
  }

  /**
   * Binds the listener.
   *
   * @param policy read for every request, so a new policy applies at once
   * @throws InterruptedException while binding
   * @throws RuntimeException (a {@link java.net.BindException}, unchecked by Netty) when the
   *     address is in use
   */
  public static InboundTerminator start(
      Options options, MeshTls tls, Supplier<AuthorizationPolicy> policy, InboundStats stats)
      throws InterruptedException {
    return start(options, tls, policy, stats, Tracing.disabled());
  }

  /**
   * As {@link #start(Options, MeshTls, Supplier, InboundStats)}, with a server span per HTTP
   * request when {@code tracing} is enabled (forwarded to the application as the trace's parent).
   */
  public static InboundTerminator start(
      Options options, MeshTls tls, Supplier<AuthorizationPolicy> policy, InboundStats stats, Tracing tracing)
      throws InterruptedException {
    return new InboundTerminator(
        Objects.requireNonNull(options, "options"),
        Objects.requireNonNull(tls, "tls"),
        Objects.requireNonNull(policy, "policy"),
        Objects.requireNonNull(stats, "stats"),
        Objects.requireNonNull(tracing, "tracing"));
  }

  /** The port the listener is bound to (useful with port 0). */
  public int port() {
    return ((InetSocketAddress) server.localAddress()).getPort();
  }

  public InboundStats stats() {
    return stats;
  }

  /** h2c connections to the application that gRPC calls use now (for tests). */
  int grpcConnections() {
    return grpc.connections();
  }

  /** Stops listening and closes every connection. Idempotent. */
  @Override
  public void close() {
    server.close().syncUninterruptibly();
    pool.close();
    grpc.close();
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
  }

  private String applicationAddress() {
    InetSocketAddress a = options.application();
    return (a.getAddress() != null ? a.getAddress().getHostAddress() : a.getHostString()) + ":" + a.getPort();
  }

  /** Looks at the first bytes: TLS goes on to the handshake; plaintext per the mode. */
  private final class Detect extends ByteToMessageDecoder {
    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
      if (in.readableBytes() < 5) {
        return; // a TLS record header is 5 bytes
      }
      if (SslHandler.isEncrypted(in, false)) {
        ctx.pipeline().addAfter(ctx.name(), "alpn", new Negotiated());
        ctx.pipeline().replace(this, "tls", sslContext.newHandler(ctx.alloc()));
      } else if (options.mode() == Mode.STRICT) {
        tls.refusals().record(TlsRefusals.Reason.PLAINTEXT);
        RuntimeLog.log(
            Level.DEBUG,
            "inbound: plaintext connection from " + ctx.channel().remoteAddress()
                + " refused (strict mTLS)");
        in.skipBytes(in.readableBytes());
        ctx.close();
      } else {
        ctx.pipeline().addAfter(ctx.name(), "http1", new HttpServerCodec());
        ctx.pipeline().addAfter("http1", "keepalive", new HttpServerKeepAliveHandler());
        ctx.pipeline().addAfter("keepalive", "aggregate", new HttpObjectAggregator(options.maxBodyBytes()));
        ctx.pipeline().addAfter("aggregate", "forward", new Forward());
        ctx.pipeline().remove(this);
      }
    }
  }

  /** After the handshake: who the caller is, and which protocol it chose. */
  private final class Negotiated extends ApplicationProtocolNegotiationHandler {
    Negotiated() {
      super(OPAQUE);
    }

    @Override
    protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
      SslHandler ssl = ctx.pipeline().get(SslHandler.class);
      SpiffeId caller;
      try {
        caller = MeshTls.peerIdentity(ssl.engine().getSession());
      } catch (SSLPeerUnverifiedException e) {
        // The trust manager accepted the chain, so this does not happen; fail closed if it does.
        tls.refusals().record(TlsRefusals.Reason.NO_IDENTITY);
        ctx.close();
        return;
      }
      ctx.channel().attr(CALLER).set(caller);
      switch (protocol) {
        case ApplicationProtocolNames.HTTP_2 -> http2(ctx.pipeline());
        case ApplicationProtocolNames.HTTP_1_1 -> http1(ctx.pipeline());
        // No ALPN: an HTTP/1.1 client that does not offer it (the JDK's HttpClient asked for
        // HTTP/1.1, HttpURLConnection), or another protocol. Look at the first bytes.
        default -> ctx.pipeline().addLast("sniff", new Sniff(caller));
      }
    }

    private void http2(io.netty.channel.ChannelPipeline p) {
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
                          new HttpObjectAggregator(options.maxBodyBytes()),
                          new Forward());
                }
              }));
    }

    private void http1(io.netty.channel.ChannelPipeline p) {
      p.addLast(
          new HttpServerCodec(),
          new HttpServerKeepAliveHandler(),
          new HttpObjectAggregator(options.maxBodyBytes()),
          new Forward());
    }

    /**
     * Protocol detection after a handshake without ALPN, as Linkerd does: an HTTP/1 request line
     * or the HTTP/2 preface means HTTP (so per-request authorization and the identity header
     * apply); anything else, or nothing within {@link #DETECT_TIMEOUT_MS} (a protocol where the
     * server speaks first), is opaque TCP.
     */
    private final class Sniff extends ByteToMessageDecoder {
      private final SpiffeId caller;
      private io.netty.util.concurrent.ScheduledFuture<?> timeout;

      Sniff(SpiffeId caller) {
        this.caller = caller;
      }

      @Override
      public void handlerAdded(ChannelHandlerContext ctx) {
        timeout =
            ctx.executor()
                .schedule(
                    () -> {
                      if (ctx.pipeline().context(this) != null) {
                        decided(ctx, "opaque");
                      }
                    },
                    DETECT_TIMEOUT_MS,
                    TimeUnit.MILLISECONDS);
      }

      @Override
      protected void handlerRemoved0(ChannelHandlerContext ctx) {
        if (timeout != null) {
          timeout.cancel(false);
        }
      }

      @Override
      protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        int n = Math.min(in.readableBytes(), 16);
        String head = in.toString(in.readerIndex(), n, StandardCharsets.ISO_8859_1);
        if (head.startsWith("PRI * HTTP/2.0")) {
          decided(ctx, ApplicationProtocolNames.HTTP_2);
          return;
        }
        int space = head.indexOf(' ');
        if (space > 0) {
          decided(ctx, HTTP_METHODS.contains(head.substring(0, space)) ? ApplicationProtocolNames.HTTP_1_1 : "opaque");
        } else if (n == 16 || !head.chars().allMatch(c -> c >= 'A' && c <= 'Z')) {
          decided(ctx, "opaque"); // no method token: not HTTP
        }
        // else: wait for more bytes
      }

      private void decided(ChannelHandlerContext ctx, String protocol) {
        switch (protocol) {
          case ApplicationProtocolNames.HTTP_2 -> http2(ctx.pipeline());
          case ApplicationProtocolNames.HTTP_1_1 -> http1(ctx.pipeline());
          default -> {
            if (!opaque(ctx, caller)) {
              return;
            }
          }
        }
        ctx.pipeline().remove(this); // hands the bytes read so far to what was just added
      }
    }

    @Override
    protected void handshakeFailure(ChannelHandlerContext ctx, Throwable cause) {
      if (!refusedByTrustManager(cause)) {
        tls.refusals().record(TlsRefusals.Reason.HANDSHAKE);
      }
      RuntimeLog.log(
          Level.DEBUG,
          "inbound: TLS handshake with " + ctx.channel().remoteAddress() + " failed: " + cause);
      ctx.close();
    }

    /** Adds the relay if the policy admits the connection; closes it otherwise. */
    private boolean opaque(ChannelHandlerContext ctx, SpiffeId caller) {
      AuthorizationPolicy.Decision d = policy.get().decide(caller, "TCP", "");
      if (!d.allowed()) {
        stats.recordDenied(caller);
        RuntimeLog.log(
            Level.INFO, "inbound: TCP connection from " + caller + " denied by " + d.policy());
        ctx.close();
        return false;
      }
      stats.recordOpaque();
      ctx.pipeline().addLast(new Relay(ctx.channel()));
      return true;
    }
  }

  private static boolean refusedByTrustManager(Throwable cause) {
    for (Throwable t = cause; t != null; t = t.getCause()) {
      if (t instanceof PeerRefusedException) {
        return true;
      }
    }
    return false;
  }

  /** Opaque TCP: one connection to the application per inbound connection, bytes both ways. */
  private final class Relay extends ChannelInboundHandlerAdapter {
    private final Channel inbound;
    private final List<Object> early = new ArrayList<>();
    private Channel outbound;

    Relay(Channel inbound) {
      this.inbound = inbound;
      new Bootstrap()
          .group(inbound.eventLoop())
          .channel(NioSocketChannel.class)
          .option(ChannelOption.TCP_NODELAY, true)
          .handler(
              new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                  inbound.writeAndFlush(msg);
                }

                @Override
                public void channelInactive(ChannelHandlerContext ctx) {
                  inbound.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
                }
              })
          .connect(options.application())
          .addListener(
              (ChannelFutureListener)
                  f -> {
                    if (!f.isSuccess()) {
                      RuntimeLog.log(
                          Level.WARNING,
                          "inbound: the application on " + applicationAddress()
                              + " refused a relayed TCP connection: " + f.cause());
                      early.forEach(ReferenceCountUtil::release);
                      early.clear();
                      inbound.close();
                      return;
                    }
                    outbound = f.channel();
                    for (Object m : early) {
                      outbound.write(m);
                    }
                    early.clear();
                    outbound.flush();
                  });
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (outbound == null) {
        early.add(msg); // same event loop as the connect listener: no race
      } else {
        outbound.writeAndFlush(msg);
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      if (outbound != null) {
        outbound.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }

  /** One HTTP request: authorize, forward to the application, answer the caller. */
  private final class Forward extends SimpleChannelInboundHandler<FullHttpRequest> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
      long start = System.nanoTime();
      stats.recordStarted();
      Channel connection =
          ctx.channel() instanceof Http2StreamChannel ? ctx.channel().parent() : ctx.channel();
      SpiffeId caller = connection.attr(CALLER).get();
      String method = request.method().name();
      String path = request.uri();
      int query = path.indexOf('?');
      String pathOnly = query < 0 ? path : path.substring(0, query);
      AuthorizationPolicy.Decision d = policy.get().decide(caller, method, pathOnly);
      ServerSpan span = tracing.enabled() ? serverSpan(ctx, connection, request, caller) : null;
      if (!d.allowed()) {
        stats.recordDenied(method, caller, System.nanoTime() - start);
        if (span != null) {
          span.denied(d.policy());
          span.end(HttpResponseStatus.FORBIDDEN.code(), null);
        }
        String who = caller == null ? "a plaintext caller" : caller.toString();
        answer(
            ctx,
            HttpResponseStatus.FORBIDDEN,
            "jmesh: denied by authorization policy " + d.policy() + ": " + who + " may not "
                + method + " " + pathOnly + "\n");
        return;
      }
      if (d.audited()) {
        stats.recordAudited(caller, "http");
        RuntimeLog.log(
            Level.INFO,
            "inbound: audit: " + caller + " " + method + " " + pathOnly + " would be denied by "
                + d.policy());
      }
      // The request goes on as it came, its headers edited in place: copying them cost a header
      // map and a lower-cased string per header, the largest share of the listener's garbage.
      HttpHeaders headers = request.headers();
      removeHopByHop(headers);
      for (AsciiString name : HTTP2_EXTENSION_HEADERS) {
        headers.remove(name); // x-http2-*: what Netty's HTTP/2 conversion adds, not the caller
      }
      headers.remove(CLIENT_ID_HEADER); // only the proven identity, never one the caller sent
      if (caller != null) {
        headers.set(CLIENT_ID_HEADER, caller.toString());
      }
      if (span != null) {
        span.inject(headers::set); // the application continues the trace from the server span
      }
      headers.set(HttpHeaderNames.CONTENT_LENGTH, request.content().readableBytes());
      request.setProtocolVersion(HttpVersion.HTTP_1_1);
      FullHttpRequest toApplication = request.retain(); // this handler releases its own reference
      pool.acquire(
          ctx.channel().eventLoop(), new Exchange(ctx, toApplication, start, method, caller, span));
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      RuntimeLog.log(Level.DEBUG, "inbound: " + ctx.channel() + ": " + cause);
      ctx.close();
    }

    /** The request's server span: the caller's child, with who called over which protocol. */
    private ServerSpan serverSpan(
        ChannelHandlerContext ctx, Channel connection, FullHttpRequest request, SpiffeId caller) {
      HttpHeaders h = request.headers();
      String peer =
          connection.remoteAddress() instanceof InetSocketAddress a && a.getAddress() != null
              ? a.getAddress().getHostAddress()
              : null;
      return tracing.startServer(
          h::get,
          request.method().name(),
          request.uri(),
          caller != null ? "https" : "http",
          ctx.channel() instanceof Http2StreamChannel ? "2" : "1.1",
          peer,
          port(),
          caller == null ? null : caller.toString());
    }
  }

  /**
   * One forwarded request, from the moment it waits for a connection to the application until
   * the caller has the answer. Runs on the caller's event loop only (the pool keeps the
   * application's connection on that loop), so its state needs no synchronization.
   */
  private final class Exchange implements ApplicationPool.Lease {
    private final ChannelHandlerContext caller;
    private final FullHttpRequest request;
    private final long start;
    private final String method; // for the metrics
    private final SpiffeId peer;
    private final ServerSpan span; // null when tracing is off
    private boolean done;

    Exchange(
        ChannelHandlerContext caller,
        FullHttpRequest request,
        long start,
        String method,
        SpiffeId peer,
        ServerSpan span) {
      this.method = method;
      this.peer = peer;
      this.caller = caller;
      this.request = request;
      this.start = start;
      this.span = span;
    }

    @Override
    public void acquired(Channel app) {
      ApplicationConnection connection = app.pipeline().get(ApplicationConnection.class);
      if (connection == null) { // closed between the pool's check and now: its pipeline is gone
        app.close();
        failed(new java.io.IOException("the connection to the application closed"));
        return;
      }
      connection.begin(this);
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

    void answered(Channel app, FullHttpResponse response) {
      if (done) {
        return;
      }
      done = true;
      boolean reusable = HttpUtil.isKeepAlive(response); // before its Connection header goes
      HttpHeaders headers = response.headers();
      removeHopByHop(headers);
      headers.set(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
      response.setProtocolVersion(HttpVersion.HTTP_1_1);
      FullHttpResponse back = response.retain(); // the connection's handler releases its own
      pool.release(app, reusable);
      stats.recordForwarded(method, peer, response.status().code(), System.nanoTime() - start);
      if (span != null) {
        span.end(response.status().code(), null);
      }
      caller.writeAndFlush(back);
    }

    void broken(Throwable cause) {
      if (done) {
        return;
      }
      done = true;
      stats.recordUnreachable(method, peer, System.nanoTime() - start);
      if (span != null) {
        span.end(HttpResponseStatus.BAD_GATEWAY.code(), cause);
      }
      answer(
          caller,
          HttpResponseStatus.BAD_GATEWAY,
          "jmesh: the application on " + applicationAddress() + " did not answer: " + cause + "\n");
    }
  }

  /**
   * The last handler of each connection to the application: hands the answer to the exchange
   * whose request went out on it (one at a time: HTTP/1.1 without pipelining).
   */
  private static final class ApplicationConnection extends SimpleChannelInboundHandler<FullHttpResponse> {
    private Exchange current;

    void begin(Exchange e) {
      current = e;
    }

    void end(Exchange e) {
      if (current == e) {
        current = null;
      }
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse response) {
      Exchange e = current;
      current = null;
      if (e != null) {
        e.answered(ctx.channel(), response);
      } // else an answer nobody asked for: dropped (and released)
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      Exchange e = current;
      current = null;
      if (e != null) {
        e.broken(new java.io.IOException("connection closed before the response"));
      }
      ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      Exchange e = current;
      current = null;
      ctx.close();
      if (e != null) {
        e.broken(cause);
      }
    }
  }

  /** The x-http2-* names, once: {@code values()} would copy the array for every request. */
  private static final AsciiString[] HTTP2_EXTENSION_HEADERS =
      java.util.Arrays.stream(HttpConversionUtil.ExtensionHeaderNames.values())
          .map(HttpConversionUtil.ExtensionHeaderNames::text)
          .toArray(AsciiString[]::new);

  private static void removeHopByHop(HttpHeaders headers) {
    for (AsciiString name : HOP_BY_HOP) {
      headers.remove(name);
    }
  }

  private static void answer(ChannelHandlerContext ctx, HttpResponseStatus status, String body) {
    ByteBuf content = Unpooled.copiedBuffer(body, StandardCharsets.UTF_8);
    FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, content);
    r.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8")
        .set(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
    ctx.writeAndFlush(r);
  }
}
