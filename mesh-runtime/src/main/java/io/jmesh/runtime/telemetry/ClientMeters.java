package io.jmesh.runtime.telemetry;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.ToDoubleFunction;

/**
 * The meters of outbound calls to one destination service, from {@link MeshMetrics#client}. The
 * runtime records each call once, when it finishes ({@link #callFinished}); instrumentations
 * never touch it.
 *
 * <p>Thread-safety: every method may be called from any thread.
 */
public final class ClientMeters {
  private final MeshMetrics metrics;
  private final String destination;
  private final Tags base;
  private final AtomicInteger active = new AtomicInteger();
  // By route, method, status, error type, address: a call finds its series without a key object.
  private final SeriesTable<Timer> durations = new SeriesTable<>();
  // By route, path (/package.Service/Method), gRPC status, address.
  private final SeriesTable<Timer> rpcDurations = new SeriesTable<>();
  private final ConcurrentHashMap<String, Counter> retries = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Counter> budgetExhausted = new ConcurrentHashMap<>();
  private final Counter ejections;
  private final ConcurrentHashMap<String, Counter> mirrors = new ConcurrentHashMap<>();

  /** What {@link #ejected} reads; the latest {@link #bindEjected} wins. */
  private record EjectedSource(Object source, ToDoubleFunction<Object> ejectedNow) {}

  private static final EjectedSource NOTHING_EJECTED = new EjectedSource(null, s -> 0);

  private volatile EjectedSource ejectedSource = NOTHING_EJECTED;

  ClientMeters(MeshMetrics metrics, String destination) {
    this.metrics = metrics;
    this.destination = destination;
    this.base = Tags.of(MeshMetrics.SOURCE, metrics.localService(), MeshMetrics.DESTINATION, destination);
    Gauge.builder(MeshMetrics.CLIENT_ACTIVE, active, AtomicInteger::get)
        .description("Outbound calls in flight (routed, not yet finished)")
        .tags(base)
        .register(metrics.meterRegistry());
    // Registered once, here: the destination's state behind it is rebound (a destination that
    // leaves the config and comes back gets a new one), and a second registration of the same
    // meter would be ignored by Micrometer, leaving the gauge on the stale state.
    Gauge.builder(MeshMetrics.EJECTED, this, m -> m.ejectedNow())
        .description("Endpoints out of rotation now (ejected or being probed)")
        .tags(base)
        .register(metrics.meterRegistry());
    this.ejections =
        Counter.builder(MeshMetrics.EJECTIONS)
            .description("Endpoints taken out of rotation by the circuit breaker or outlier detection")
            .tags(base)
            .register(metrics.meterRegistry());
  }

  public String destination() {
    return destination;
  }

  /** The calling service, the {@code jmesh.source.service} of these meters. */
  public String source() {
    return metrics.localService();
  }

  /** Where the runtime publishes each finished call, for {@code /tap}. */
  public MeshTap tap() {
    return metrics.tap();
  }

  /** A call was routed: one more in flight until {@link #callFinished}. */
  public void callStarted() {
    active.incrementAndGet();
  }

  /**
   * A call ended, however it ended.
   *
   * @param route the route that matched
   * @param method the request method as sent (normalized here)
   * @param address the host the application addressed ({@code server.address})
   * @param status the status the application received, 0 for none
   * @param errorType why the call failed (see agent/README.md), or {@code null} when it succeeded
   * @param durationNanos from routing to the end, every attempt and backoff included
   * @param attempts attempts sent; all but the first count as retries
   */
  public void callFinished(
      String route,
      String method,
      String address,
      int status,
      String errorType,
      long durationNanos,
      int attempts) {
    active.decrementAndGet();
    String m = MeshMetrics.method(method);
    String s = MeshMetrics.status(status);
    String error = errorType == null ? MeshMetrics.NONE : errorType;
    String a = address == null ? MeshMetrics.OTHER : address;
    Timer timer = durations.get(route, m, s, error, a);
    if (timer == null) {
      timer = timer(route, m, s, error, a);
    }
    timer.record(Math.max(0, durationNanos), TimeUnit.NANOSECONDS);
    if (attempts > 1) {
      counter(retries, route, MeshMetrics.RETRIES, "Retries sent (attempts after the first)")
          .increment(attempts - 1);
    }
  }

  /** A retry the policy allowed was refused because the destination's retry budget was spent. */
  public void budgetExhausted(String route) {
    counter(
            budgetExhausted,
            route,
            MeshMetrics.BUDGET_EXHAUSTED,
            "Retries not sent because the destination's retry budget was exhausted")
        .increment();
  }

  /**
   * A copy of a request mirrored to this destination ended with {@code outcome}: {@code
   * answered} (any response, discarded), {@code failed} (no response: connect failure, reset,
   * timeout), {@code dropped} (the cap on copies in flight was reached), {@code skipped} (the
   * original's body could not be copied), {@code no_endpoint}. A handful of fixed values.
   */
  public void mirrored(String outcome) {
    Counter c = mirrors.get(outcome);
    if (c == null) {
      c = mirrors.computeIfAbsent(
          outcome,
          o -> Counter.builder(MeshMetrics.MIRRORS)
              .description("Copies of requests mirrored to this destination, by outcome")
              .tags(base)
              .tag("outcome", o)
              .register(metrics.meterRegistry()));
    }
    c.increment();
  }

  /** An endpoint of this destination was ejected (taken out of rotation). */
  public void ejected() {
    ejections.increment();
  }

  /**
   * Exposes how many endpoints of this destination are out of rotation now, as read from {@code
   * source} (held until {@link #unbindEjected} or the next binding). The latest binding wins: the
   * destination's state is made anew when the destination comes back into the config.
   */
  @SuppressWarnings("unchecked")
  public <T> void bindEjected(T source, ToDoubleFunction<T> ejectedNow) {
    ejectedSource = new EjectedSource(source, (ToDoubleFunction<Object>) ejectedNow);
  }

  /** The destination left the config: the gauge reads 0 unless {@code source} was replaced since. */
  public void unbindEjected(Object source) {
    EjectedSource s = ejectedSource;
    if (s.source() == source) {
      ejectedSource = NOTHING_EJECTED;
    }
  }

  /** Endpoints out of rotation now, as the bound source says. */
  double ejectedNow() {
    EjectedSource s = ejectedSource;
    return s.ejectedNow().applyAsDouble(s.source());
  }

  /**
   * A gRPC call ended, recorded in {@value MeshMetrics#RPC_CLIENT_DURATION} in addition to
   * {@link #callFinished}'s HTTP view. Call after {@link #callFinished} (which counts the call out
   * of the active ones).
   *
   * @param path the request path, {@code /package.Service/Method}: {@code rpc.service} and {@code
   *     rpc.method} (bounded by the service definitions the client calls, and by the cap)
   * @param grpcStatus the status code the application got, 0..16
   */
  public void rpcFinished(String route, String path, String address, int grpcStatus, long durationNanos) {
    String status = MeshMetrics.grpcStatus(grpcStatus);
    String a = address == null ? MeshMetrics.OTHER : address;
    Timer timer = rpcDurations.get(route, path, status, a, null);
    if (timer == null) {
      // As callFinished's cap: what is not bounded by the code collapses.
      boolean full = rpcDurations.size() >= MeshMetrics.MAX_SERIES;
      String r = full ? MeshMetrics.OTHER : route;
      String p = full ? null : path;
      String addr = full ? MeshMetrics.OTHER : a;
      timer =
          rpcDurations.add(
              r,
              p,
              status,
              addr,
              null,
              () ->
                  metrics
                      .rpcDurationTimer(
                          MeshMetrics.RPC_CLIENT_DURATION,
                          "Outbound gRPC calls through the mesh, all attempts included",
                          p,
                          grpcStatus)
                      .tags(base)
                      .tag(MeshMetrics.ROUTE, r)
                      .tag(MeshMetrics.SERVER_ADDRESS, addr)
                      .register(metrics.meterRegistry()));
    }
    timer.record(Math.max(0, durationNanos), TimeUnit.NANOSECONDS);
  }

  /** The calls in flight now; for tests and the admin endpoint. */
  public int active() {
    return active.get();
  }

  private Timer timer(String route, String method, String status, String errorType, String address) {
    // Routes come from config and addresses from the mesh's own names, but a cap keeps a
    // misconfiguration from exhausting the scraper: collapse what is not itself bounded.
    boolean full = durations.size() >= MeshMetrics.MAX_SERIES;
    String r = full ? MeshMetrics.OTHER : route;
    String a = full ? MeshMetrics.OTHER : address;
    return durations.add(
        r,
        method,
        status,
        errorType,
        a,
        () ->
            metrics
                .durationTimer(MeshMetrics.CLIENT_DURATION, "Outbound calls through the mesh, all attempts included")
                .tags(base)
                .tag(MeshMetrics.ROUTE, r)
                .tag(MeshMetrics.METHOD, method)
                .tag(MeshMetrics.STATUS, status)
                .tag(MeshMetrics.ERROR_TYPE, errorType)
                .tag(MeshMetrics.SERVER_ADDRESS, a)
                .register(metrics.meterRegistry()));
  }

  private Counter counter(
      ConcurrentHashMap<String, Counter> cache, String route, String name, String description) {
    Counter c = cache.get(route);
    if (c != null) {
      return c;
    }
    String r = cache.size() >= MeshMetrics.MAX_SERIES ? MeshMetrics.OTHER : route;
    return cache.computeIfAbsent(
        r,
        x ->
            Counter.builder(name)
                .description(description)
                .tags(base)
                .tag(MeshMetrics.ROUTE, x)
                .register(metrics.meterRegistry()));
  }
}
