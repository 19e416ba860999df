package io.jmesh.runtime.breaker;

import io.jmesh.runtime.Endpoint;
import io.jmesh.runtime.time.Ticker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import java.util.random.RandomGenerator;

/**
 * Which endpoints of one destination are in rotation: a circuit breaker per endpoint (Linkerd's
 * consecutive-failure accrual with exponential backoff and a single probe), a cap on how many
 * endpoints may be out at once, and optional Envoy-style success-rate outlier detection.
 *
 * <p>How a request uses it: the picker skips endpoints for which {@link #isAvailable} is false
 * (the shape of the balancer's {@code EndpointFilter}); the caller then calls {@link #tryAdmit} for
 * the endpoint it chose, which claims the probe when that endpoint is due for one (false: another
 * request won the probe, pick again), and reports the outcome with {@link #onResult}.
 *
 * <p>Ejection cap: at most {@code floor(endpoints * maxEjectionPercent / 100)} endpoints are out of
 * rotation at once. An endpoint whose ejection would exceed the cap stays in rotation (the ones
 * already ejected stay ejected); it keeps counting failures and is ejected by its next failure
 * once another endpoint has returned. Note that this means a destination with a single endpoint
 * never ejects it at the default 50 %.
 *
 * <p>Endpoints that {@link #updateEndpoints} has not announced are always available and their
 * outcomes are ignored, so that an attempt finishing after its endpoint was removed is harmless.
 *
 * <p>Threading: {@link #updateEndpoints} is called by the config thread, one call at a time;
 * {@link #detectOutliers} by one timer thread every {@link SuccessRateOutlier#interval()}; every
 * other method concurrently from request threads, and none of those takes a lock or blocks.
 */
public final class EndpointHealth {

  /**
   * Settings of {@link EndpointHealth}; immutable. {@link #defaults()} are Linkerd's failure
   * accrual (7 failures, 1 s to 60 s, jitter 0.5) with a 50 % ejection cap and no outlier
   * detection.
   *
   * @param consecutiveFailures failures in a row that eject an endpoint, {@code >= 1}
   * @param minPenalty the first penalty, {@code > 0}
   * @param maxPenalty the longest penalty, {@code >= minPenalty}
   * @param jitter up to this fraction of the penalty is added at random, {@code 0..1}; 0 in tests
   * @param probeTimeout a claimed probe that has not reported after this long is given up and
   *     another probe may be claimed, {@code > 0}
   * @param maxEjectionPercent the most endpoints of the destination out at once, {@code 0..100}
   * @param successRateOutlier outlier detection, or {@code null} for none
   */
  public record Options(
      int consecutiveFailures,
      Duration minPenalty,
      Duration maxPenalty,
      double jitter,
      Duration probeTimeout,
      int maxEjectionPercent,
      SuccessRateOutlier successRateOutlier) {

    public Options {
      if (consecutiveFailures < 1) {
        throw new IllegalArgumentException(
            "consecutiveFailures: " + consecutiveFailures + " (expected: >= 1)");
      }
      Objects.requireNonNull(minPenalty, "minPenalty");
      Objects.requireNonNull(maxPenalty, "maxPenalty");
      Objects.requireNonNull(probeTimeout, "probeTimeout");
      if (minPenalty.isNegative() || minPenalty.isZero()) {
        throw new IllegalArgumentException("minPenalty: " + minPenalty + " (expected: > 0)");
      }
      if (maxPenalty.compareTo(minPenalty) < 0) {
        throw new IllegalArgumentException(
            "maxPenalty: " + maxPenalty + " (expected: >= minPenalty " + minPenalty + ")");
      }
      if (!(jitter >= 0 && jitter <= 1)) {
        throw new IllegalArgumentException("jitter: " + jitter + " (expected: 0..1)");
      }
      if (probeTimeout.isNegative() || probeTimeout.isZero()) {
        throw new IllegalArgumentException("probeTimeout: " + probeTimeout + " (expected: > 0)");
      }
      if (maxEjectionPercent < 0 || maxEjectionPercent > 100) {
        throw new IllegalArgumentException(
            "maxEjectionPercent: " + maxEjectionPercent + " (expected: 0..100)");
      }
    }

    public static Options defaults() {
      return new Options(
          7, Duration.ofSeconds(1), Duration.ofMinutes(1), 0.5, Duration.ofSeconds(10), 50, null);
    }

    public Options withConsecutiveFailures(int n) {
      return new Options(n, minPenalty, maxPenalty, jitter, probeTimeout, maxEjectionPercent,
          successRateOutlier);
    }

    public Options withPenalty(Duration min, Duration max) {
      return new Options(consecutiveFailures, min, max, jitter, probeTimeout, maxEjectionPercent,
          successRateOutlier);
    }

    public Options withJitter(double jitter) {
      return new Options(consecutiveFailures, minPenalty, maxPenalty, jitter, probeTimeout,
          maxEjectionPercent, successRateOutlier);
    }

    public Options withProbeTimeout(Duration timeout) {
      return new Options(consecutiveFailures, minPenalty, maxPenalty, jitter, timeout,
          maxEjectionPercent, successRateOutlier);
    }

    public Options withMaxEjectionPercent(int percent) {
      return new Options(consecutiveFailures, minPenalty, maxPenalty, jitter, probeTimeout,
          percent, successRateOutlier);
    }

    /** Turns on success-rate outlier detection ({@code null} turns it off). */
    public Options withSuccessRateOutlier(SuccessRateOutlier outlier) {
      return new Options(consecutiveFailures, minPenalty, maxPenalty, jitter, probeTimeout,
          maxEjectionPercent, outlier);
    }

    long probeTimeoutNanos() {
      return probeTimeout.toNanos();
    }
  }

  /** The breaker of one endpoint plus its counts for outlier detection. */
  private record Tracked(FailureAccrual accrual, AtomicLong counts) {}

  // Requests and successes of the current interval in one long, so that the detector reads and
  // resets both atomically: requests in the high 32 bits, successes in the low 32 bits.
  private static final long ONE_REQUEST = 1L << 32;
  private static final long ONE_SUCCESS = ONE_REQUEST | 1L;

  private final String name;
  private final Options options;
  private final Ticker ticker;
  private final RandomGenerator random;
  private final Map<Endpoint, Tracked> endpoints = new ConcurrentHashMap<>();
  private final AtomicInteger ejected = new AtomicInteger();
  private final Set<Endpoint> out = ConcurrentHashMap.newKeySet();
  private volatile int maxEjections;
  private volatile Runnable onEjection = () -> {};
  private final FailureAccrual.EjectionGate gate =
      new FailureAccrual.EjectionGate() {
        @Override
        public boolean tryReserve() {
          while (true) {
            int now = ejected.get();
            if (now >= maxEjections) {
              return false;
            }
            if (ejected.compareAndSet(now, now + 1)) {
              return true;
            }
          }
        }

        @Override
        public void release() {
          ejected.decrementAndGet();
        }
      };

  /**
   * @param name the destination, for example {@code hello.default{version=v2}}, for messages
   * @param random jitter of penalties; must be thread-safe (a seeded generator in tests)
   */
  public EndpointHealth(String name, Options options, Ticker ticker, RandomGenerator random) {
    this.name = Objects.requireNonNull(name, "name");
    this.options = Objects.requireNonNull(options, "options");
    this.ticker = Objects.requireNonNull(ticker, "ticker");
    this.random = Objects.requireNonNull(random, "random");
  }

  public String name() {
    return name;
  }

  /**
   * Calls {@code listener} on every ejection (by failures, by a failed probe, or by outlier
   * detection), on the thread that caused it; for the metrics. Must be quick and must not throw.
   */
  public void onEjection(Runnable listener) {
    this.onEjection = Objects.requireNonNull(listener, "listener");
  }

  public Options options() {
    return options;
  }

  /**
   * Replaces the destination's endpoints. Kept endpoints (by {@code equals}) keep their state;
   * removed ones give back their ejection slot. When the destination shrinks, endpoints already
   * ejected stay ejected even above the new cap; only new ejections are refused.
   */
  public void updateEndpoints(Collection<? extends Endpoint> update) {
    Set<Endpoint> wanted = new HashSet<>(update);
    for (Endpoint e : wanted) {
      endpoints.computeIfAbsent(
          e, k -> new Tracked(new FailureAccrual(options, ticker, random, gate), new AtomicLong()));
    }
    maxEjections = (int) ((long) wanted.size() * options.maxEjectionPercent() / 100);
    endpoints.entrySet().removeIf(entry -> {
      if (wanted.contains(entry.getKey())) {
        return false;
      }
      entry.getValue().accrual().retire();
      out.remove(entry.getKey());
      return true;
    });
  }

  /**
   * Whether {@code endpoint} may be picked: it is in rotation, or it is due for a probe. Has no
   * side effect; true for an unknown endpoint.
   */
  public boolean isAvailable(Endpoint endpoint) {
    Tracked t = endpoints.get(endpoint);
    return t == null || t.accrual().isAvailable();
  }

  /**
   * Admits one request to the endpoint a picker chose: true when it is in rotation; when it is
   * due for a probe, true for exactly one caller, which then sends the probe; false otherwise (pick
   * another endpoint). True for an unknown endpoint.
   */
  public boolean tryAdmit(Endpoint endpoint) {
    Tracked t = endpoints.get(endpoint);
    return t == null || t.accrual().tryAdmit();
  }

  /** Records the outcome of one attempt on {@code endpoint}; ignored for an unknown endpoint. */
  public void onResult(Endpoint endpoint, boolean success) {
    Tracked t = endpoints.get(endpoint);
    if (t == null) {
      return;
    }
    if (options.successRateOutlier() != null) {
      t.counts().addAndGet(success ? ONE_SUCCESS : ONE_REQUEST);
    }
    boolean wasEjected = !success && t.accrual().state().mode() == FailureAccrual.Mode.EJECTED;
    t.accrual().onResult(success);
    noteMode(endpoint, t);
    if (!success && !wasEjected && t.accrual().state().mode() == FailureAccrual.Mode.EJECTED) {
      onEjection.run();
    }
  }

  /**
   * Claims the probe of an ejected endpoint whose penalty has ended and that {@code eligible}
   * accepts (for example: belongs to the backend being picked), so that the probe is actually
   * sent: a latency-aware picker would otherwise keep preferring the endpoints that never failed,
   * and the ejected one would never be tried again. Returns {@code null} when no probe is due,
   * which costs one volatile read while nothing is ejected.
   */
  public Endpoint claimDueProbe(Predicate<Endpoint> eligible) {
    if (ejected.get() == 0 || out.isEmpty()) {
      return null;
    }
    for (Endpoint e : out) {
      Tracked t = endpoints.get(e);
      if (t == null) {
        out.remove(e);
        continue;
      }
      if (t.accrual().state().mode() == FailureAccrual.Mode.AVAILABLE) {
        out.remove(e);
        continue;
      }
      if (t.accrual().isAvailable() && eligible.test(e) && t.accrual().tryAdmit()) {
        return e;
      }
    }
    return null;
  }

  // Keeps the set of endpoints out of rotation, which claimDueProbe scans. A race may leave a
  // healthy endpoint in it for a while; claimDueProbe checks the state and drops it.
  private void noteMode(Endpoint endpoint, Tracked t) {
    FailureAccrual.Mode mode = t.accrual().state().mode();
    if (mode == FailureAccrual.Mode.EJECTED || mode == FailureAccrual.Mode.PROBING) {
      out.add(endpoint);
    }
  }

  /**
   * Runs one round of success-rate outlier detection over the counts gathered since the last
   * round, resets them, and ejects the outliers (as a breaker would, with the same penalty and
   * probe, and within the ejection cap). Returns the endpoints ejected by this round. Does
   * nothing when outlier detection is off. The runtime calls it every {@link
   * SuccessRateOutlier#interval()} on its scheduler.
   */
  public List<Endpoint> detectOutliers() {
    SuccessRateOutlier detector = options.successRateOutlier();
    if (detector == null) {
      return List.of();
    }
    List<SuccessRateOutlier.Sample<Endpoint>> samples = new ArrayList<>(endpoints.size());
    for (Map.Entry<Endpoint, Tracked> entry : endpoints.entrySet()) {
      long counts = entry.getValue().counts().getAndSet(0);
      samples.add(new SuccessRateOutlier.Sample<>(entry.getKey(), counts >>> 32, counts & 0xFFFFFFFFL));
    }
    List<Endpoint> ejectedNow = new ArrayList<>();
    for (Endpoint e : detector.outliers(samples)) {
      Tracked t = endpoints.get(e);
      if (t != null && t.accrual().eject()) {
        out.add(e);
        ejectedNow.add(e);
        onEjection.run();
      }
    }
    return ejectedNow;
  }

  /**
   * The breaker's state of {@code endpoint} for the admin endpoint: {@code available}, {@code
   * ejected}, {@code probing}, or {@code unknown} for an endpoint it does not hold.
   */
  public String state(Endpoint endpoint) {
    Tracked t = endpoints.get(endpoint);
    return t == null ? "unknown" : t.accrual().state().mode().name().toLowerCase(java.util.Locale.ROOT);
  }

  /** How many endpoints are out of rotation now (ejected or being probed); for metrics. */
  public int ejectedCount() {
    return ejected.get();
  }

  /** The most endpoints that may be out of rotation at once, given the current endpoint count. */
  public int maxEjections() {
    return maxEjections;
  }

  @Override
  public String toString() {
    return "EndpointHealth{" + name + ", endpoints=" + endpoints.size() + ", ejected="
        + ejected.get() + "/" + maxEjections + "}";
  }
}
