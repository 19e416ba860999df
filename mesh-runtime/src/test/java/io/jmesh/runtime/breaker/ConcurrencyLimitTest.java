package io.jmesh.runtime.breaker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ConcurrencyLimitTest {
  private ExecutorService pool;

  @AfterEach
  void stopPool() throws InterruptedException {
    if (pool != null) {
      pool.shutdownNow();
      assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }
  }

  @Test
  void failsFastBeyondTheCap() {
    ConcurrencyLimit limit = new ConcurrencyLimit("hello.default", 2, 0);

    assertThat(limit.tryAcquire()).isTrue();
    assertThat(limit.tryAcquire()).isTrue();
    assertThat(limit.tryAcquire()).isFalse();
    assertThat(limit.inFlight()).isEqualTo(2);

    limit.release();
    assertThat(limit.tryAcquire()).isTrue();
    assertThat(limit.tryAcquire()).isFalse();
  }

  @Test
  void waitersAreServedInOrderAndTheRestRejected() {
    ConcurrencyLimit limit = new ConcurrencyLimit("hello.default", 1, 2);
    assertThat(limit.acquire()).isCompleted();

    CompletableFuture<Void> first = limit.acquire();
    CompletableFuture<Void> second = limit.acquire();
    CompletableFuture<Void> third = limit.acquire();

    assertThat(first).isNotDone();
    assertThat(second).isNotDone();
    assertThat(limit.pending()).isEqualTo(2);
    assertThat(third).isCompletedExceptionally();
    assertThatThrownBy(third::get)
        .isInstanceOf(ExecutionException.class)
        .cause()
        .isInstanceOf(RejectedExecutionException.class)
        .hasMessage("hello.default: 1 requests in flight and 2 waiting"
            + " (expected: at most maxInFlight 1 + maxPending 2)");
    // tryAcquire never waits.
    assertThat(limit.tryAcquire()).isFalse();

    // Each release hands the slot to the oldest waiter; the count in flight stays at the cap.
    limit.release();
    assertThat(first).isCompleted();
    assertThat(second).isNotDone();
    assertThat(limit.inFlight()).isEqualTo(1);
    limit.release();
    assertThat(second).isCompleted();
    limit.release();
    assertThat(limit.inFlight()).isZero();
    assertThat(limit.pending()).isZero();
  }

  @Test
  void aWaiterThatGivesUpFreesItsPlaceAndTakesNoSlot() {
    ConcurrencyLimit limit = new ConcurrencyLimit("hello.default", 1, 1);
    assertThat(limit.tryAcquire()).isTrue();
    CompletableFuture<Void> impatient = limit.acquire();

    impatient.cancel(false);

    assertThat(limit.pending()).isZero();
    CompletableFuture<Void> next = limit.acquire();
    assertThat(next).isNotDone();
    limit.release();
    assertThat(next).isCompleted();
    assertThat(limit.inFlight()).isEqualTo(1);
  }

  @Test
  void closingASlotGivesItBackLeavesTheQueueOrDoesNothing() {
    ConcurrencyLimit limit = new ConcurrencyLimit("hello.default", 1, 1);
    ConcurrencyLimit.Slot held = limit.acquire();
    ConcurrencyLimit.Slot waiting = limit.acquire();
    ConcurrencyLimit.Slot refused = limit.acquire();
    assertThat(refused).isCompletedExceptionally();

    // A refused slot holds nothing: closing it frees no place.
    refused.close();
    assertThat(limit.inFlight()).isEqualTo(1);
    assertThat(limit.pending()).isEqualTo(1);

    // A waiter that closes leaves the queue without taking the slot.
    waiting.close();
    assertThat(limit.pending()).isZero();
    assertThat(limit.inFlight()).isEqualTo(1);

    // A held slot goes back.
    held.close();
    assertThat(limit.inFlight()).isZero();
  }

  @Test
  void unlimitedNeverRefuses() {
    ConcurrencyLimit limit = ConcurrencyLimit.unlimited("hello.default");
    for (int i = 0; i < 10_000; i++) {
      assertThat(limit.tryAcquire()).isTrue();
    }
    assertThat(limit.inFlight()).isEqualTo(10_000);
  }

  @Test
  void releaseWithoutAcquireIsAnError() {
    ConcurrencyLimit limit = new ConcurrencyLimit("hello.default", 1, 0);
    assertThatThrownBy(limit::release)
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("hello.default: release() without a matching acquire");
    assertThat(limit.inFlight()).isZero();
  }

  @Test
  void rejectsBadSettings() {
    assertThatThrownBy(() -> new ConcurrencyLimit("hello.default", 0, 0))
        .hasMessage("hello.default: maxInFlight: 0 (expected: >= 1)");
    assertThatThrownBy(() -> new ConcurrencyLimit("hello.default", 1, -1))
        .hasMessage("hello.default: maxPending: -1 (expected: >= 0)");
  }

  @Test
  void neverMoreThanTheCapInFlightUnderContention() throws Exception {
    int threads = 8;
    int cap = 3;
    pool = Executors.newFixedThreadPool(threads);
    ConcurrencyLimit limit = new ConcurrencyLimit("hello.default", cap, 4);
    AtomicInteger running = new AtomicInteger();
    AtomicInteger mostRunning = new AtomicInteger();
    AtomicInteger admitted = new AtomicInteger();
    CountDownLatch start = new CountDownLatch(1);

    List<Future<?>> workers = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      workers.add(pool.submit(() -> {
        start.await(10, TimeUnit.SECONDS);
        for (int i = 0; i < 5_000; i++) {
          boolean got;
          if (i % 2 == 0) {
            got = limit.tryAcquire();
          } else {
            // A waiter that is not served at once gives up, as a call with a deadline would.
            CompletableFuture<Void> f = limit.acquire();
            // cancel fails only when a slot was handed over meanwhile, which must be released.
            got = f.isDone() ? !f.isCompletedExceptionally() : !f.cancel(false);
          }
          if (got) {
            admitted.incrementAndGet();
            mostRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
            running.decrementAndGet();
            limit.release();
          }
        }
        return null;
      }));
    }
    start.countDown();
    for (Future<?> w : workers) {
      w.get(30, TimeUnit.SECONDS);
    }

    assertThat(mostRunning.get()).isBetween(1, cap);
    assertThat(admitted.get()).isPositive();
    assertThat(limit.inFlight()).isZero();
    assertThat(limit.pending()).isZero();
  }
}
