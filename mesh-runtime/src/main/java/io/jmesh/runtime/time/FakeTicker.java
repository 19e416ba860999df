package io.jmesh.runtime.time;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A ticker for tests: time stands still until the test moves it with {@link #advance}. Public so
 * that the tests of other modules can use it too.
 *
 * <p>Thread-safety: safe to read and advance from any thread.
 */
public final class FakeTicker implements Ticker {
  private final AtomicLong nanos;

  /** Starts at an arbitrary non-zero time, so that code cannot rely on time starting at zero. */
  public FakeTicker() {
    this(TimeUnit.HOURS.toNanos(1));
  }

  public FakeTicker(long startNanos) {
    this.nanos = new AtomicLong(startNanos);
  }

  @Override
  public long nanoTime() {
    return nanos.get();
  }

  /** Moves time forward by {@code duration}; returns this ticker for chaining. */
  public FakeTicker advance(Duration duration) {
    return advance(duration.toNanos(), TimeUnit.NANOSECONDS);
  }

  /** Moves time forward by {@code amount} {@code unit}s; returns this ticker for chaining. */
  public FakeTicker advance(long amount, TimeUnit unit) {
    if (amount < 0) {
      throw new IllegalArgumentException("amount: " + amount + " (expected: >= 0)");
    }
    nanos.addAndGet(unit.toNanos(amount));
    return this;
  }
}
