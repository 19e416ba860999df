package io.jmesh.runtime.call;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs a {@link CallDriver}'s next step after a delay: an injected fault delay, a retry's
 * backoff, the end of a wait for a place in the pending queue. Tasks must be short and must not
 * block; a task that is due when the call has already ended does nothing, so a timer need not
 * support cancellation.
 */
@FunctionalInterface
public interface Timer {
  /** Runs {@code task} once, after {@code delayNanos} (at once, on any thread, when {@code <= 0}). */
  void schedule(long delayNanos, Runnable task);

  /** The JDK's delayed executor: the task runs on the common pool once the delay is over. */
  static Timer delayed() {
    return DelayedTimer.INSTANCE;
  }
}

/** {@link Timer#delayed()}. */
enum DelayedTimer implements Timer {
  INSTANCE;

  @Override
  public void schedule(long delayNanos, Runnable task) {
    if (delayNanos <= 0) {
      task.run();
    } else {
      CompletableFuture.delayedExecutor(delayNanos, TimeUnit.NANOSECONDS).execute(task);
    }
  }
}
