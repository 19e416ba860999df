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
  private final Instant start;
  private final long startNanos;

  /** Starts at {@link #EPOCH}. */
  TickerClock(FakeTicker ticker) {
    this(ticker, EPOCH);
  }

  /**
   * Starts at {@code start}: {@code Instant.now()} where a real TLS handshake checks a
   * certificate's validity against the real time.
   */
  TickerClock(FakeTicker ticker, Instant start) {
    this.ticker = ticker;
    this.start = start;
    this.startNanos = ticker.nanoTime();
  }

  @Override
  public Instant instant() {
    return start.plusNanos(ticker.nanoTime() - startNanos);
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
