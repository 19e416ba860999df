package io.jmesh.runtime.breaker;

import io.jmesh.runtime.time.Ticker;
import java.util.concurrent.atomic.AtomicReference;
import java.util.random.RandomGenerator;

/**
 * The circuit breaker of one endpoint, after Linkerd's consecutive-failure accrual: {@code
 * threshold} failures in a row eject the endpoint for a penalty that grows exponentially (with
 * jitter) while it keeps failing; when the penalty ends exactly one probe request is let through,
 * whose outcome closes the breaker (and resets the backoff) or ejects the endpoint again for the
 * next, longer penalty.
 *
 * <p>Thread-safety: all methods may be called concurrently from request threads. The whole state
 * is one immutable {@link State} swapped with compare-and-set, so the request path never locks
 * and a success on a healthy endpoint does not even write.
 */
final class FailureAccrual {

  /**
   * Where ejections are counted for a whole destination, so that {@link EndpointHealth} can cap
   * them. An accrual reserves a slot before it ejects and gives it back exactly once, when the
   * endpoint returns to rotation or leaves the destination.
   */
  interface EjectionGate {
    /** Reserves one ejection; false when the destination may not eject one more endpoint. */
    boolean tryReserve();

    /** Gives back one reservation. */
    void release();

    /** A gate that always lets the endpoint be ejected; for an accrual on its own. */
    EjectionGate UNLIMITED =
        new EjectionGate() {
          @Override
          public boolean tryReserve() {
            return true;
          }

          @Override
          public void release() {}
        };
  }

  enum Mode {
    /** In rotation. */
    AVAILABLE,
    /** Out of rotation until {@code untilNanos}; after that one probe may be claimed. */
    EJECTED,
    /** A probe has been claimed; out of rotation until it reports or {@code untilNanos}. */
    PROBING,
    /** The endpoint left the destination; terminal. */
    RETIRED
  }

  /**
   * @param failures consecutive failures while {@link Mode#AVAILABLE}
   * @param step the index of the last penalty in the current streak of ejections, -1 when none
   * @param untilNanos end of the penalty ({@link Mode#EJECTED}) or of the probe claim ({@link
   *     Mode#PROBING}); meaningless otherwise
   */
  record State(Mode mode, int failures, int step, long untilNanos) {
    static final State HEALTHY = new State(Mode.AVAILABLE, 0, -1, 0);
  }

  private final EndpointHealth.Options options;
  private final Ticker ticker;
  private final RandomGenerator random;
  private final EjectionGate gate;
  private final AtomicReference<State> state = new AtomicReference<>(State.HEALTHY);

  FailureAccrual(
      EndpointHealth.Options options, Ticker ticker, RandomGenerator random, EjectionGate gate) {
    this.options = options;
    this.ticker = ticker;
    this.random = random;
    this.gate = gate;
  }

  State state() {
    return state.get();
  }

  /**
   * Whether a request may be sent to the endpoint: it is in rotation, or its penalty (or an
   * unanswered probe claim) has expired so that a probe could be claimed. Reads only; pair it
   * with {@link #tryAdmit} for the endpoint actually chosen.
   */
  boolean isAvailable() {
    State s = state.get();
    switch (s.mode()) {
      case AVAILABLE:
        return true;
      case EJECTED:
      case PROBING:
        return ticker.nanoTime() - s.untilNanos() >= 0;
      default:
        return false;
    }
  }

  /**
   * Admits one request: true for an endpoint in rotation; for an ejected endpoint whose penalty
   * has ended, true for exactly one caller, which sends the probe; false otherwise.
   */
  boolean tryAdmit() {
    while (true) {
      State s = state.get();
      switch (s.mode()) {
        case AVAILABLE:
          return true;
        case EJECTED:
        case PROBING:
          long now = ticker.nanoTime();
          if (now - s.untilNanos() < 0) {
            return false;
          }
          // The penalty is over (or the last probe never reported): the winner of this CAS owns
          // the probe. The claim expires so that a probe lost to a cancelled call cannot keep the
          // endpoint out of rotation forever.
          State probing = new State(Mode.PROBING, 0, s.step(), now + options.probeTimeoutNanos());
          if (state.compareAndSet(s, probing)) {
            return true;
          }
          break; // lost the race: look again
        default:
          return false;
      }
    }
  }

  /**
   * Records the outcome of one request. Outcomes that arrive while the endpoint is ejected belong
   * to requests sent before the ejection and are ignored; while a probe is out, the first outcome
   * decides.
   */
  void onResult(boolean success) {
    while (true) {
      State s = state.get();
      State next;
      boolean reserved = false;
      switch (s.mode()) {
        case AVAILABLE:
          if (success) {
            if (s.failures() == 0) {
              return; // the common case: no write at all
            }
            next = State.HEALTHY;
          } else {
            int failures = s.failures() == Integer.MAX_VALUE ? s.failures() : s.failures() + 1;
            if (failures >= options.consecutiveFailures() && gate.tryReserve()) {
              reserved = true;
              next = ejected(0);
            } else {
              // Below the threshold, or the destination's ejection cap is reached: stay in
              // rotation and keep counting, so that the next failure ejects once there is room.
              next = new State(Mode.AVAILABLE, failures, -1, 0);
            }
          }
          break;
        case PROBING:
          next = success ? State.HEALTHY : ejected(s.step() + 1);
          break;
        default:
          return;
      }
      if (state.compareAndSet(s, next)) {
        if (s.mode() == Mode.PROBING && next.mode() == Mode.AVAILABLE) {
          gate.release();
        }
        return;
      }
      if (reserved) {
        gate.release(); // another thread changed the state first; decide again
      }
    }
  }

  /**
   * Ejects the endpoint now, whatever its failure count (outlier detection). Returns false when
   * it is already out of rotation or the destination's cap forbids it.
   */
  boolean eject() {
    while (true) {
      State s = state.get();
      if (s.mode() != Mode.AVAILABLE || !gate.tryReserve()) {
        return false;
      }
      if (state.compareAndSet(s, ejected(0))) {
        return true;
      }
      gate.release();
    }
  }

  /** Marks the endpoint as gone and gives back its ejection slot, if it held one. Idempotent. */
  void retire() {
    State s = state.getAndSet(new State(Mode.RETIRED, 0, -1, 0));
    if (s.mode() == Mode.EJECTED || s.mode() == Mode.PROBING) {
      gate.release();
    }
  }

  private State ejected(int step) {
    return new State(Mode.EJECTED, 0, step, ticker.nanoTime() + penaltyNanos(step));
  }

  /**
   * The penalty of the {@code step}-th ejection in a row (0-based), as Linkerd computes it:
   * {@code base = min(minPenalty * 2^step, maxPenalty)}, plus a uniform jitter in {@code [0, base
   * * jitter)}, the sum never above {@code maxPenalty}.
   */
  long penaltyNanos(int step) {
    long min = options.minPenalty().toNanos();
    long max = options.maxPenalty().toNanos();
    long base = step >= 62 || min > (max >> Math.min(step, 62)) ? max : Math.min(min << step, max);
    if (options.jitter() == 0) {
      return base;
    }
    long jitter = (long) (base * options.jitter() * random.nextDouble());
    return Math.min(base + jitter, max);
  }
}
