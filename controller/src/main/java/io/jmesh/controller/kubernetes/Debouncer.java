package io.jmesh.controller.kubernetes;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Coalesces bursts of changes into few runs of one action, as istiod's debounce does: the action
 * runs once no change has come for {@code quiet}, or {@code max} after the first change of a burst
 * if changes keep coming. A rollout of 100 pods is then a few translations and pushes, not 100.
 *
 * <p>Thread-safety: {@link #changed} may be called from any thread; the action runs on the
 * scheduler's thread, never concurrently with itself when the scheduler has one thread.
 */
final class Debouncer {

  /** Where the action is scheduled, and the clock; a fake one in tests. */
  interface Scheduler {
    void schedule(Runnable task, long delayNanos);

    long nanoTime();

    /** A real scheduler over {@code executor}. */
    static Scheduler of(ScheduledExecutorService executor) {
      return new Scheduler() {
        @Override
        public void schedule(Runnable task, long delayNanos) {
          executor.schedule(task, delayNanos, TimeUnit.NANOSECONDS);
        }

        @Override
        public long nanoTime() {
          return System.nanoTime();
        }
      };
    }
  }

  private final Scheduler scheduler;
  private final long quietNanos;
  private final long maxNanos;
  private final Runnable action;

  // Guarded by this.
  private boolean pending; // a change not yet acted on
  private boolean scheduled; // a check is scheduled
  private long firstChange;
  private long lastChange;

  Debouncer(Scheduler scheduler, Duration quiet, Duration max, Runnable action) {
    this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
    this.action = Objects.requireNonNull(action, "action");
    if (quiet.isNegative() || max.compareTo(quiet) < 0) {
      throw new IllegalArgumentException(
          "debounce: quiet " + quiet + ", max " + max + " (expected: 0 <= quiet <= max)");
    }
    this.quietNanos = quiet.toNanos();
    this.maxNanos = max.toNanos();
  }

  /** Records a change; the action runs within {@code max}. */
  void changed() {
    synchronized (this) {
      long now = scheduler.nanoTime();
      lastChange = now;
      if (!pending) {
        pending = true;
        firstChange = now;
      }
      if (scheduled) {
        return; // the scheduled check sees lastChange and waits longer if it must
      }
      scheduled = true;
    }
    scheduler.schedule(this::check, quietNanos);
  }

  private void check() {
    long delay;
    synchronized (this) {
      long now = scheduler.nanoTime();
      long quietLeft = lastChange + quietNanos - now;
      long maxLeft = firstChange + maxNanos - now;
      delay = Math.min(quietLeft, maxLeft);
      if (delay <= 0) {
        pending = false;
        scheduled = false;
      }
    }
    if (delay > 0) {
      scheduler.schedule(this::check, delay);
      return;
    }
    action.run();
  }
}
