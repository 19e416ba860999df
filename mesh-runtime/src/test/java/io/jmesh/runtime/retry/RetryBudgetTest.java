package io.jmesh.runtime.retry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmesh.runtime.time.FakeTicker;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class RetryBudgetTest {
  private final FakeTicker ticker = new FakeTicker();

  private static int withdrawAll(RetryBudget budget) {
    int granted = 0;
    while (budget.tryWithdraw()) {
      granted++;
      if (granted > 1_000_000) {
        throw new AssertionError("budget never runs out");
      }
    }
    return granted;
  }

  private static void deposit(RetryBudget budget, int requests) {
    for (int i = 0; i < requests; i++) {
      budget.deposit();
    }
  }

  @Test
  void floorAllowsTenRetriesPerSecondWithoutTraffic() {
    RetryBudget budget = RetryBudget.create(ticker);
    assertThat(budget.available()).isEqualTo(10);

    assertThat(withdrawAll(budget)).isEqualTo(10);
    assertThat(budget.available()).isZero();

    // Unused floor does not pile up, but each new second brings ten more.
    ticker.advance(Duration.ofMillis(999));
    assertThat(budget.tryWithdraw()).isFalse();
    ticker.advance(Duration.ofMillis(1));
    assertThat(withdrawAll(budget)).isEqualTo(10);
    ticker.advance(Duration.ofSeconds(5));
    assertThat(withdrawAll(budget)).isEqualTo(10);
  }

  @Test
  void ratioAddsTwentyRetriesPerHundredRequests() {
    RetryBudget budget = RetryBudget.create(ticker);
    assertThat(withdrawAll(budget)).isEqualTo(10);

    deposit(budget, 100);

    assertThat(budget.requestsInWindow()).isEqualTo(100);
    assertThat(budget.available()).isEqualTo(20);
    assertThat(withdrawAll(budget)).isEqualTo(20);

    // Four more requests earn fewer than one retry; the fifth earns it.
    deposit(budget, 4);
    assertThat(budget.tryWithdraw()).isFalse();
    deposit(budget, 1);
    assertThat(budget.tryWithdraw()).isTrue();
    assertThat(budget.tryWithdraw()).isFalse();
  }

  @Test
  void ratioEarnedEarlierInTheWindowCanBeSpentLater() {
    RetryBudget budget = RetryBudget.create(ticker);
    deposit(budget, 100);

    ticker.advance(Duration.ofSeconds(9));

    // 10 from this second's floor plus 20 from the requests nine seconds ago.
    assertThat(withdrawAll(budget)).isEqualTo(30);
  }

  @Test
  void windowExpiryAfterTenSecondsRestoresTheBudget() {
    RetryBudget budget = RetryBudget.create(ticker);
    deposit(budget, 100);
    assertThat(withdrawAll(budget)).isEqualTo(30);

    // Nine seconds later the 20 ratio retries are still spent (they count for ten seconds).
    ticker.advance(Duration.ofSeconds(9));
    deposit(budget, 100);
    assertThat(withdrawAll(budget)).isEqualTo(10 + 20);

    // Ten seconds after the first burst its requests and retries have left the window:
    // the second batch of requests is still counted and its retries still spent.
    ticker.advance(Duration.ofSeconds(1));
    assertThat(budget.requestsInWindow()).isEqualTo(100);
    assertThat(withdrawAll(budget)).isEqualTo(10);

    // Ten seconds after the second batch too: only the floor is left, and healthy traffic
    // earns the full ratio again.
    ticker.advance(Duration.ofSeconds(9));
    assertThat(budget.requestsInWindow()).isZero();
    deposit(budget, 50);
    assertThat(withdrawAll(budget)).isEqualTo(10 + 10);
  }

  @Test
  void zeroFloorMeansNoRetriesWithoutTraffic() {
    RetryBudget budget = RetryBudget.create(0.5, 0, Duration.ofSeconds(1), ticker);
    assertThat(budget.tryWithdraw()).isFalse();
    deposit(budget, 4);
    assertThat(withdrawAll(budget)).isEqualTo(2);
    ticker.advance(Duration.ofSeconds(1));
    assertThat(budget.tryWithdraw()).isFalse();
  }

  @Test
  void rejectsBadConfiguration() {
    assertThatThrownBy(() -> RetryBudget.create(-0.1, 10, Duration.ofSeconds(10), ticker))
        .hasMessage("ratio: -0.1 (expected: 0..1000)");
    assertThatThrownBy(() -> RetryBudget.create(0.2, -1, Duration.ofSeconds(10), ticker))
        .hasMessage("minRetriesPerSecond: -1 (expected: >= 0)");
    assertThatThrownBy(() -> RetryBudget.create(0.2, 10, Duration.ofMillis(1500), ticker))
        .hasMessage("ttl: PT1.5S (expected: a whole number of seconds in 1s..3600s)");
    assertThatThrownBy(() -> RetryBudget.create(0.2, 10, Duration.ZERO, ticker))
        .hasMessage("ttl: PT0S (expected: a whole number of seconds in 1s..3600s)");
  }

  /**
   * Random traffic, random retry attempts and random steps of time for a simulated hour. An
   * independent ledger checks the promised bound at every granted retry: over the window (the
   * current second and the nine before it), retries ≤ ratio × requests + 10 × 10; and when the
   * window saw no request at all, at most 10 retries in the current second.
   */
  @Test
  void neverExceedsTheBoundOverALongRandomSimulation() {
    double ratio = 0.2;
    int min = 10;
    int ttl = 10;
    RetryBudget budget = RetryBudget.create(ratio, min, Duration.ofSeconds(ttl), ticker);
    long origin = ticker.nanoTime();
    SplittableRandom random = new SplittableRandom(20240611);
    int seconds = 3600;
    // The ledger: requests and granted retries per second since the budget was created.
    long[] requests = new long[seconds + 1];
    long[] retries = new long[seconds + 1];
    long granted = 0;
    long refused = 0;

    while (ticker.nanoTime() - origin < TimeUnit.SECONDS.toNanos(seconds)) {
      int second = (int) ((ticker.nanoTime() - origin) / 1_000_000_000L);
      // Bursty traffic: silent stretches, normal load and spikes.
      int phase = (second / 37) % 3;
      int n = phase == 0 ? 0 : phase == 1 ? random.nextInt(30) : random.nextInt(300);
      deposit(budget, n);
      requests[second] += n;
      // Failures want far more retries than the budget allows.
      int wanted = random.nextInt(2 * n + 30);
      for (int i = 0; i < wanted; i++) {
        if (!budget.tryWithdraw()) {
          refused++;
          continue;
        }
        granted++;
        retries[second]++;
        long r = 0;
        long q = 0;
        for (int s = Math.max(0, second - ttl + 1); s <= second; s++) {
          r += retries[s];
          q += requests[s];
        }
        assertThat((double) r)
            .as("retries in seconds %d..%d with %d requests", second - ttl + 1, second, q)
            .isLessThanOrEqualTo(ratio * q + min * ttl);
        if (q == 0) {
          assertThat(retries[second]).as("retries in quiet second %d", second)
              .isLessThanOrEqualTo(min);
        }
      }
      ticker.advance(random.nextLong(1, 400), TimeUnit.MILLISECONDS);
    }

    // The budget did its job both ways: it granted many retries and refused many.
    assertThat(granted).isGreaterThan(10_000);
    assertThat(refused).isGreaterThan(10_000);
  }

  @Test
  void concurrentDepositsAreAllCounted() throws InterruptedException {
    RetryBudget budget = RetryBudget.create(ticker);
    Thread[] threads = new Thread[4];
    for (int t = 0; t < threads.length; t++) {
      threads[t] = new Thread(() -> deposit(budget, 25_000));
      threads[t].start();
    }
    for (Thread thread : threads) {
      thread.join(TimeUnit.SECONDS.toMillis(30));
    }
    // Time stood still, so no deposit raced a change of second and none may be lost.
    assertThat(budget.requestsInWindow()).isEqualTo(100_000);
    assertThat(budget.available()).isEqualTo(10 + 20_000);
  }
}
