package io.jmesh.runtime.telemetry;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The meters of inbound requests to this workload at its mesh listener, from {@link
 * MeshMetrics#server}; {@link io.jmesh.runtime.inbound.InboundStats} feeds them. The caller is
 * its proven SPIFFE identity ({@value MeshMetrics#PEER}), {@code none} for a plaintext caller in
 * permissive mode.
 *
 * <p>Thread-safety: every method may be called from any thread (Netty event loops).
 */
public final class ServerMeters {
  /** The peer label of a caller without a mesh identity. */
  public static final String NO_PEER = "none";

  private final MeshMetrics metrics;
  private final String service;
  private final Tags base;
  private final AtomicInteger active = new AtomicInteger();
  private final ConcurrentHashMap<RequestKey, Timer> durations = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<RpcKey, Timer> rpcDurations = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<PeerKey, Counter> denied = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<PeerKey, Counter> audited = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Counter> refusals = new ConcurrentHashMap<>();
  private final Counter connections;

  private record RequestKey(String peer, String method, String status, String errorType) {}

  private record PeerKey(String peer, String protocol) {}

  /** {@code path} is the caller's {@code /package.Service/Method}. */
  private record RpcKey(String peer, String path, int grpcStatus) {}

  ServerMeters(MeshMetrics metrics, String service) {
    this.metrics = metrics;
    this.service = service;
    this.base = Tags.of(MeshMetrics.DESTINATION, service);
    Gauge.builder(MeshMetrics.SERVER_ACTIVE, active, AtomicInteger::get)
        .description("Inbound requests being served (authorized, not yet answered)")
        .tags(base)
        .register(metrics.meterRegistry());
    this.connections =
        Counter.builder(MeshMetrics.SERVER_CONNECTIONS)
            .description("Connections accepted by the mesh inbound listener")
            .tags(base)
            .register(metrics.meterRegistry());
  }

  public void connectionAccepted() {
    connections.increment();
  }

  /** A request arrived: one more in flight until {@link #requestFinished}. */
  public void requestStarted() {
    active.incrementAndGet();
  }

  /**
   * A request was answered, however.
   *
   * @param peer the caller's SPIFFE identity, or null for a plaintext caller
   * @param status the status sent back
   * @param errorType why it failed ({@code authorization_denied}, {@code application_unreachable},
   *     the status for a 5xx of the application, or for a gRPC call the name of a non-OK {@code
   *     grpc-status}, such as {@code NOT_FOUND}), null when it did not
   */
  public void requestFinished(String method, String peer, int status, String errorType, long durationNanos) {
    active.decrementAndGet();
    RequestKey key =
        new RequestKey(
            peer == null ? NO_PEER : peer,
            MeshMetrics.method(method),
            MeshMetrics.status(status),
            errorType == null ? MeshMetrics.NONE : errorType);
    Timer timer = durations.get(key);
    if (timer == null) {
      if (durations.size() >= MeshMetrics.MAX_SERIES) {
        key = new RequestKey(MeshMetrics.OTHER, key.method(), key.status(), key.errorType());
      }
      timer =
          durations.computeIfAbsent(
              key,
              k ->
                  metrics
                      .durationTimer(MeshMetrics.SERVER_DURATION, "Inbound requests at the mesh listener")
                      .tags(base)
                      .tag(MeshMetrics.PEER, k.peer())
                      .tag(MeshMetrics.METHOD, k.method())
                      .tag(MeshMetrics.STATUS, k.status())
                      .tag(MeshMetrics.ERROR_TYPE, k.errorType())
                      .register(metrics.meterRegistry()));
    }
    timer.record(Math.max(0, durationNanos), TimeUnit.NANOSECONDS);
    MeshTap tap = metrics.tap();
    if (tap.active()) {
      // The listener does not hand the path down here: an inbound event goes without one.
      tap.publish(
          new MeshTap.Event(
              tap.nowMillis(),
              MeshTap.Direction.INBOUND,
              null,
              service,
              method,
              null,
              null,
              status,
              errorType,
              durationNanos,
              null,
              null,
              peer,
              1));
    }
  }

  /**
   * A gRPC call at the mesh listener ended, recorded in {@value MeshMetrics#RPC_SERVER_DURATION}
   * in addition to {@link #requestFinished}'s HTTP view (which counts it out of the active ones).
   * The caller names the method, so the per-service cap ({@link MeshMetrics#MAX_SERIES}) is what
   * bounds {@code rpc.service} and {@code rpc.method} here: beyond it they and the peer collapse.
   *
   * @param path the request path, {@code /package.Service/Method}
   * @param grpcStatus the code the caller got, 0..16; -1 when no {@code grpc-status} reached it
   *     (recorded as {@value MeshMetrics#OTHER})
   */
  public void rpcFinished(String peer, String path, int grpcStatus, long durationNanos) {
    RpcKey key = new RpcKey(peer == null ? NO_PEER : peer, path, grpcStatus);
    Timer timer = rpcDurations.get(key);
    if (timer == null) {
      if (rpcDurations.size() >= MeshMetrics.MAX_SERIES) {
        key = new RpcKey(MeshMetrics.OTHER, null, grpcStatus);
      }
      timer =
          rpcDurations.computeIfAbsent(
              key,
              k ->
                  metrics
                      .rpcDurationTimer(
                          MeshMetrics.RPC_SERVER_DURATION,
                          "Inbound gRPC calls at the mesh listener",
                          k.path(),
                          k.grpcStatus())
                      .tags(base)
                      .tag(MeshMetrics.PEER, k.peer())
                      .register(metrics.meterRegistry()));
    }
    timer.record(Math.max(0, durationNanos), TimeUnit.NANOSECONDS);
  }

  /**
   * The authorization policy refused a caller.
   *
   * @param protocol {@code http} (answered 403), {@code grpc} (answered PERMISSION_DENIED) or
   *     {@code tcp} (an opaque connection, closed)
   */
  public void denied(String peer, String protocol) {
    peerCounter(denied, peer, protocol, MeshMetrics.AUTHZ_DENIED, "Requests and connections refused by the authorization policy")
        .increment();
  }

  /**
   * The listener refused or closed something a caller sent, beyond the authorization policy: a
   * request (413, 431, 503), a stream, or a connection (a timeout, a reset flood).
   *
   * @param reason a fixed name in lower case ({@code pending_full}, {@code http2_flood},
   *     ...), so the series are bounded by the listener's own reasons
   */
  public void refused(String reason) {
    refusals
        .computeIfAbsent(
            reason,
            r ->
                Counter.builder(MeshMetrics.SERVER_REFUSALS)
                    .description("Requests, streams and connections the mesh listener refused or closed, by reason")
                    .tags(base)
                    .tag("reason", r)
                    .register(metrics.meterRegistry()))
        .increment();
  }

  /** An audit-mode policy would have refused a caller, and let it through. */
  public void audited(String peer, String protocol) {
    peerCounter(audited, peer, protocol, MeshMetrics.AUTHZ_AUDITED, "Requests an audit-mode policy would have refused")
        .increment();
  }

  private Counter peerCounter(
      ConcurrentHashMap<PeerKey, Counter> cache, String peer, String protocol, String name, String description) {
    PeerKey key = new PeerKey(peer == null ? NO_PEER : peer, protocol);
    Counter c = cache.get(key);
    if (c != null) {
      return c;
    }
    if (cache.size() >= MeshMetrics.MAX_SERIES) {
      key = new PeerKey(MeshMetrics.OTHER, protocol);
    }
    return cache.computeIfAbsent(
        key,
        k ->
            Counter.builder(name)
                .description(description)
                .tags(base)
                .tag(MeshMetrics.PEER, k.peer())
                .tag("network.protocol.name", k.protocol())
                .register(metrics.meterRegistry()));
  }
}
