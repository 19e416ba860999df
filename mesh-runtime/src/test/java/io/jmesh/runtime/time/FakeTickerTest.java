package io.jmesh.runtime.time;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class FakeTickerTest {
  @Test
  void standsStillUntilAdvanced() {
    FakeTicker ticker = new FakeTicker(100);
    assertThat(ticker.nanoTime()).isEqualTo(100);

    ticker.advance(Duration.ofMillis(2)).advance(5, TimeUnit.NANOSECONDS);

    assertThat(ticker.nanoTime()).isEqualTo(100 + 2_000_000 + 5);
    assertThatThrownBy(() -> ticker.advance(-1, TimeUnit.SECONDS))
        .hasMessage("amount: -1 (expected: >= 0)");
  }

  @Test
  void systemTickerMovesForward() {
    long before = Ticker.system().nanoTime();
    assertThat(Ticker.system().nanoTime()).isGreaterThanOrEqualTo(before);
  }
}
