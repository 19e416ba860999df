package io.jmesh.runtime.identity;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.Delayed;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Wall-clock time and a scheduler that only moves when the test says so (grpc-java's FakeClock,
 * in small): {@link #forward} runs every task that falls due, in order; {@link #pending} tells
 * whether a timer was left behind. Single-threaded: use it from the test thread only.
 */
final class FakeTime extends AbstractExecutorService implements ScheduledExecutorService {
  private Instant now;
  private final List<Task> tasks = new ArrayList<>();
  private long sequence;

  FakeTime(Instant start) {
    this.now = start;
  }

  Clock clock() {
    return new Clock() {
      @Override
      public ZoneId getZone() {
        return ZoneOffset.UTC;
      }

      @Override
      public Clock withZone(ZoneId zone) {
        return this;
      }

      @Override
      public Instant instant() {
        return now;
      }
    };
  }

  Instant now() {
    return now;
  }

  /** Runs what is due now (tasks handed to execute, timers at or before now). */
  void runDue() {
    forward(Duration.ZERO);
  }

  /** Moves time by {@code d}, running each task when its time comes. */
  void forward(Duration d) {
    Instant end = now.plus(d);
    while (true) {
      Task next = null;
      for (Task t : tasks) {
        if (!t.cancelled && !t.due.isAfter(end) && (next == null || t.compareTo(next) < 0)) {
          next = t;
        }
      }
      if (next == null) {
        break;
      }
      tasks.remove(next);
      if (next.due.isAfter(now)) {
        now = next.due;
      }
      next.done = true;
      next.command.run();
    }
    now = end;
    tasks.removeIf(t -> t.cancelled);
  }

  /** Timers and tasks not yet run nor cancelled. */
  List<Duration> pending() {
    List<Duration> out = new ArrayList<>();
    for (Task t : tasks) {
      if (!t.cancelled) {
        out.add(Duration.between(now, t.due));
      }
    }
    return out;
  }

  @Override
  public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
    Task t = new Task(command, now.plusNanos(unit.toNanos(delay)), sequence++);
    tasks.add(t);
    return t;
  }

  @Override
  public void execute(Runnable command) {
    schedule(command, 0, TimeUnit.NANOSECONDS);
  }

  @Override
  public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
    throw new UnsupportedOperationException("not needed");
  }

  @Override
  public ScheduledFuture<?> scheduleAtFixedRate(Runnable c, long i, long p, TimeUnit u) {
    throw new UnsupportedOperationException("not needed");
  }

  @Override
  public ScheduledFuture<?> scheduleWithFixedDelay(Runnable c, long i, long d, TimeUnit u) {
    throw new UnsupportedOperationException("not needed");
  }

  @Override
  public void shutdown() {}

  @Override
  public List<Runnable> shutdownNow() {
    return List.of();
  }

  @Override
  public boolean isShutdown() {
    return false;
  }

  @Override
  public boolean isTerminated() {
    return false;
  }

  @Override
  public boolean awaitTermination(long timeout, TimeUnit unit) {
    return true;
  }

  private final class Task implements ScheduledFuture<Object> {
    final Runnable command;
    final Instant due;
    final long seq;
    boolean cancelled;
    boolean done;

    Task(Runnable command, Instant due, long seq) {
      this.command = command;
      this.due = due;
      this.seq = seq;
    }

    @Override
    public long getDelay(TimeUnit unit) {
      return unit.convert(Duration.between(now, due));
    }

    @Override
    public int compareTo(Delayed o) {
      Task t = (Task) o;
      int c = due.compareTo(t.due);
      return c != 0 ? c : Long.compare(seq, t.seq);
    }

    @Override
    public boolean cancel(boolean mayInterrupt) {
      if (done) {
        return false;
      }
      cancelled = true;
      return true;
    }

    @Override
    public boolean isCancelled() {
      return cancelled;
    }

    @Override
    public boolean isDone() {
      return done || cancelled;
    }

    @Override
    public Object get() {
      return null;
    }

    @Override
    public Object get(long timeout, TimeUnit unit) {
      return null;
    }
  }
}
