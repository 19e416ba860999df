package io.jmesh.runtime.mirror;

import io.jmesh.runtime.Endpoint;
import io.jmesh.runtime.RequestCopy;
import io.jmesh.runtime.RuntimeLog;
import io.jmesh.runtime.time.Ticker;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

/**
 * Sends copies of requests to a route's mirror service, fire-and-forget, as Envoy's request
 * mirroring does: over the runtime's own HTTP/1.1 connections (mesh TLS when the mirror service
 * has identities), to an endpoint its balancer picks, with {@code -shadow} appended to the
 * authority's host; never retried; the answer is read and discarded. A copy is bounded: at most
 * {@link Limits#maxInFlightPerDestination} copies per destination are in flight (the next ones
 * are dropped and counted), each waits at most {@link Limits#timeout}, and a body above {@link
 * Limits#maxBodyBytes} is not copied (skipped and counted).
 *
 * <p>Threading: {@link #send} may be called from any thread; it never blocks beyond handing the
 * copy to the sender's one event loop (a daemon thread, started by the first copy), and never
 * throws. Connections, their idle pool and every exchange live on that loop, so they take no
 * lock. Each copy ends with exactly one outcome reported to its {@link Target}, on the loop or,
 * for copies not sent, on the caller's thread.
 */
public final class MirrorSender implements AutoCloseable {
  /** Outcomes, the values of the {@code outcome} tag of the mirror counter. */
  public static final String ANSWERED = "answered";

  public static final String FAILED = "failed";
  public static final String DROPPED = "dropped";
  public static final String SKIPPED = "skipped";
  public static final String NO_ENDPOINT = "no_endpoint";

  /**
   * Bounds of the sender.
   *
   * @param maxInFlightPerDestination copies in flight to one mirror service; beyond it, copies are
   *     dropped
   * @param maxBodyBytes the largest body copied; a larger one is skipped
   * @param timeout how long a copy may take, connect included; then its connection is closed
   * @param maxIdlePerEndpoint keep-alive connections kept per endpoint between copies
   */
  public record Limits(int maxInFlightPerDestination, int maxBodyBytes, Duration timeout, int maxIdlePerEndpoint) {
    public Limits {
      if (maxInFlightPerDestination < 1) {
        throw new IllegalArgumentException("maxInFlightPerDestination: " + maxInFlightPerDestination + " (expected: >= 1)");
      }
      if (maxBodyBytes < 0) {
        throw new IllegalArgumentException("maxBodyBytes: " + maxBodyBytes + " (expected: >= 0)");
      }
      Objects.requireNonNull(timeout, "timeout");
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("timeout: " + timeout + " (expected: > 0)");
      }
      if (maxIdlePerEndpoint < 0) {
        throw new IllegalArgumentException("maxIdlePerEndpoint: " + maxIdlePerEndpoint + " (expected: >= 0)");
      }
    }

    /** 64 copies in flight per destination, 1 MiB bodies, 10 s per copy, 4 idle connections per endpoint. */
    public static Limits defaults() {
      return new Limits(64, 1 << 20, Duration.ofSeconds(10), 4);
    }
  }

  /** Where the mirror's client TLS comes from: the runtime's mesh TLS per destination. */
  public interface Tls {
    /** Whether {@code destination} is reached over mesh TLS only. */
    boolean required(String destination);

    /** The client context for {@code destination}, or {@code null} (no identity, or plaintext). */
    SSLContext contextFor(String destination);
  }

  /** The mirror service of a route, as the router compiled it. Thread-safe. */
  public interface Target {
    /** The destination's qualified name, {@code shadow.default}. */
    String name();

    /** An endpoint for one copy (the destination's balancer), or {@code null} when none is available. */
    Endpoint pick();

    /** The copy sent to {@code endpoint} ended; {@code answered} false for no response. */
    void ended(Endpoint endpoint, boolean answered, long durationNanos);

    /** Counts one copy's outcome ({@link #ANSWERED}, {@link #FAILED}, ...). */
    void count(String outcome);
  }

  private final Limits limits;
  private final Tls tls;
  private final Ticker ticker;
  private final Map<String, AtomicInteger> inFlight = new ConcurrentHashMap<>();
  private final Object lock = new Object();
  private EventLoopGroup group; // guarded by lock; started by the first copy
  private EventLoop loop; // guarded by lock
  private volatile boolean closed;
  // Idle keep-alive connections per endpoint and TLS context; touched on the loop only.
  private final Map<PoolKey, ArrayDeque<Channel>> idle = new HashMap<>();

  public MirrorSender(Limits limits, Tls tls, Ticker ticker) {
    this.limits = Objects.requireNonNull(limits, "limits");
    this.tls = Objects.requireNonNull(tls, "tls");
    this.ticker = Objects.requireNonNull(ticker, "ticker");
  }

  /**
   * Sends {@code copy} to an endpoint of {@code target}, with {@code authority} plus {@code
   * -shadow} as its host. Returns at once; never throws.
   */
  public void send(Target target, String authority, RequestCopy copy) {
    AtomicInteger count = null; // the slot taken, until the loop owns it
    Endpoint endpoint = null;
    try {
      if (copy.body() == null || copy.body().length > limits.maxBodyBytes()) {
        target.count(SKIPPED); // the original's body cannot be read twice, or is too large to keep
        return;
      }
      AtomicInteger c = inFlight.computeIfAbsent(target.name(), n -> new AtomicInteger());
      if (c.incrementAndGet() > limits.maxInFlightPerDestination() || closed) {
        c.decrementAndGet();
        target.count(DROPPED);
        return;
      }
      count = c;
      endpoint = target.pick();
      if (endpoint == null) {
        count = null;
        c.decrementAndGet();
        target.count(NO_ENDPOINT);
        return;
      }
      SSLContext context = null;
      if (tls.required(target.name())) {
        context = tls.contextFor(target.name());
        if (context == null) {
          // Security fails closed: no identity, no copy in plaintext.
          count = null;
          end(new MirrorExchange(target, endpoint, null, null, ticker.nanoTime(), c), false);
          return;
        }
      }
      MirrorExchange exchange =
          new MirrorExchange(target, endpoint, context, MirrorRequests.build(copy, shadow(authority)), ticker.nanoTime(), c);
      loop().execute(() -> start(exchange));
      count = null; // the loop owns the slot now: the exchange gives it back
    } catch (RuntimeException | LinkageError e) {
      // A copy never breaks the original call; the count says it was lost.
      RuntimeLog.log(System.Logger.Level.DEBUG, "mirror to " + target.name() + " not sent: " + e);
      if (count != null) {
        count.decrementAndGet();
        if (endpoint != null) {
          target.ended(endpoint, false, 0);
        }
      }
      target.count(FAILED);
    }
  }

  /** Copies in flight to {@code destination} now (for tests and the admin endpoint). */
  public int inFlight(String destination) {
    AtomicInteger count = inFlight.get(destination);
    return count == null ? 0 : count.get();
  }

  /**
   * Envoy's shadow host: {@code hello.default:8080} becomes {@code hello.default-shadow:8080},
   * so that the mirror can tell copies from real traffic.
   */
  static String shadow(String authority) {
    int colon = authority.lastIndexOf(':');
    if (colon > 0 && authority.indexOf(']', colon) < 0 && authority.charAt(0) != '[') {
      return authority.substring(0, colon) + "-shadow" + authority.substring(colon);
    }
    if (authority.startsWith("[")) {
      int close = authority.indexOf(']');
      if (close > 0) {
        return authority.substring(0, close + 1) + "-shadow" + authority.substring(close + 1);
      }
    }
    return authority + "-shadow";
  }

  private EventLoop loop() {
    synchronized (lock) {
      if (closed) {
        throw new IllegalStateException("the mirror sender is closed");
      }
      if (loop == null) {
        group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("jmesh-mirror", true), NioIoHandler.newFactory());
        loop = group.next();
      }
      return loop;
    }
  }

  // ---- On the loop.

  private void start(MirrorExchange exchange) {
    exchange.timeout =
        loop.schedule(() -> timedOut(exchange), limits.timeout().toNanos(), TimeUnit.NANOSECONDS);
    PoolKey key = new PoolKey(exchange.endpoint.host(), exchange.endpoint.port(), exchange.context);
    ArrayDeque<Channel> pool = idle.get(key);
    Channel c;
    while (pool != null && (c = pool.pollLast()) != null) {
      if (c.isActive()) {
        write(c, exchange);
        return;
      }
    }
    Bootstrap b =
        new Bootstrap()
            .group(loop)
            .channel(NioSocketChannel.class)
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, limits.timeout().toMillis()))
            .handler(
                new ChannelInitializer<Channel>() {
                  @Override
                  protected void initChannel(Channel ch) {
                    if (exchange.context != null) {
                      ch.pipeline().addLast(new SslHandler(engine(exchange.context, exchange.endpoint)));
                    }
                    ch.pipeline().addLast(new HttpClientCodec());
                    ch.pipeline().addLast(new MirrorResponseHandler(MirrorSender.this));
                  }
                });
    b.connect(exchange.endpoint.socketAddress())
        .addListener(
            f -> {
              Channel ch = ((io.netty.channel.ChannelFuture) f).channel();
              if (f.isSuccess()) {
                ch.attr(MirrorResponseHandler.KEY).set(key);
                ch.closeFuture().addListener(x -> forget(key, ch));
                write(ch, exchange);
              } else {
                end(exchange, false);
              }
            });
  }

  private static SSLEngine engine(SSLContext context, Endpoint endpoint) {
    SSLEngine engine = context.createSSLEngine(endpoint.host(), endpoint.port());
    engine.setUseClientMode(true);
    SSLParameters parameters = engine.getSSLParameters();
    parameters.setApplicationProtocols(new String[] {"http/1.1"}); // one copy per connection at a time
    engine.setSSLParameters(parameters);
    return engine;
  }

  private void write(Channel channel, MirrorExchange exchange) {
    if (exchange.done) {
      release(channel); // timed out while connecting; the connection is still good
      return;
    }
    exchange.channel = channel;
    channel.pipeline().get(MirrorResponseHandler.class).current = exchange;
    channel
        .writeAndFlush(exchange.request)
        .addListener(
            f -> {
              if (!f.isSuccess()) {
                channel.close(); // the handler ends the exchange as failed
              }
            });
  }

  /** The handler saw the whole response ({@code reusable}: keep-alive) or lost the connection. */
  void responded(Channel channel, MirrorExchange exchange, boolean answered, boolean reusable) {
    if (exchange.done) {
      return;
    }
    end(exchange, answered);
    if (answered && reusable) {
      release(channel);
    } else {
      channel.close();
    }
  }

  private void timedOut(MirrorExchange exchange) {
    if (exchange.done) {
      return;
    }
    end(exchange, false);
    if (exchange.channel != null) {
      exchange.channel.close();
    }
  }

  /** Keeps {@code channel} for the next copy to its endpoint, or closes it. */
  private void release(Channel channel) {
    MirrorResponseHandler handler = channel.pipeline().get(MirrorResponseHandler.class);
    if (handler != null) {
      handler.current = null;
    }
    PoolKey key = channel.attr(MirrorResponseHandler.KEY).get();
    if (closed || !channel.isActive() || key == null) {
      channel.close();
      return;
    }
    ArrayDeque<Channel> pool = idle.computeIfAbsent(key, k -> new ArrayDeque<>());
    if (pool.size() >= limits.maxIdlePerEndpoint()) {
      channel.close();
    } else {
      pool.addLast(channel);
    }
  }

  private void forget(PoolKey key, Channel channel) {
    ArrayDeque<Channel> pool = idle.get(key);
    if (pool != null) {
      pool.remove(channel);
      if (pool.isEmpty()) {
        idle.remove(key);
      }
    }
  }

  /** Ends {@code exchange} once: the in-flight slot, the balancer, the count. */
  private void end(MirrorExchange exchange, boolean answered) {
    if (exchange.done) {
      return;
    }
    exchange.done = true;
    if (exchange.timeout != null) {
      exchange.timeout.cancel(false);
    }
    exchange.inFlight.decrementAndGet();
    if (exchange.channel == null && exchange.request != null) {
      exchange.request.release(); // never written, so the codec did not release it
    }
    try {
      exchange.target.ended(exchange.endpoint, answered, ticker.nanoTime() - exchange.startNanos);
      exchange.target.count(answered ? ANSWERED : FAILED);
    } catch (RuntimeException e) {
      RuntimeLog.log(System.Logger.Level.DEBUG, "mirror to " + exchange.target.name() + ": " + e);
    }
  }

  /** Closes every connection and stops the loop; copies in flight end as failed. Idempotent. */
  @Override
  public void close() {
    EventLoopGroup g;
    synchronized (lock) {
      closed = true;
      g = group;
      group = null;
    }
    if (g != null) {
      g.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
  }

  /** One idle pool: connections to one endpoint with one TLS context (null: plaintext). */
  record PoolKey(String host, int port, SSLContext context) {}
}
