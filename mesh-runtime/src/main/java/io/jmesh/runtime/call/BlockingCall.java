package io.jmesh.runtime.call;

import io.jmesh.runtime.Admission;
import io.jmesh.runtime.OutboundCall;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.PriorityQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.concurrent.atomic.AtomicReferenceFieldUpdater;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;

/**
 * The blocking facade of {@link CallDriver}, for clients whose application thread waits for the
 * answer (HttpURLConnection, OkHttp's {@code execute} and its interceptors): the same state
 * machine, with a timer that runs every step on the calling thread, so attempts are sent from
 * the thread that the client expects them on. The wait is bounded by the driver itself: the
 * deadline ends a wait for a slot, and fault delays and backoffs are capped by it.
 *
 * <p>{@link #stepwise} is the same call in steps, for a client whose one attempt spans several of
 * its methods (HttpURLConnection connects in one and reads the answer in another), so that no one
 * frame can wait for the whole call: {@link #nextAttempt} runs the driver's steps on the calling
 * thread until the driver hands out its next attempt, and the client reports that attempt on it
 * when the client's own hook points see it end.
 *
 * <p>Not thread-safe: one instance per call, used by one thread at a time (the one that called
 * {@link #run} or {@link #nextAttempt}).
 */
public final class BlockingCall<R> implements Timer, CallDriver.Listener<R> {
  private record Task(long dueNanos, int seq, Runnable step) {}

  private volatile Thread owner = Thread.currentThread();
  private final OutboundCall call; // for its ticker and, in a message, its destination
  private final Function<Admission, R> onRefused;
  // Made by the first schedule(): a call answered at once (the usual case) schedules nothing.
  @SuppressWarnings("rawtypes")
  private static final AtomicReferenceFieldUpdater<BlockingCall, ConcurrentLinkedQueue> INCOMING =
      AtomicReferenceFieldUpdater.newUpdater(BlockingCall.class, ConcurrentLinkedQueue.class, "incoming");
  @SuppressWarnings("rawtypes")
  private static final AtomicIntegerFieldUpdater<BlockingCall> SEQ =
      AtomicIntegerFieldUpdater.newUpdater(BlockingCall.class, "seq");

  private volatile ConcurrentLinkedQueue<Task> incoming; // tasks from any thread
  private volatile int seq; // orders tasks due at the same time; a call schedules a handful
  private PriorityQueue<Task> due; // created at the first wait
  private volatile boolean done;
  private R response;
  private Throwable error;
  private Admission refusal;
  private CallDriver<R> driver;
  // Stepwise: the attempt the driver handed out that nextAttempt has not returned yet.
  private volatile CallDriver.Attempt<R> handedOut;

  private BlockingCall(OutboundCall call, Function<Admission, R> onRefused) {
    this.call = call;
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
    BlockingCall<R> blocking = new BlockingCall<>(call, onRefused);
    blocking.driver =
        CallDriver.start(call, bodyReplayable, bodyLength, sender, blocking, blocking, observer);
    blocking.runOrCancel();
    return blocking.answer();
  }

  /**
   * Admits {@code call} and returns it in steps: call {@link #nextAttempt} for each attempt, and
   * report each on its {@link CallDriver.Attempt} ({@code succeeded} with a {@code null} response
   * when the client keeps the response itself). The answer to a refusal is {@code onRefused}'s.
   */
  public static <R> BlockingCall<R> stepwise(
      OutboundCall call,
      boolean bodyReplayable,
      long bodyLength,
      CallDriver.Observer observer,
      Function<Admission, R> onRefused) {
    return stepwise(call, bodyReplayable, bodyLength, observer, onRefused, () -> null);
  }

  /**
   * {@link #stepwise(OutboundCall, boolean, long, CallDriver.Observer, Function)}, with {@code
   * mirrorCopy} as the adapter's {@link CallDriver.Sender#mirrorCopy()}: asked once on the
   * caller's thread, before the first attempt, when the route mirrors.
   */
  public static <R> BlockingCall<R> stepwise(
      OutboundCall call,
      boolean bodyReplayable,
      long bodyLength,
      CallDriver.Observer observer,
      Function<Admission, R> onRefused,
      java.util.function.Supplier<io.jmesh.runtime.RequestCopy> mirrorCopy) {
    BlockingCall<R> blocking = new BlockingCall<>(call, onRefused);
    CallDriver.Sender<R> handOut =
        new CallDriver.Sender<>() {
          @Override
          public void send(CallDriver.Attempt<R> attempt) {
            blocking.handedOut = attempt;
          }

          @Override
          public io.jmesh.runtime.RequestCopy mirrorCopy() {
            return mirrorCopy.get();
          }
        };
    blocking.driver = CallDriver.start(call, bodyReplayable, bodyLength, handOut, blocking, blocking, observer);
    return blocking;
  }

  /**
   * Runs the call's steps on this thread (an injected delay, the wait for a slot, a retry's
   * backoff) until the driver hands out its next attempt, and returns it; returns {@code null}
   * once the call has ended with an answer ({@link #refusal()} says whether it was a refusal).
   * Throws the call's failure as {@link #run} does.
   */
  public CallDriver.Attempt<R> nextAttempt() throws IOException {
    owner = Thread.currentThread();
    runOrCancel();
    CallDriver.Attempt<R> a = handedOut;
    if (a != null) {
      handedOut = null;
      return a;
    }
    answer();
    return null;
  }

  /** The refusal the call ended with, or {@code null}. */
  public Admission refusal() {
    return refusal;
  }

  /**
   * The failure the call ended with ({@link #run}'s list), or {@code null} while it goes on or
   * when it ended otherwise.
   */
  public Throwable failure() {
    return done ? error : null; // the volatile read of done orders error
  }

  /**
   * Ends the call now if it has not ended (the client cannot go on with it, for example it cannot
   * send again): its metrics and its slot, without another attempt; see {@link
   * CallDriver#cancel}.
   */
  public void end(Throwable reason) {
    handedOut = null;
    if (!done) {
      driver.cancel(reason);
    }
  }

  private void runOrCancel() throws InterruptedIOException {
    try {
      runSteps();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      InterruptedIOException interrupted =
          new InterruptedIOException("jmesh: " + call.destination() + ": interrupted while the mesh held the call");
      driver.cancel(interrupted);
      throw interrupted;
    }
  }

  /** The call's answer, or its failure thrown. */
  private R answer() throws IOException {
    Throwable t = error;
    if (t == null) {
      return refusal != null ? onRefused.apply(refusal) : response;
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

  /**
   * Runs the steps the driver scheduled, each when it is due, until the call has ended or (in
   * steps) has handed out an attempt.
   */
  private void runSteps() throws InterruptedException {
    while (!done && handedOut == null) {
      if (due == null) {
        due = new PriorityQueue<>((a, b) -> a.dueNanos != b.dueNanos ? Long.compare(a.dueNanos, b.dueNanos) : Integer.compare(a.seq, b.seq));
      }
      ConcurrentLinkedQueue<Task> in = incoming;
      for (Task t; in != null && (t = in.poll()) != null; ) {
        due.add(t);
      }
      Task next = due.peek();
      if (next == null) {
        LockSupport.park(this); // a slot's completion on another thread wakes us
      } else {
        long wait = next.dueNanos - call.ticker().nanoTime();
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

  @SuppressWarnings("unchecked")
  private ConcurrentLinkedQueue<Task> incoming() {
    ConcurrentLinkedQueue<Task> in = incoming;
    if (in == null) {
      INCOMING.compareAndSet(this, null, new ConcurrentLinkedQueue<Task>());
      in = incoming;
    }
    return in;
  }

  @Override
  public void schedule(long delayNanos, Runnable task) {
    long at = call.ticker().nanoTime() + Math.max(0, delayNanos);
    incoming().add(new Task(at, SEQ.getAndIncrement(this), task));
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
    this.refusal = refusal; // answered on the caller's thread, by answer()
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
