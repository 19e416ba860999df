package io.jmesh.runtime.breaker;

import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Caps the requests of one destination that are in flight at once (Envoy's {@code max_requests})
 * and, optionally, how many more may wait for a slot ({@code max_pending_requests}); beyond both,
 * a call fails fast instead of piling onto an overloaded service.
 *
 * <p>{@link #tryAcquire()} is the fail-fast path and never waits. {@link #acquire()} may queue:
 * its future completes when a slot is handed over, or fails at once with a {@link
 * RejectedExecutionException} when the queue is full too. Every successful acquisition is paired
 * with exactly one {@link #release()}. A caller that stops waiting cancels (or times out) its
 * future; the slot it might have received is passed on.
 *
 * <p>Thread-safety: every method may be called from any thread; none locks or blocks (atomic
 * counters and a lock-free queue). Waiters are served in FIFO order, but a {@code tryAcquire()}
 * racing with a release may take the freed slot first.
 */
public final class ConcurrencyLimit {
  /** Meaning "no cap" for {@code maxInFlight}. */
  public static final int UNLIMITED = Integer.MAX_VALUE;

  private final String name;
  private final int maxInFlight;
  private final int maxPending;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger pending = new AtomicInteger();
  private final ConcurrentLinkedQueue<CompletableFuture<Void>> waiters =
      new ConcurrentLinkedQueue<>();

  /**
   * @param name the destination, for messages
   * @param maxInFlight requests at once, {@code >= 1}, or {@link #UNLIMITED}
   * @param maxPending requests that may wait in {@link #acquire()}, {@code >= 0}
   */
  public ConcurrencyLimit(String name, int maxInFlight, int maxPending) {
    this.name = Objects.requireNonNull(name, "name");
    if (maxInFlight < 1) {
      throw new IllegalArgumentException(
          name + ": maxInFlight: " + maxInFlight + " (expected: >= 1)");
    }
    if (maxPending < 0) {
      throw new IllegalArgumentException(name + ": maxPending: " + maxPending + " (expected: >= 0)");
    }
    this.maxInFlight = maxInFlight;
    this.maxPending = maxPending;
  }

  /** The default: no cap, nothing ever waits (the mesh must not change a working application). */
  public static ConcurrencyLimit unlimited(String name) {
    return new ConcurrencyLimit(name, UNLIMITED, 0);
  }

  /** Takes one slot if one is free; false when the cap is reached (fail the call fast). */
  public boolean tryAcquire() {
    while (true) {
      int n = inFlight.get();
      if (n >= maxInFlight) {
        return false;
      }
      if (inFlight.compareAndSet(n, n + 1)) {
        return true;
      }
    }
  }

  /**
   * Takes one slot now, or waits for one when fewer than {@code maxPending} calls already wait.
   * The returned future completes when the caller holds a slot; it has failed with a {@link
   * RejectedExecutionException} when the call must fail fast.
   */
  public Slot acquire() {
    if (tryAcquire()) {
      Slot held = new Slot(this);
      held.complete(null);
      return held;
    }
    while (true) {
      int p = pending.get();
      if (p >= maxPending) {
        Slot refused = new Slot(this);
        refused.completeExceptionally(new RejectedExecutionException(
            name + ": " + maxInFlight + " requests in flight and " + p
                + " waiting (expected: at most maxInFlight " + maxInFlight + " + maxPending "
                + maxPending + ")"));
        return refused;
      }
      if (pending.compareAndSet(p, p + 1)) {
        break;
      }
    }
    Slot waiter = new Slot(this);
    waiters.offer(waiter);
    // A waiter that gives up leaves the queue at once, so that it stops holding a pending place.
    // Only one of this remove and drain's poll can take it, so pending is decremented once.
    waiter.whenComplete((ignored, failure) -> {
      if (failure != null && waiters.remove(waiter)) {
        pending.decrementAndGet();
      }
    });
    // A slot may have been freed between tryAcquire and offer, with nobody queued to take it.
    drain();
    return waiter;
  }

  /**
   * What {@link #acquire()} returns: a future of the slot that also knows its limit, so that a
   * holder needs one reference to give it back ({@link #close()}), even after the destination's
   * limit was replaced.
   */
  public static final class Slot extends CompletableFuture<Void> {
    private final ConcurrencyLimit limit;

    private Slot(ConcurrencyLimit limit) {
      this.limit = limit;
    }

    /**
     * Gives the slot back when it was taken, or leaves the queue when it is still waited for;
     * nothing when it was refused. Call once.
     */
    public void close() {
      // A waiter that never got its slot leaves the queue; one that got it gives it back.
      if (!cancel(false) && !isCompletedExceptionally()) {
        limit.release();
      }
    }
  }

  /** Gives back one slot, handing it to the oldest waiter if there is one. */
  public void release() {
    int n = inFlight.decrementAndGet();
    if (n < 0) {
      inFlight.incrementAndGet();
      throw new IllegalStateException(name + ": release() without a matching acquire");
    }
    drain();
  }

  /** Requests holding a slot now. */
  public int inFlight() {
    return inFlight.get();
  }

  /** Requests waiting in {@link #acquire()} now. */
  public int pending() {
    return pending.get();
  }

  public int maxInFlight() {
    return maxInFlight;
  }

  public int maxPending() {
    return maxPending;
  }

  // Hands free slots to waiters. Both release() and a new waiter call it, and each reserves the
  // slot before it takes a waiter, so neither a slot nor a waiter can be forgotten in a race.
  private void drain() {
    while (!waiters.isEmpty()) {
      if (!tryAcquire()) {
        return;
      }
      CompletableFuture<Void> waiter = waiters.poll();
      if (waiter == null) {
        inFlight.decrementAndGet(); // another thread served it; look again
        continue;
      }
      pending.decrementAndGet();
      if (!waiter.complete(null)) {
        inFlight.decrementAndGet(); // it gave up meanwhile; pass the slot on
      }
    }
  }

  @Override
  public String toString() {
    return "ConcurrencyLimit{" + name + ", inFlight=" + inFlight.get() + "/"
        + (maxInFlight == UNLIMITED ? "unlimited" : maxInFlight) + ", pending=" + pending.get()
        + "/" + maxPending + "}";
  }
}
