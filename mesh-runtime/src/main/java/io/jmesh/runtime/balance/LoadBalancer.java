package io.jmesh.runtime.balance;

import io.jmesh.runtime.Endpoint;
import io.jmesh.runtime.time.Ticker;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * Picks one endpoint of a backend for each attempt: the "concrete" stage of the outbound path.
 * Shaped like gRPC's {@code io.grpc.LoadBalancer}: a long-lived balancer per backend receives
 * endpoint updates and publishes an immutable {@link Picker}; the request path only reads the
 * current picker (one volatile read) and never takes a lock.
 *
 * <p>The runtime keeps one balancer per destination (service and subset) for its whole life, so
 * state such as latency estimates survives snapshot updates that keep the endpoint.
 *
 * <p>Threading contract: {@link #updateEndpoints} and {@link #shutdown} are called by the config
 * thread, one at a time, and must not block. {@link #picker}, {@link #attemptStarted} and {@link
 * #attemptFinished} are called concurrently from request threads and must neither block nor take a
 * contended lock.
 *
 * <p>Availability: every picker skips the endpoints that {@link Helper#filter()} reports as
 * unavailable (ejected by the circuit breaker). When no endpoint at all is available, the picker
 * enters <em>panic mode</em> and picks among all endpoints as if none were ejected, like Envoy at
 * its panic threshold: sending to a possibly broken endpoint beats failing every call when the
 * breaker may be wrong (for example when a shared dependency made every endpoint fail at once).
 */
public interface LoadBalancer {

  /**
   * Replaces the endpoints of this backend (possibly with an empty list) and publishes a new
   * picker. Endpoints are compared with {@code equals}, so state of kept endpoints may be kept.
   */
  void updateEndpoints(List<? extends Endpoint> endpoints);

  /** The picker in force. Never null. */
  Picker picker();

  /**
   * Reports that an attempt is being sent to {@code endpoint}, which an earlier pick of this
   * balancer returned. {@link #attemptFinished} follows exactly once for each call of this method.
   * Load-aware balancers count requests in flight from this; the default does nothing.
   */
  default void attemptStarted(Endpoint endpoint) {}

  /**
   * Reports the outcome of one attempt on {@code endpoint}, which an earlier pick of this
   * balancer returned (possibly before an update removed it). Latency-aware balancers feed their
   * estimates from this; the default does nothing. Balancers tolerate a finish without a start
   * (and a start or finish for an endpoint they no longer hold) by ignoring what they cannot
   * match, so that a caller that never reports starts still works.
   */
  default void attemptFinished(Endpoint endpoint, boolean success, long durationNanos) {}

  /** Releases resources; the last picker keeps working for calls still holding it. Idempotent. */
  default void shutdown() {}

  /**
   * What this balancer tracks of {@code endpoint}'s load, for the admin endpoint; {@code null}
   * when it tracks nothing for it (the default). Any thread; a racy read is fine.
   */
  default EndpointLoad load(Endpoint endpoint) {
    return null;
  }

  /**
   * One endpoint's load as its balancer sees it.
   *
   * @param inFlight attempts sent and not finished
   * @param ewmaNanos the peak-EWMA latency estimate now, NaN for balancers that keep none
   */
  record EndpointLoad(int inFlight, double ewmaNanos) {}

  /** An immutable choice function over one set of endpoints. Thread-safe. */
  interface Picker {
    /**
     * Picks the endpoint of the next attempt, or {@code null} when there is none.
     *
     * <p>Preference order: an available endpoint other than {@code avoid}; else {@code avoid}
     * itself if it is available (a healthy endpoint twice beats an ejected one); else, in panic
     * mode, any endpoint other than {@code avoid}; else {@code avoid}.
     *
     * @param avoid the endpoint of the previous attempt of the same call, or {@code null}; the
     *     picker returns another endpoint whenever one exists
     */
    Endpoint pick(Endpoint avoid);
  }

  /** What the runtime gives a balancer: a name for logs, randomness, time and availability. */
  interface Helper {
    /** The destination, for example {@code hello.default{version=v2}}, for logs and metrics. */
    String name();

    /** The random source; seeded in tests. Thread-safe. */
    RandomGenerator random();

    /** The source of time; a {@link io.jmesh.runtime.time.FakeTicker} in tests. */
    Ticker ticker();

    /**
     * Which endpoints may receive traffic now; the circuit breaker's view. Pickers consult it on
     * every pick, so an ejection takes effect at once without a new picker. The default lets
     * every endpoint through.
     */
    default EndpointFilter filter() {
      return EndpointFilter.ALL;
    }
  }

  /** Creates one balancer per destination. */
  interface Factory {
    LoadBalancer newLoadBalancer(Helper helper);
  }
}
