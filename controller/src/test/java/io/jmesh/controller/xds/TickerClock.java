package io.jmesh.controller.xds;

import io.jmesh.runtime.time.FakeTicker;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/** A wall clock that moves with a {@link FakeTicker}, so one {@code advance} moves both. */
final class TickerClock extends Clock {
  static final Instant EPOCH = Instant.parse("2026-11-22T10:00:00Z");

  private final FakeTicker ticker;
  private final long startNanos;

  TickerClock(FakeTicker ticker) {
    this.ticker = ticker;
    this.startNanos = ticker.nanoTime();
  }

  @Override
  public Instant instant() {
    return EPOCH.plusNanos(ticker.nanoTime() - startNanos);
  }

  @Override
  public ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    throw new UnsupportedOperationException("withZone: " + zone + " (expected: not called)");
  }
}
