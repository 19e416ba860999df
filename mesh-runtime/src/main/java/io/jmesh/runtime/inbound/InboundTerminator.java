package io.jmesh.runtime.inbound;

import io.jmesh.runtime.identity.MeshTls;
import io.jmesh.runtime.time.Ticker;
import io.jmesh.runtime.trace.Tracing;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.IdentityCipherSuiteFilter;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The workload's inbound mesh listener. Each connection is, in order:
 *
 * <ol>
 *   <li><b>detected</b> ({@link TlsDetector}): TLS or plaintext, from its first bytes. Plaintext
 *       is refused and counted in {@link Mode#STRICT}, served as HTTP/1.1 from an unauthenticated
 *       caller in {@link Mode#PERMISSIVE} (migration, as Istio's PERMISSIVE mTLS);
 *   <li><b>terminated</b>: TLS 1.3 with a client certificate of the mesh required ({@link MeshTls}),
 *       ALPN {@code h2} or {@code http/1.1} ({@link AlpnHandler}). No ALPN: the first bytes decide
 *       ({@link ProtocolSniffer}), and what is not HTTP is opaque TCP (a database protocol, say);
 *   <li><b>authorized</b>: each request on its headers, before any of its body is read ({@link
 *       HttpAuthorizer}; each connection for opaque TCP) against the policy, with the caller's
 *       SPIFFE identity; a denial is a 403 whose body names the policy;
 *   <li><b>forwarded</b> ({@link HttpForwarder}): to the application's port on loopback, as
 *       HTTP/1.1 over a small pool of keep-alive connections ({@link ApplicationPool}), with the
 *       caller's identity in {@value #CLIENT_ID_HEADER} (every {@code x-jmesh-*} header from the
 *       caller is removed first, {@link MeshHeaders}). So two HTTP/1.1 applications talk HTTP/2 between their JVMs, many requests
 *       on one connection. Opaque TCP is relayed byte for byte ({@link OpaqueRelay}).
 * </ol>
 *
 * <p>{@link InboundPipelines} composes these handlers, in one place. Everything a caller controls
 * is bounded by {@link Limits} (streams, headers, resets, the queue for the application, the
 * gRPC relay's connections, the request-header and idle timeouts), each refusal counted by reason
 * in {@link InboundStats#refusals}. HTTP bodies of admitted requests are aggregated up to {@link
 * Options#maxBodyBytes} (413 beyond). gRPC calls (an HTTP/2 request with {@code
 * content-type: application/grpc...}) are not: {@link GrpcRelay} relays them frame by frame,
 * streaming, over cleartext HTTP/2 to the application, with flow control, trailers and resets
 * passed through; a denied call gets {@code PERMISSION_DENIED}, an unreachable application {@code
 * UNAVAILABLE}. Latencies are measured on the {@link Ticker} given to {@code start}.
 *
 * <p>Threads: its own small Netty event loop group, daemon threads; a request's connection to the
 * application lives on the caller connection's event loop. Thread-safety: {@link #port}, {@link
 * #stats} and {@link #close} may be called from any thread.
 */
public final class InboundTerminator implements AutoCloseable {
  /** The caller's SPIFFE identity, as the application receives it (Linkerd: l5d-client-id). */
  public static final String CLIENT_ID_HEADER = "x-jmesh-client-id";

  /** Event loops of the listener; each keeps its own connections to the application. */
  private static final int LOOPS = 2;

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
   * @param limits the bounds on what a caller controls ({@link Limits#defaults()})
   * @param probePaths in {@link Mode#STRICT}, the exact paths (query ignored) served to plaintext
   *     HTTP/1.1 {@code GET} and {@code HEAD} without a body, without identity and without the
   *     policy: the workload's health checks (Linkerd exempts kubelet probes so). Anything else on
   *     such a connection is refused (403, closed) and counted as plaintext. Empty: none
   */
  public record Options(
      InetSocketAddress listen,
      InetSocketAddress application,
      Mode mode,
      int maxBodyBytes,
      int maxConnectionsToApplication,
      Limits limits,
      Set<String> probePaths) {
    public Options {
      Objects.requireNonNull(listen, "listen");
      Objects.requireNonNull(application, "application");
      Objects.requireNonNull(mode, "mode");
      Objects.requireNonNull(limits, "limits");
      probePaths = ProbePaths.checked(probePaths);
      if (maxBodyBytes < 1) {
        throw new IllegalArgumentException("maxBodyBytes: " + maxBodyBytes + " (expected: >= 1)");
      }
      if (maxConnectionsToApplication < 1) {
        throw new IllegalArgumentException(
            "maxConnectionsToApplication: " + maxConnectionsToApplication + " (expected: >= 1)");
      }
    }

    /** Without probe paths. */
    public Options(
        InetSocketAddress listen,
        InetSocketAddress application,
        Mode mode,
        int maxBodyBytes,
        int maxConnectionsToApplication,
        Limits limits) {
      this(listen, application, mode, maxBodyBytes, maxConnectionsToApplication, limits, Set.of());
    }

    /** With the default {@link Limits}. */
    public Options(
        InetSocketAddress listen,
        InetSocketAddress application,
        Mode mode,
        int maxBodyBytes,
        int maxConnectionsToApplication) {
      this(listen, application, mode, maxBodyBytes, maxConnectionsToApplication, Limits.defaults());
    }

    /** Strict, 16 MiB bodies, 64 connections to the application, the default limits. */
    public static Options of(InetSocketAddress listen, InetSocketAddress application) {
      return new Options(listen, application, Mode.STRICT, 16 << 20, 64);
    }

    public Options withMode(Mode newMode) {
      return new Options(listen, application, newMode, maxBodyBytes, maxConnectionsToApplication, limits, probePaths);
    }

    public Options withLimits(Limits newLimits) {
      return new Options(listen, application, mode, maxBodyBytes, maxConnectionsToApplication, newLimits, probePaths);
    }

    /**
     * @param paths exact paths such as {@code /healthz} ({@link #parseProbePaths} reads them from
     *     a setting)
     * @throws IllegalArgumentException naming a path that is not one
     */
    public Options withProbePaths(Collection<String> paths) {
      return new Options(listen, application, mode, maxBodyBytes, maxConnectionsToApplication, limits, Set.copyOf(paths));
    }

    /**
     * The probe paths of a comma-separated setting ({@code "/healthz, /ready"}); blank: none.
     *
     * @throws IllegalArgumentException naming the path that is not one and what was expected
     */
    public static Set<String> parseProbePaths(String commaSeparated) {
      return ProbePaths.parse(commaSeparated);
    }
  }

  /**
   * Bounds on everything a caller controls, each refusal counted by reason in {@link
   * InboundStats#refusals} and {@code jmesh.server.refusals}. The defaults are Envoy's and
   * Linkerd's orders of magnitude: safe for production, loose enough that no well-behaved caller
   * meets them.
   *
   * @param maxConcurrentStreams HTTP/2 {@code SETTINGS_MAX_CONCURRENT_STREAMS} per caller
   *     connection; a stream beyond it is refused ({@code REFUSED_STREAM})
   * @param maxHeaderListBytes the largest request header block: HTTP/2 {@code
   *     SETTINGS_MAX_HEADER_LIST_SIZE} (431 beyond, GOAWAY beyond a quarter more), and the HTTP/1.1
   *     header section (431 and close)
   * @param maxResetsPerWindow HTTP/2 {@code RST_STREAM} frames a connection may send, and make the
   *     listener send (refused streams), within {@code resetWindow}; beyond either, GOAWAY {@code
   *     ENHANCE_YOUR_CALM} (rapid reset, CVE-2023-44487; Netty's own protection)
   * @param resetWindow the window of {@code maxResetsPerWindow}, whole seconds
   * @param maxPendingRequests requests that may wait for a connection to the application, over
   *     the listener (shared out between its event loops); one more gets a 503 at once
   * @param maxGrpcConnectionsToApplication h2c connections the gRPC relay may open to the
   *     application (shared out between the event loops); a call that finds them all full gets
   *     {@code UNAVAILABLE} at once
   * @param requestHeaderTimeout how long a connection may take from its accept (TLS handshake
   *     included) to its first complete request header, and an HTTP/1.1 connection from the first
   *     byte of each next request to its complete header; a trickle of bytes does not extend it
   *     (slowloris). The connection is closed
   * @param idleTimeout how long a connection may stay without a byte either way while no request
   *     is in flight (for opaque TCP: without a byte either way); it is then closed
   */
  public record Limits(
      int maxConcurrentStreams,
      int maxHeaderListBytes,
      int maxResetsPerWindow,
      Duration resetWindow,
      int maxPendingRequests,
      int maxGrpcConnectionsToApplication,
      Duration requestHeaderTimeout,
      Duration idleTimeout) {
    public Limits {
      atLeast("maxConcurrentStreams", maxConcurrentStreams, 1);
      atLeast("maxHeaderListBytes", maxHeaderListBytes, 1024);
      atLeast("maxResetsPerWindow", maxResetsPerWindow, 1);
      atLeast("maxPendingRequests", maxPendingRequests, 0);
      atLeast("maxGrpcConnectionsToApplication", maxGrpcConnectionsToApplication, 1);
      Objects.requireNonNull(resetWindow, "resetWindow");
      Objects.requireNonNull(requestHeaderTimeout, "requestHeaderTimeout");
      Objects.requireNonNull(idleTimeout, "idleTimeout");
      if (resetWindow.toSeconds() < 1 || resetWindow.toSeconds() > Integer.MAX_VALUE) {
        throw new IllegalArgumentException("resetWindow: " + resetWindow + " (expected: whole seconds, >= 1 s)");
      }
      positive("requestHeaderTimeout", requestHeaderTimeout);
      positive("idleTimeout", idleTimeout);
    }

    /**
     * 100 concurrent streams per connection, 32 KiB of headers, 200 resets per 30 s (Netty's
     * default), 1024 pending requests, 16 h2c connections to the application, 10 s to a request
     * header, 10 min idle.
     */
    public static Limits defaults() {
      return new Limits(
          100, 32 << 10, 200, Duration.ofSeconds(30), 1024, 16, Duration.ofSeconds(10), Duration.ofMinutes(10));
    }

    public Limits withMaxConcurrentStreams(int n) {
      return new Limits(n, maxHeaderListBytes, maxResetsPerWindow, resetWindow, maxPendingRequests, maxGrpcConnectionsToApplication, requestHeaderTimeout, idleTimeout);
    }

    public Limits withMaxHeaderListBytes(int n) {
      return new Limits(maxConcurrentStreams, n, maxResetsPerWindow, resetWindow, maxPendingRequests, maxGrpcConnectionsToApplication, requestHeaderTimeout, idleTimeout);
    }

    public Limits withMaxResetsPerWindow(int n, Duration window) {
      return new Limits(maxConcurrentStreams, maxHeaderListBytes, n, window, maxPendingRequests, maxGrpcConnectionsToApplication, requestHeaderTimeout, idleTimeout);
    }

    public Limits withMaxPendingRequests(int n) {
      return new Limits(maxConcurrentStreams, maxHeaderListBytes, maxResetsPerWindow, resetWindow, n, maxGrpcConnectionsToApplication, requestHeaderTimeout, idleTimeout);
    }

    public Limits withMaxGrpcConnectionsToApplication(int n) {
      return new Limits(maxConcurrentStreams, maxHeaderListBytes, maxResetsPerWindow, resetWindow, maxPendingRequests, n, requestHeaderTimeout, idleTimeout);
    }

    public Limits withRequestHeaderTimeout(Duration d) {
      return new Limits(maxConcurrentStreams, maxHeaderListBytes, maxResetsPerWindow, resetWindow, maxPendingRequests, maxGrpcConnectionsToApplication, d, idleTimeout);
    }

    public Limits withIdleTimeout(Duration d) {
      return new Limits(maxConcurrentStreams, maxHeaderListBytes, maxResetsPerWindow, resetWindow, maxPendingRequests, maxGrpcConnectionsToApplication, requestHeaderTimeout, d);
    }

    private static void atLeast(String name, int value, int min) {
      if (value < min) {
        throw new IllegalArgumentException(name + ": " + value + " (expected: >= " + min + ")");
      }
    }

    private static void positive(String name, Duration d) {
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(name + ": " + d + " (expected: > 0)");
      }
    }
  }

  private final InboundStats stats;
  private final EventLoopGroup group;
  private final ApplicationPool pool;
  private final GrpcRelay grpc;
  private final Channel server;
  private final ServerBootstrap bootstrap;
  /** Further addresses of the same listener ({@link #listenAlso}). */
  private final List<Channel> moreServers = new CopyOnWriteArrayList<>();

  private InboundTerminator(
      Options options,
      MeshTls tls,
      Supplier<AuthorizationPolicy> policy,
      InboundStats stats,
      Tracing tracing,
      Ticker ticker)
      throws InterruptedException {
    this.stats = stats;
    InboundContext inbound = new InboundContext(options, policy, stats, tracing, ticker, this::port);
    SslContext ssl = sslContext(tls); // before the threads: nothing to shut down if it throws
    this.group =
        new MultiThreadIoEventLoopGroup(
            LOOPS, new DefaultThreadFactory("jmesh-inbound", true), NioIoHandler.newFactory());
    // The configured total, shared out between the loops (each forwards what it reads).
    this.pool =
        new ApplicationPool(
            ApplicationConnection.bootstrap(group, options.application(), options.maxBodyBytes()),
            perLoop(options.maxConnectionsToApplication()),
            perLoop(options.limits().maxPendingRequests()));
    this.grpc = new GrpcRelay(inbound);
    InboundPipelines pipelines =
        new InboundPipelines(inbound, ssl, tls.refusals(), pool, grpc);
    try {
      this.bootstrap =
          new ServerBootstrap()
              .group(group)
              .channel(NioServerSocketChannel.class)
              .childOption(ChannelOption.TCP_NODELAY, true)
              .childHandler(
                  new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                      stats.recordConnection();
                      pipelines.accepted(ch.pipeline());
                    }
                  });
      this.server = bootstrap.bind(options.listen()).sync().channel();
    } catch (RuntimeException | InterruptedException e) {
      pool.close();
      grpc.close();
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      throw e;
    }
  }

  /** A listener-wide bound shared out between the event loops (rounded up). */
  static int perLoop(int total) {
    return (total + LOOPS - 1) / LOOPS;
  }

  /** Mesh TLS for the listener: TLS 1.3 only, a client certificate required, ALPN h2 first. */
  private static SslContext sslContext(MeshTls tls) {
    return new JdkSslContext(
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
    return start(options, tls, policy, stats, tracing, Ticker.system());
  }

  /**
   * As {@link #start(Options, MeshTls, Supplier, InboundStats, Tracing)}, with every latency
   * recorded in {@code stats} measured on {@code ticker} (the runtime's; a {@code FakeTicker} in
   * tests).
   */
  public static InboundTerminator start(
      Options options,
      MeshTls tls,
      Supplier<AuthorizationPolicy> policy,
      InboundStats stats,
      Tracing tracing,
      Ticker ticker)
      throws InterruptedException {
    return new InboundTerminator(
        Objects.requireNonNull(options, "options"),
        Objects.requireNonNull(tls, "tls"),
        Objects.requireNonNull(policy, "policy"),
        Objects.requireNonNull(stats, "stats"),
        Objects.requireNonNull(tracing, "tracing"),
        Objects.requireNonNull(ticker, "ticker"));
  }

  /** The port the listener is bound to (useful with port 0). */
  public int port() {
    return ((InetSocketAddress) server.localAddress()).getPort();
  }

  public InboundStats stats() {
    return stats;
  }

  /** Requests waiting for a connection to the application now (for tests). */
  int pendingRequests() {
    return pool.pending();
  }

  /** h2c connections to the application that gRPC calls use now (for tests). */
  int grpcConnections() {
    return grpc.connections();
  }

  /**
   * Listens on {@code listen} as well, with the same pipeline, policy and application: one
   * listener for a port on several of the workload's addresses (inbound capture).
   *
   * @return the address bound
   * @throws RuntimeException (a {@link java.net.BindException}, unchecked by Netty) when the
   *     address is in use
   */
  public InetSocketAddress listenAlso(InetSocketAddress listen) throws InterruptedException {
    Channel more = bootstrap.bind(Objects.requireNonNull(listen, "listen")).sync().channel();
    moreServers.add(more);
    return (InetSocketAddress) more.localAddress();
  }

  /** Stops listening and closes every connection. Idempotent. */
  @Override
  public void close() {
    server.close().syncUninterruptibly();
    moreServers.forEach(c -> c.close().syncUninterruptibly());
    pool.close();
    grpc.close();
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
