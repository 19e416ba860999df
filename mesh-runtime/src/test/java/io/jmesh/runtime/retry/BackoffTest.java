package io.jmesh.runtime.retry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BackoffTest {
  private static final long MS = 1_000_000L;

  @Test
  void withoutJitterDoublesFromBaseUpToMax() {
    Backoff backoff = Backoff.exponential(
        Duration.ofMillis(25), Duration.ofMillis(250), 0, new SplittableRandom(1));

    assertThat(new long[] {
          backoff.delayNanos(1), backoff.delayNanos(2), backoff.delayNanos(3),
          backoff.delayNanos(4), backoff.delayNanos(5), backoff.delayNanos(6),
          backoff.delayNanos(100), backoff.delayNanos(Integer.MAX_VALUE)})
        .containsExactly(25 * MS, 50 * MS, 100 * MS, 200 * MS, 250 * MS, 250 * MS, 250 * MS,
            250 * MS);
  }

  @Test
  void jitterOnlyShortensAndStaysWithinItsShare() {
    Backoff backoff = Backoff.exponential(
        Duration.ofMillis(25), Duration.ofMillis(250), 0.5, new SplittableRandom(7));
    for (int retry = 1; retry <= 8; retry++) {
      long full = Math.min(250, 25L << (retry - 1)) * MS;
      long min = Long.MAX_VALUE;
      long max = 0;
      for (int i = 0; i < 2_000; i++) {
        long d = backoff.delayNanos(retry);
        assertThat(d).isGreaterThan(full / 2).isLessThanOrEqualTo(full);
        min = Math.min(min, d);
        max = Math.max(max, d);
      }
      // The jitter really spreads the delays over its range.
      assertThat(max - min).as("spread of retry %d", retry).isGreaterThan(full * 4 / 10);
    }
  }

  @Test
  void sameSeedGivesSameDelays() {
    Backoff a = Backoff.exponential(Duration.ofMillis(25), Duration.ofMillis(250), 1,
        new SplittableRandom(3));
    Backoff b = Backoff.exponential(Duration.ofMillis(25), Duration.ofMillis(250), 1,
        new SplittableRandom(3));
    for (int retry = 1; retry < 6; retry++) {
      assertThat(a.delayNanos(retry)).isEqualTo(b.delayNanos(retry));
    }
  }

  @Test
  void defaultsAreDocumentedValues() {
    assertThat(Backoff.defaults().toString())
        .isEqualTo("Backoff{base=PT0.025S, max=PT0.25S, jitter=0.5}");
    assertThat(Backoff.defaults().delayNanos(1)).isBetween(12 * MS, 25 * MS);
    assertThat(Backoff.none().delayNanos(3)).isZero();
  }

  @Test
  void rejectsBadValues() {
    SplittableRandom r = new SplittableRandom(1);
    assertThatThrownBy(() -> Backoff.exponential(
            Duration.ofMillis(25), Duration.ofMillis(10), 0, r))
        .hasMessage("max: PT0.01S (expected: >= base PT0.025S)");
    assertThatThrownBy(() -> Backoff.exponential(
            Duration.ofMillis(-1), Duration.ofMillis(10), 0, r))
        .hasMessage("base: PT-0.001S (expected: >= 0)");
    assertThatThrownBy(() -> Backoff.exponential(Duration.ZERO, Duration.ZERO, 1.5, r))
        .hasMessage("jitter: 1.5 (expected: 0..1)");
    assertThatThrownBy(() -> Backoff.exponential(Duration.ZERO, Duration.ZERO, Double.NaN, r))
        .hasMessage("jitter: NaN (expected: 0..1)");
    assertThatThrownBy(() -> Backoff.defaults().delayNanos(0))
        .hasMessage("retry: 0 (expected: >= 1)");
  }
}
