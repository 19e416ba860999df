package io.jmesh.runtime.deadline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmesh.runtime.time.FakeTicker;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DeadlineHeaderTest {
  private final FakeTicker ticker = new FakeTicker();

  @Test
  void formatsRemainingMillisRoundedDown() {
    Deadline deadline = Deadline.after(Duration.ofMillis(1500), ticker);
    ticker.advance(Duration.ofMillis(20)).advance(400, TimeUnit.MICROSECONDS);

    // 1479.6 ms left: rounding down charges the fraction to the receiver, never the reverse.
    assertThat(DeadlineHeader.format(deadline)).isEqualTo("1479");

    ticker.advance(Duration.ofSeconds(5));
    assertThat(DeadlineHeader.format(deadline)).isEqualTo("0");
  }

  @Test
  void roundTripsThroughTheReceiversTicker() {
    Deadline sent = Deadline.after(Duration.ofMillis(800), ticker);
    ticker.advance(Duration.ofMillis(300));

    // The receiver's clock has another origin: only the relative value crosses the wire.
    FakeTicker receiverTicker = new FakeTicker(42);
    Deadline received = DeadlineHeader.parse(DeadlineHeader.format(sent), receiverTicker);

    assertThat(received.remaining()).isEqualTo(Duration.ofMillis(500));
    receiverTicker.advance(Duration.ofMillis(500));
    assertThat(received.isExpired()).isTrue();
  }

  @Test
  void acceptsZeroSurroundingSpacesAndNoHeader() {
    assertThat(DeadlineHeader.parse("0", ticker).isExpired()).isTrue();
    assertThat(DeadlineHeader.parse(" 250 ", ticker).remaining()).isEqualTo(Duration.ofMillis(250));
    assertThat(DeadlineHeader.parse("9999999999", ticker).remaining())
        .isEqualTo(Duration.ofMillis(9_999_999_999L));
    assertThat(DeadlineHeader.parse(null, ticker)).isNull();
  }

  @ParameterizedTest
  @ValueSource(strings = {"abc", "", " ", "-5", "+5", "1.5", "100ms", "1e3", "100, 200", "0x10"})
  void rejectsNonIntegers(String value) {
    assertThatThrownBy(() -> DeadlineHeader.parse(value, ticker))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("x-jmesh-deadline-ms: '" + value
            + "' (expected: a non-negative integer of milliseconds)");
  }

  @Test
  void rejectsTooManyDigitsAndTruncatesTheEcho() {
    assertThatThrownBy(() -> DeadlineHeader.parse("12345678901", ticker))
        .hasMessage("x-jmesh-deadline-ms: '12345678901' (expected: a non-negative integer of"
            + " milliseconds, at most 10 digits)");
    String hostile = "x".repeat(1000);
    assertThatThrownBy(() -> DeadlineHeader.parse(hostile, ticker))
        .hasMessage("x-jmesh-deadline-ms: '" + "x".repeat(40)
            + "...' (expected: a non-negative integer of milliseconds)");
  }
}
