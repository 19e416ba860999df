package io.jmesh.runtime.balance;

import io.jmesh.runtime.Endpoint;
import io.jmesh.runtime.time.Ticker;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntUnaryOperator;

/**
 * Latency-aware balancing, Linkerd's model: power of two choices over the cost {@code
 * peakEwmaLatency × (inFlight + 1) / weight}.
 *
 * <p>The latency estimate of an endpoint is a peak-sensitive, time-weighted moving average. On a
 * finished attempt of RTT {@code r}: if {@code r} exceeds the estimate, the estimate jumps to
 * {@code r} (a slowdown is believed at once); otherwise it moves towards {@code r} with weight
 * {@code w = exp(-Δt/τ)} on the old value, Δt being the time since the previous sample (a recovery
 * is believed gradually). Multiplying by the requests in flight makes a slow or stuck endpoint
 * expensive before its slow answers even arrive.
 *
 * <p>Two adjustments beyond Linkerd's formula, both so that the estimate cannot lie for long:
 *
 * <ul>
 *   <li><b>Failures are penalised.</b> A failed attempt counts as an RTT of {@code max(r, min(2 ×
 *       estimate, 60 s))}: an endpoint that fails fast (connection refused, instant 503) would
 *       otherwise look like the fastest one and draw even more traffic. Each consecutive failure
 *       doubles the estimate; the first success after them replaces the estimate with its own RTT
 *       (the penalty was a belief, the success is a measurement). The 60 s ceiling keeps a long
 *       failure streak recoverable.
 *   <li><b>An idle endpoint's estimate decays towards zero.</b> While an endpoint has no request
 *       in flight, its estimate is read as {@code estimate × exp(-idle/τ)}. Without this an
 *       endpoint that was once slow would lose every comparison and never be measured again;
 *       with it, it is probed again after about {@code τ × ln(its estimate / the others')} (tower
 *       and Finagle get the same effect by observing a zero RTT on each read). While a request is
 *       in flight there is no decay, so a hung endpoint does not grow attractive.
 * </ul>
 *
 * <p>Per-endpoint state lives in a {@link ConcurrentHashMap}; an update keeps the state of the
 * endpoints it keeps and drops the others. Each picker holds the state objects of its endpoints
 * directly, so a pick does no map lookup. The request path is lock-free: in-flight counts are
 * atomic integers and estimates immutable values swapped by compare-and-set.
 */
final class PeakEwmaBalancer implements LoadBalancer {
  /** The ceiling of the failure penalty; see the class comment. */
  static final long MAX_FAILURE_PENALTY_NANOS = TimeUnit.SECONDS.toNanos(60);

  private final Helper helper;
  private final Ticker ticker;
  private final double priorNanos;
  private final double decayNanos;
  private final ConcurrentHashMap<Endpoint, EndpointState> states = new ConcurrentHashMap<>();
  private volatile Picker picker;

  PeakEwmaBalancer(Helper helper, PeakEwmaOptions options) {
    this.helper = helper;
    this.ticker = helper.ticker();
    this.priorNanos = options.rttPrior().toNanos();
    this.decayNanos = options.decay().toNanos();
    this.picker = newPicker(List.of(), new EndpointState[0]);
  }

  @Override
  public void updateEndpoints(List<? extends Endpoint> endpoints) {
    // Drop removed endpoints first, so that one that leaves and comes back starts afresh.
    states.keySet().retainAll(new HashSet<>(endpoints));
    EndpointState[] picked = new EndpointState[endpoints.size()];
    for (int i = 0; i < picked.length; i++) {
      picked[i] =
          states.computeIfAbsent(
              endpoints.get(i), e -> new EndpointState(priorNanos, ticker.nanoTime()));
    }
    picker = newPicker(endpoints, picked);
  }

  private Picker newPicker(List<? extends Endpoint> endpoints, EndpointState[] picked) {
    return new PeakEwmaPicker(new Candidates(endpoints, helper.filter()), picked, this);
  }

  @Override
  public Picker picker() {
    return picker;
  }

  @Override
  public EndpointLoad load(Endpoint endpoint) {
    EndpointState state = states.get(endpoint);
    return state == null
        ? null
        : new EndpointLoad(state.inFlight.get(), state.latencyNanos(ticker.nanoTime(), decayNanos));
  }

  @Override
  public void attemptStarted(Endpoint endpoint) {
    EndpointState state = states.get(endpoint);
    if (state != null) {
      state.inFlight.incrementAndGet();
    }
  }

  @Override
  public void attemptFinished(Endpoint endpoint, boolean success, long durationNanos) {
    EndpointState state = states.get(endpoint);
    if (state != null) {
      state.finished(success, Math.max(0, durationNanos), ticker.nanoTime(), decayNanos);
    }
  }

  @Override
  public void shutdown() {
    states.clear();
  }

  /** The state of {@code endpoint}, or null when this balancer does not hold it. For tests. */
  EndpointState state(Endpoint endpoint) {
    return states.get(endpoint);
  }

  @Override
  public String toString() {
    return "PeakEwmaBalancer{" + helper.name() + "}";
  }

  /** Immutable: one latency estimate and when it was last updated. */
  /** @param penalized whether the last sample was a failure's penalty rather than a latency */
  record Estimate(double nanos, long atNanos, boolean penalized) {
    /** The estimate after a sample of {@code rttNanos} finished at {@code nowNanos}. */
    Estimate observe(double rttNanos, long nowNanos, double decayNanos) {
      // Two threads may read the ticker and then swap in the other order; never go back in time.
      long now = Math.max(nowNanos, atNanos);
      if (rttNanos > nanos) {
        return new Estimate(rttNanos, now, false);
      }
      double w = Math.exp(-(now - atNanos) / decayNanos);
      return new Estimate(nanos * w + rttNanos * (1 - w), now, false);
    }

    /** The estimate as read at {@code nowNanos} by an endpoint with nothing in flight. */
    double idleDecayed(long nowNanos, double decayNanos) {
      long idle = nowNanos - atNanos;
      return idle <= 0 ? nanos : nanos * Math.exp(-idle / decayNanos);
    }
  }

  /** The live state of one endpoint; shared by every picker that holds the endpoint. */
  static final class EndpointState {
    // A finish whose start was not counted (started before an update re-added the endpoint, or a
    // caller that reports no starts) must not drive the count negative.
    private static final IntUnaryOperator DECREMENT_TO_ZERO = n -> n > 0 ? n - 1 : 0;

    final AtomicInteger inFlight = new AtomicInteger();
    final AtomicReference<Estimate> estimate;

    EndpointState(double priorNanos, long nowNanos) {
      this.estimate = new AtomicReference<>(new Estimate(priorNanos, nowNanos, false));
    }

    void finished(boolean success, long rttNanos, long nowNanos, double decayNanos) {
      inFlight.getAndUpdate(DECREMENT_TO_ZERO);
      Estimate prev;
      Estimate next;
      do {
        prev = estimate.get();
        double sample = rttNanos;
        if (!success) {
          sample = Math.max(sample, Math.min(2 * prev.nanos(), MAX_FAILURE_PENALTY_NANOS));
          next = prev.observe(sample, nowNanos, decayNanos);
          next = new Estimate(next.nanos(), next.atNanos(), true);
        } else if (prev.penalized()) {
          // The first success after failures (a breaker's probe, typically) measures the
          // endpoint as it is now; averaging it with the penalty would keep a recovered endpoint
          // out of every comparison for many decay periods.
          next = new Estimate(sample, Math.max(nowNanos, prev.atNanos()), false);
        } else {
          next = prev.observe(sample, nowNanos, decayNanos);
        }
      } while (!estimate.compareAndSet(prev, next));
    }

    /** The latency this endpoint is believed to have now. */
    double latencyNanos(long nowNanos, double decayNanos) {
      return latencyNanos(inFlight.get(), nowNanos, decayNanos);
    }

    /** {@code latency × (inFlight + 1)}, before weighting. */
    double load(long nowNanos, double decayNanos) {
      int n = inFlight.get(); // One read, so that both factors agree.
      return latencyNanos(n, nowNanos, decayNanos) * (n + 1);
    }

    private double latencyNanos(int inFlight, long nowNanos, double decayNanos) {
      Estimate e = estimate.get();
      return inFlight == 0 ? e.idleDecayed(nowNanos, decayNanos) : e.nanos();
    }
  }

  /** Immutable: the candidates and their state objects, index for index. */
  static final class PeakEwmaPicker extends PowerOfTwoChoicesPicker {
    private final EndpointState[] states;
    private final Ticker ticker;
    private final double decayNanos;
    private final int[] weights;

    PeakEwmaPicker(Candidates candidates, EndpointState[] states, PeakEwmaBalancer owner) {
      super(candidates, owner.helper.random());
      this.states = states;
      this.ticker = owner.ticker;
      this.decayNanos = owner.decayNanos;
      this.weights = new int[states.length];
      for (int i = 0; i < weights.length; i++) {
        weights[i] = Math.max(1, candidates.get(i).weight());
      }
    }

    @Override
    long nowNanos() {
      return ticker.nanoTime();
    }

    @Override
    double cost(int index, long nowNanos) {
      return states[index].load(nowNanos, decayNanos) / weights[index];
    }
  }
}
