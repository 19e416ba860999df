package io.jmesh.runtime.inbound;

import java.util.concurrent.atomic.LongAdder;

/**
 * Server-side counts of the inbound path: requests forwarded by result, refusals by authorization,
 * and the time from a request's arrival to its response being written. The metrics (Prometheus,
 * per route and caller) build on these. Thread-safe.
 */
public final class InboundStats {
  private final LongAdder connections = new LongAdder();
  private final LongAdder requests = new LongAdder();
  private final LongAdder success = new LongAdder(); // status < 500
  private final LongAdder serverErrors = new LongAdder(); // 5xx from the application
  private final LongAdder unreachable = new LongAdder(); // the application did not answer: 502
  private final LongAdder denied = new LongAdder();
  private final LongAdder audited = new LongAdder();
  private final LongAdder opaqueConnections = new LongAdder();
  private final LongAdder latencyNanos = new LongAdder();

  void recordConnection() {
    connections.increment();
  }

  void recordForwarded(int status, long nanos) {
    requests.increment();
    (status >= 500 ? serverErrors : success).increment();
    latencyNanos.add(nanos);
  }

  void recordUnreachable(long nanos) {
    requests.increment();
    unreachable.increment();
    latencyNanos.add(nanos);
  }

  void recordDenied() {
    requests.increment();
    denied.increment();
  }

  void recordAudited() {
    audited.increment();
  }

  void recordOpaque() {
    opaqueConnections.increment();
  }

  /** Connections accepted by the listener (TLS or not). */
  public long connections() {
    return connections.sum();
  }

  /** Requests received (forwarded, unreachable or denied). */
  public long requests() {
    return requests.sum();
  }

  public long succeeded() {
    return success.sum();
  }

  public long serverErrors() {
    return serverErrors.sum();
  }

  public long unreachable() {
    return unreachable.sum();
  }

  /** Requests refused with 403 by the authorization policy. */
  public long denied() {
    return denied.sum();
  }

  /** Requests an audit-mode policy would have denied, let through. */
  public long audited() {
    return audited.sum();
  }

  public long opaqueConnections() {
    return opaqueConnections.sum();
  }

  /** Sum of server-side latencies of forwarded requests, in nanoseconds. */
  public long latencyNanosTotal() {
    return latencyNanos.sum();
  }
}
