package io.jmesh.runtime.time;

/**
 * A source of monotonic time in nanoseconds. Every timer, breaker, budget and latency estimate of
 * the runtime reads time through a ticker so that tests can move time forward with {@link
 * FakeTicker} instead of sleeping.
 *
 * <p>Thread-safety: implementations must be safe to call from any thread.
 */
public interface Ticker {
  /** The current time in nanoseconds; only differences between two readings are meaningful. */
  long nanoTime();

  /** The ticker backed by {@link System#nanoTime()}. */
  static Ticker system() {
    return SystemTicker.INSTANCE;
  }
}

/** The production ticker; an enum so that it is a cheap singleton. */
enum SystemTicker implements Ticker {
  INSTANCE;

  @Override
  public long nanoTime() {
    return System.nanoTime();
  }
}
