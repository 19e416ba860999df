package io.jmesh.runtime.route;

import io.jmesh.runtime.Endpoint;
import io.jmesh.runtime.breaker.ConcurrencyLimit;
import io.jmesh.runtime.breaker.EndpointHealth;
import io.jmesh.runtime.breaker.LocalRateLimit;
import io.jmesh.runtime.config.DestinationPolicy;
import io.jmesh.runtime.retry.RetryBudget;
import io.jmesh.runtime.telemetry.ClientMeters;
import io.jmesh.runtime.time.Ticker;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * What one destination (a service) keeps across snapshots: the circuit breaker of its endpoints,
 * its retry budget, its cap on requests in flight and its rate limit. Every client library of the
 * JVM shares it, so an endpoint that fails for OkHttp is ejected for the JDK client too.
 *
 * <p>Threading: {@link #update} runs on the config thread; request threads read the volatile
 * fields, each of which is itself thread-safe. A policy change replaces only the parts it changes,
 * so that (for example) a new rate limit keeps the breaker's state.
 */
final class DestinationState {
  final String name;
  // The router's, kept here so that a call reaches them through its destination.
  final Ticker ticker;
  final RandomGenerator random;
  final io.jmesh.runtime.mirror.MirrorSender mirrors; // null: routes' mirrors send nothing
  final ClientMeters meters;
  private DestinationPolicy policy; // config thread only

  volatile EndpointHealth health;
  volatile RetryBudget budget;
  volatile ConcurrencyLimit limit; // null: no cap
  volatile LocalRateLimit rateLimit; // null: no limit
  private volatile Authorities authorities = Authorities.NONE;

  DestinationState(
      String name,
      Ticker ticker,
      RandomGenerator random,
      io.jmesh.runtime.mirror.MirrorSender mirrors,
      ClientMeters meters) {
    this.name = name;
    this.mirrors = mirrors;
    this.ticker = ticker;
    this.random = random;
    this.meters = meters;
    meters.bindEjected(this, s -> s.health == null ? 0 : s.health.ejectedCount());
  }

  /** Applies {@code next} and the destination's current endpoints. */
  void update(DestinationPolicy next, List<? extends Endpoint> endpoints) {
    DestinationPolicy prev = policy;
    if (prev == null
        || !prev.failureAccrual().equals(next.failureAccrual())
        || prev.maxEjectionPercent() != next.maxEjectionPercent()) {
      DestinationPolicy.FailureAccrual fa = next.failureAccrual();
      EndpointHealth.Options options =
          EndpointHealth.Options.defaults()
              .withConsecutiveFailures(fa.consecutiveFailures())
              .withPenalty(fa.minPenalty(), fa.maxPenalty())
              .withJitter(fa.jitter())
              .withMaxEjectionPercent(next.maxEjectionPercent());
      EndpointHealth h = new EndpointHealth(name, options, ticker, random);
      h.onEjection(meters::ejected);
      health = h;
    }
    health.updateEndpoints(endpoints);
    if (prev == null || !prev.retryBudget().equals(next.retryBudget())) {
      DestinationPolicy.RetryBudget b = next.retryBudget();
      budget = RetryBudget.create(b.ratio(), b.minPerSecond(), b.ttl(), ticker);
    }
    if (prev == null || prev.maxInFlight() != next.maxInFlight() || prev.maxPending() != next.maxPending()) {
      // Calls holding a slot of the old limit give it back there; the new one starts empty.
      limit = next.maxInFlight() == 0 ? null : new ConcurrencyLimit(name, next.maxInFlight(), next.maxPending());
    }
    if (prev == null || !prev.rateLimit().equals(next.rateLimit())) {
      DestinationPolicy.RateLimit r = next.rateLimit();
      rateLimit =
          r.isNone() ? null : new LocalRateLimit(name, r.requestsPerSecond(), Math.max(1, r.burst()), ticker);
    }
    policy = next;
  }

  /**
   * Keeps {@code host:port} for every host form a client may write for this destination and
   * every service port, so that the authority of a call to a port other than the scheme's
   * default is found rather than built per call. Config thread.
   */
  void updateAuthorities(List<String> hostForms, int[] ports) {
    authorities = new Authorities(hostForms, ports);
  }

  /** {@code host + ":" + port}; allocates nothing for a host form and port this table holds. */
  String authority(String host, int port) {
    String known = authorities.find(host, port);
    return known != null ? known : host + ":" + port;
  }

  /** Immutable: the {@code host:port} strings of the host forms and ports of one update. */
  private static final class Authorities {
    static final Authorities NONE = new Authorities(List.of(), new int[0]);

    private final String[] hosts;
    private final int[] ports;
    private final String[][] values; // [host][port]

    Authorities(List<String> hosts, int[] ports) {
      this.hosts = hosts.toArray(new String[0]);
      this.ports = ports.clone();
      this.values = new String[this.hosts.length][ports.length];
      for (int h = 0; h < this.hosts.length; h++) {
        for (int p = 0; p < ports.length; p++) {
          values[h][p] = this.hosts[h] + ":" + ports[p];
        }
      }
    }

    String find(String host, int port) {
      for (int h = 0; h < hosts.length; h++) {
        if (hosts[h].equals(host)) {
          for (int p = 0; p < ports.length; p++) {
            if (ports[p] == port) {
              return values[h][p];
            }
          }
          return null;
        }
      }
      return null;
    }
  }

  boolean isAvailable(Endpoint endpoint) {
    return health.isAvailable(endpoint);
  }
}
