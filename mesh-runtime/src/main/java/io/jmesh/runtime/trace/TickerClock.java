package io.jmesh.runtime.trace;

import io.jmesh.runtime.time.Ticker;
import io.opentelemetry.sdk.common.Clock;

/**
 * The SDK's clock on the runtime's {@link Ticker}: wall time is read once, at creation, and moved
 * by the ticker after that, so that spans' durations follow the ticker (a {@code FakeTicker} in
 * tests) and a wall-clock step never makes a span's end precede its start.
 */
final class TickerClock implements Clock {
  private final Ticker ticker;
  private final long epochNanosAtStart;
  private final long tickerAtStart;

  TickerClock(Ticker ticker, long epochNanosAtStart) {
    this.ticker = ticker;
    this.epochNanosAtStart = epochNanosAtStart;
    this.tickerAtStart = ticker.nanoTime();
  }

  @Override
  public long now() {
    return epochNanosAtStart + (ticker.nanoTime() - tickerAtStart);
  }

  @Override
  public long nanoTime() {
    return ticker.nanoTime();
  }
}
