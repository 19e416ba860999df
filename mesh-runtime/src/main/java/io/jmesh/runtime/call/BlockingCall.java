package io.jmesh.runtime.call;

import io.jmesh.runtime.Admission;
import io.jmesh.runtime.OutboundCall;
import io.jmesh.runtime.time.Ticker;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.PriorityQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;

/**
 * The blocking facade of {@link CallDriver}, for clients whose application thread waits for the
 * answer (HttpURLConnection, OkHttp's {@code execute} and its interceptors): the same state
 * machine, with a timer that runs every step on the calling thread, so attempts are sent from
 * the thread that the client expects them on. The wait is bounded by the driver itself: the
 * deadline ends a wait for a slot, and fault delays and backoffs are capped by it.
 *
 * <p>Not thread-safe: one instance per call, used by the thread that called {@link #run}.
 */
public final class BlockingCall<R> implements Timer, CallDriver.Listener<R> {
  private record Task(long dueNanos, long seq, Runnable step) {}

  private final Thread owner = Thread.currentThread();
  private final Ticker ticker;
  private final Function<Admission, R> onRefused;
  private final ConcurrentLinkedQueue<Task> incoming = new ConcurrentLinkedQueue<>();
  private PriorityQueue<Task> due; // created at the first wait
  private final java.util.concurrent.atomic.AtomicLong seq = new java.util.concurrent.atomic.AtomicLong();
  private volatile boolean done;
  private R response;
  private Throwable error;

  private BlockingCall(Ticker ticker, Function<Admission, R> onRefused) {
    this.ticker = ticker;
    this.onRefused = onRefused;
  }

  /**
   * Drives {@code call} on this thread and returns its answer: the last attempt's response, or
   * {@code onRefused}'s answer to an admission refusal. Throws the call's failure (an {@link
   * IOException} or unchecked exception as the sender reported it, a {@link
   * io.jmesh.runtime.deadline.DeadlineExceededException}, a {@link
   * io.jmesh.runtime.NoEndpointException}); an interrupt ends the call with an {@link
   * InterruptedIOException}.
   */
  public static <R> R run(
      OutboundCall call,
      boolean bodyReplayable,
      long bodyLength,
      CallDriver.Sender<R> sender,
      CallDriver.Observer observer,
      Function<Admission, R> onRefused)
      throws IOException {
    BlockingCall<R> blocking = new BlockingCall<>(call.ticker(), onRefused);
    CallDriver<R> driver =
        CallDriver.start(call, bodyReplayable, bodyLength, sender, blocking, blocking, observer);
    try {
      blocking.runSteps();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      InterruptedIOException interrupted =
          new InterruptedIOException("jmesh: " + call.destination() + ": interrupted while the mesh held the call");
      driver.cancel(interrupted);
      throw interrupted;
    }
    Throwable t = blocking.error;
    if (t == null) {
      return blocking.response;
    }
    if (t instanceof IOException io) {
      throw io;
    }
    if (t instanceof RuntimeException r) {
      throw r;
    }
    if (t instanceof Error err) {
      throw err;
    }
    throw new IOException(t);
  }

  /** Runs the steps the driver scheduled, each when it is due, until the call has ended. */
  private void runSteps() throws InterruptedException {
    while (!done) {
      if (due == null) {
        due = new PriorityQueue<>((a, b) -> a.dueNanos != b.dueNanos ? Long.compare(a.dueNanos, b.dueNanos) : Long.compare(a.seq, b.seq));
      }
      for (Task t; (t = incoming.poll()) != null; ) {
        due.add(t);
      }
      Task next = due.peek();
      if (next == null) {
        LockSupport.park(this); // a slot's completion on another thread wakes us
      } else {
        long wait = next.dueNanos - ticker.nanoTime();
        if (wait <= 0) {
          due.poll();
          next.step.run();
        } else {
          LockSupport.parkNanos(this, wait);
        }
      }
      if (Thread.interrupted()) {
        throw new InterruptedException();
      }
    }
  }

  @Override
  public void schedule(long delayNanos, Runnable task) {
    long at = ticker.nanoTime() + Math.max(0, delayNanos);
    incoming.add(new Task(at, seq.getAndIncrement(), task));
    if (Thread.currentThread() != owner) {
      LockSupport.unpark(owner);
    }
  }

  @Override
  public void onResponse(R r) {
    response = r;
    done = true;
    wake();
  }

  @Override
  public void onRefused(Admission refusal) {
    response = onRefused.apply(refusal);
    done = true;
    wake();
  }

  @Override
  public void onFailed(Throwable t) {
    error = t;
    done = true;
    wake();
  }

  private void wake() {
    if (Thread.currentThread() != owner) {
      LockSupport.unpark(owner);
    }
  }
}
