package io.jmesh.runtime.deadline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmesh.runtime.time.FakeTicker;
import java.io.IOException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class DeadlineTest {
  private final FakeTicker ticker = new FakeTicker();

  @Test
  void remainingShrinksUntilExpiry() {
    Deadline deadline = Deadline.after(Duration.ofMillis(500), ticker);
    assertThat(deadline.remaining()).isEqualTo(Duration.ofMillis(500));
    assertThat(deadline.isExpired()).isFalse();

    ticker.advance(Duration.ofMillis(499));
    assertThat(deadline.remaining()).isEqualTo(Duration.ofMillis(1));
    assertThat(deadline.isExpired()).isFalse();
    assertThat(deadline.elapsed()).isEqualTo(Duration.ofMillis(499));

    // Expired exactly at the deadline, and remaining never goes negative.
    ticker.advance(Duration.ofMillis(1));
    assertThat(deadline.isExpired()).isTrue();
    ticker.advance(Duration.ofSeconds(3));
    assertThat(deadline.remaining()).isEqualTo(Duration.ZERO);
    assertThat(deadline.remainingNanos(ticker.nanoTime())).isEqualTo(-3_000_000_000L);
    assertThat(deadline.budget()).isEqualTo(Duration.ofMillis(500));
  }

  @Test
  void zeroBudgetIsExpiredAtOnceAndNegativeIsRejected() {
    assertThat(Deadline.after(Duration.ZERO, ticker).isExpired()).isTrue();
    assertThatThrownBy(() -> Deadline.after(Duration.ofMillis(-1), ticker))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("budget: PT-0.001S (expected: >= 0)");
  }

  @Test
  void hugeBudgetSaturatesInsteadOfOverflowing() {
    Deadline deadline = Deadline.after(Duration.ofDays(365L * 1000), ticker);
    ticker.advance(Duration.ofDays(365));
    assertThat(deadline.isExpired()).isFalse();
    assertThat(deadline.remaining()).isGreaterThan(Duration.ofDays(365L * 100));
  }

  @Test
  void attemptTimeoutIsTheSmallerOfPerTryAndRemaining() {
    Deadline deadline = Deadline.after(Duration.ofMillis(300), ticker);
    assertThat(Deadline.attemptTimeout(Duration.ofMillis(100), deadline))
        .isEqualTo(Duration.ofMillis(100));

    // After 250 ms only 50 ms are left: the attempt gets those, not its full 100 ms.
    ticker.advance(Duration.ofMillis(250));
    assertThat(Deadline.attemptTimeout(Duration.ofMillis(100), deadline))
        .isEqualTo(Duration.ofMillis(50));
    assertThat(Deadline.attemptTimeout(null, deadline)).isEqualTo(Duration.ofMillis(50));
    assertThat(Deadline.attemptTimeout(Duration.ofMillis(100), null))
        .isEqualTo(Duration.ofMillis(100));
    assertThat(Deadline.attemptTimeout(null, null)).isNull();

    ticker.advance(Duration.ofMillis(60));
    assertThat(Deadline.attemptTimeout(Duration.ofMillis(100), deadline)).isEqualTo(Duration.ZERO);
  }

  @Test
  void earliestPicksTheSoonerDeadline() {
    Deadline route = Deadline.after(Duration.ofSeconds(2), ticker);
    Deadline caller = Deadline.after(Duration.ofMillis(700), ticker);
    assertThat(route.earliest(caller)).isSameAs(caller);
    assertThat(caller.earliest(route)).isSameAs(caller);
    assertThat(route.earliest(null)).isSameAs(route);
  }

  @Test
  void exceededExceptionNamesDestinationElapsedAndBudget() {
    Deadline deadline = Deadline.after(Duration.ofMillis(1500), ticker);
    ticker.advance(Duration.ofMillis(1502));

    DeadlineExceededException e = new DeadlineExceededException("hello.default", deadline);

    assertThat(e).isInstanceOf(IOException.class);
    assertThat(e).hasMessage("hello.default: deadline exceeded after 1502 ms (budget: 1500 ms)");
  }
}
