package io.jmesh.injector.server;

import io.jmesh.injector.PodAdmission;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The webhook's HTTPS server: AdmissionReview v1 over {@code POST <path>}, HTTP/1.1 or HTTP/2
 * (ALPN), with {@code GET /ready} and {@code GET /metrics} on the same port. The TLS context of
 * each new connection is {@link ServerTls#current()} at its accept, so a certificate reload
 * reaches new connections only; open ones finish with theirs.
 *
 * <p>Bounds (see {@link Options}): the body size, the time to receive a request, idle
 * connections, open connections, HTTP/2 streams per connection, header size, the TLS handshake,
 * and admissions in progress (a fixed pool of workers with a bounded queue; past it, 503).
 *
 * <p>Thread-safety: {@link #close} from any thread, once or more.
 */
public final class WebhookServer implements AutoCloseable {
  private static final Logger LOG = System.getLogger("io.jmesh.injector.server");

  /**
   * The server's settings.
   *
   * @param host the address to bind ({@code 0.0.0.0} for every interface)
   * @param port the port (0: an ephemeral one, see {@link #port()})
   * @param path the admission path, as in the webhook configuration's {@code clientConfig.service.path}
   * @param maxBodyBytes the largest request body accepted; larger gets 413
   * @param readTimeout from a request's first byte to its answer's first byte
   * @param idleTimeout a connection with no read or write for this long is closed
   * @param maxConnections open connections at once; one more is closed at accept
   * @param workers threads that run admissions (a namespace lookup may block on the API)
   */
  public record Options(
      String host,
      int port,
      String path,
      int maxBodyBytes,
      Duration readTimeout,
      Duration idleTimeout,
      int maxConnections,
      int workers) {
    /** 6 MiB: the API server accepts objects up to 3 MiB, and an UPDATE's review holds two. */
    public static final int DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024;

    public Options {
      Objects.requireNonNull(host, "host");
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port: " + port + " (expected: 0..65535)");
      }
      if (path == null || !path.startsWith("/") || path.equals("/ready") || path.equals("/metrics")) {
        throw new IllegalArgumentException(
            "path: \"" + path + "\" (expected: an absolute path other than /ready and /metrics)");
      }
      requirePositive("maxBodyBytes", maxBodyBytes);
      requirePositive("maxConnections", maxConnections);
      requirePositive("workers", workers);
      requirePositive("readTimeout", readTimeout);
      requirePositive("idleTimeout", idleTimeout);
    }

    /** The defaults of the README: port 8443, path /inject, 6 MiB, 10 s, 120 s, 512, 4. */
    public static Options defaults() {
      return new Options(
          "0.0.0.0",
          8443,
          "/inject",
          DEFAULT_MAX_BODY_BYTES,
          Duration.ofSeconds(10),
          Duration.ofSeconds(120),
          512,
          4);
    }

    public Options withAddress(String host, int port) {
      return new Options(host, port, path, maxBodyBytes, readTimeout, idleTimeout, maxConnections, workers);
    }

    public Options withLimits(int maxBodyBytes, Duration readTimeout, Duration idleTimeout, int maxConnections) {
      return new Options(host, port, path, maxBodyBytes, readTimeout, idleTimeout, maxConnections, workers);
    }

    public Options withPath(String path) {
      return new Options(host, port, path, maxBodyBytes, readTimeout, idleTimeout, maxConnections, workers);
    }

    private static void requirePositive(String name, Duration value) {
      if (value == null || value.isNegative() || value.isZero()) {
        throw new IllegalArgumentException(name + ": " + value + " (expected: > 0)");
      }
    }

    private static void requirePositive(String name, int value) {
      if (value <= 0) {
        throw new IllegalArgumentException(name + ": " + value + " (expected: > 0)");
      }
    }
  }

  private final EventLoopGroup group;
  private final ThreadPoolExecutor workers;
  private final Channel channel;
  private final AdmissionMetrics metrics;
  private final ConnectionLimit limit;

  private WebhookServer(
      EventLoopGroup group,
      ThreadPoolExecutor workers,
      Channel channel,
      AdmissionMetrics metrics,
      ConnectionLimit limit) {
    this.group = group;
    this.workers = workers;
    this.channel = channel;
    this.metrics = metrics;
    this.limit = limit;
  }

  /**
   * Binds and serves.
   *
   * @throws IOException when the address cannot be bound; the message names it
   */
  public static WebhookServer start(
      Options options, ServerTls tls, NamespaceLookup namespaces, PodAdmission admission)
      throws IOException {
    AdmissionMetrics metrics = new AdmissionMetrics();
    AdmissionEndpoint endpoint = new AdmissionEndpoint(admission, namespaces, metrics);
    ThreadPoolExecutor workers =
        new ThreadPoolExecutor(
            options.workers(),
            options.workers(),
            0,
            TimeUnit.MILLISECONDS,
            // Each queued admission holds its body: bounded like the connections.
            new ArrayBlockingQueue<>(256),
            new DefaultThreadFactory("jmesh-injector-admission", true));
    ConnectionLimit limit = new ConnectionLimit(options.maxConnections());
    EventLoopGroup group =
        new MultiThreadIoEventLoopGroup(
            2, new DefaultThreadFactory("jmesh-injector-io", true), NioIoHandler.newFactory());
    ProtocolNegotiationFactory negotiation =
        () ->
            new ProtocolNegotiation(
                options,
                metrics,
                () ->
                    new AdmissionHttpHandler(
                        options.path(), endpoint, workers, namespaces::ready, metrics, tls));
    ServerBootstrap bootstrap =
        new ServerBootstrap()
            .group(group)
            .channel(NioServerSocketChannel.class)
            .option(ChannelOption.SO_BACKLOG, 128)
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    SslHandler ssl = tls.current().newHandler(ch.alloc());
                    ssl.setHandshakeTimeoutMillis(options.readTimeout().toMillis());
                    ch.pipeline()
                        .addLast(
                            limit,
                            new IdleClose(options.idleTimeout()),
                            ssl,
                            negotiation.create());
                  }
                });
    Channel channel;
    try {
      channel =
          bootstrap.bind(new InetSocketAddress(options.host(), options.port())).sync().channel();
    } catch (Exception e) {
      group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
      workers.shutdownNow();
      throw new IOException(
          "--address " + options.host() + ":" + options.port() + ": cannot listen: " + e, e);
    } 
    LOG.log(
        Level.INFO,
        "jmesh injector: serving AdmissionReview v1 on https://"
            + hostPort((InetSocketAddress) channel.localAddress())
            + options.path()
            + " (HTTP/1.1 and h2)");
    return new WebhookServer(group, workers, channel, metrics, limit);
  }

  private static String hostPort(InetSocketAddress address) {
    String host = address.getAddress().getHostAddress();
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + address.getPort();
  }

  private interface ProtocolNegotiationFactory {
    ProtocolNegotiation create();
  }

  /** The bound port. */
  public int port() {
    return ((InetSocketAddress) channel.localAddress()).getPort();
  }

  /** Admissions answered so far, by outcome. */
  public AdmissionMetrics metrics() {
    return metrics;
  }

  /** Connections open now. */
  int openConnections() {
    return limit.open();
  }

  /**
   * Stops accepting, lets admissions in progress finish (up to 5 s, within the API server's
   * default timeout of 10 s), then closes every connection.
   */
  @Override
  public void close() {
    channel.close().awaitUninterruptibly();
    workers.shutdown();
    try {
      workers.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
  }
}
