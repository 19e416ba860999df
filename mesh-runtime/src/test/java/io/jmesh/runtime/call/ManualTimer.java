package io.jmesh.runtime.call;

import io.jmesh.runtime.time.FakeTicker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@link Timer} on a {@link FakeTicker}: tasks run when the test moves time past them. Public for
 * the adapters' own tests (the mesh-runtime test jar).
 */
public final class ManualTimer implements Timer {
  private record Task(long dueNanos, Runnable step) {}

  private final FakeTicker ticker;
  private final List<Task> tasks = new ArrayList<>();
  public final List<Long> delays = new ArrayList<>(); // every delay asked for, in order

  public ManualTimer(FakeTicker ticker) {
    this.ticker = ticker;
  }

  @Override
  public void schedule(long delayNanos, Runnable task) {
    delays.add(delayNanos);
    tasks.add(new Task(ticker.nanoTime() + Math.max(0, delayNanos), task));
    if (delayNanos <= 0) {
      runDue();
    }
  }

  /** Moves time forward and runs every task due by then, in order. */
  public void advance(Duration d) {
    ticker.advance(d);
    runDue();
  }

  public int pending() {
    return tasks.size();
  }

  private void runDue() {
    while (true) {
      Task next = null;
      for (Task t : tasks) {
        if (t.dueNanos <= ticker.nanoTime() && (next == null || t.dueNanos < next.dueNanos)) {
          next = t;
        }
      }
      if (next == null) {
        return;
      }
      tasks.remove(next);
      next.step.run();
    }
  }
}
