package io.jmesh.controller.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The debounce on fake time: bursts coalesce, a steady stream still runs every {@code max}. */
class DebouncerTest {
  private final FakeScheduler scheduler = new FakeScheduler();
  private final AtomicInteger runs = new AtomicInteger();
  private final Debouncer debouncer =
      new Debouncer(scheduler, Duration.ofMillis(100), Duration.ofSeconds(1), runs::incrementAndGet);

  @AfterEach
  void noTimerLeft() {
    scheduler.advance(Duration.ofSeconds(10));
    assertThat(scheduler.tasks).isEmpty();
  }

  @Test
  void oneChangeRunsOnceAfterTheQuietPeriod() {
    debouncer.changed();
    scheduler.advance(Duration.ofMillis(99));
    assertThat(runs).hasValue(0);
    scheduler.advance(Duration.ofMillis(1));
    assertThat(runs).hasValue(1);
  }

  @Test
  void aRolloutOf100PodsIsAFewRuns() {
    // 100 pod events, 20 ms apart: a 2 s rollout that never goes quiet for 100 ms.
    for (int i = 0; i < 100; i++) {
      debouncer.changed();
      scheduler.advance(Duration.ofMillis(20));
    }
    scheduler.advance(Duration.ofMillis(100));
    // Once per max (1 s) while it lasts, then once when it is quiet.
    assertThat(runs.get()).isBetween(2, 3);
  }

  @Test
  void changesAfterARunRunAgain() {
    debouncer.changed();
    scheduler.advance(Duration.ofMillis(100));
    debouncer.changed();
    debouncer.changed();
    scheduler.advance(Duration.ofMillis(100));
    assertThat(runs).hasValue(2);
  }

  /** A scheduler on fake time: tasks run when {@link #advance} passes their time. */
  static final class FakeScheduler implements Debouncer.Scheduler {
    private record Task(long at, Runnable task) {}

    final List<Task> tasks = new ArrayList<>();
    private long now;

    @Override
    public synchronized void schedule(Runnable task, long delayNanos) {
      tasks.add(new Task(now + delayNanos, task));
    }

    @Override
    public synchronized long nanoTime() {
      return now;
    }

    void advance(Duration d) {
      long until = now + d.toNanos();
      while (true) {
        Task next;
        synchronized (this) {
          next = tasks.stream().filter(t -> t.at <= until).min((a, b) -> Long.compare(a.at, b.at))
              .orElse(null);
          if (next == null) {
            now = until;
            return;
          }
          tasks.remove(next);
          now = Math.max(now, next.at);
        }
        next.task.run();
      }
    }
  }
}
