package io.jmesh.runtime.call;

import io.jmesh.runtime.Admission;
import io.jmesh.runtime.Endpoint;
import io.jmesh.runtime.NoEndpointException;
import io.jmesh.runtime.OutboundCall;
import io.jmesh.runtime.deadline.DeadlineExceededException;
import io.jmesh.runtime.retry.AttemptOutcome;
import io.jmesh.runtime.retry.RetryPolicy;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

/**
 * Drives one routed call from admission to its answer; the one copy of the call path that every
 * client adapter uses. In order:
 *
 * <ol>
 *   <li><b>Admission</b>: {@link OutboundCall#admit} (faults, rate limit, in-flight cap); a refusal
 *       goes to {@link Listener#onRefused}. An injected fault delay is waited out, capped by what
 *       the call's deadline leaves; a place in the pending queue is waited for, bounded by the
 *       deadline. A deadline that has expired by then fails the call at once with a {@link
 *       DeadlineExceededException}, and a queue that gives up on the call refuses it as overloaded.
 *   <li><b>Attempts</b>: per attempt, the attempt's timeout (0: the deadline has expired, fail), an
 *       endpoint ({@code null}: fail with a {@link NoEndpointException}), then {@link Sender#send};
 *       the adapter reports the attempt's outcome on the {@link Attempt}, the route's retry policy
 *       decides, and a retry starts after its backoff on the {@link Timer} (unless the client
 *       itself stops waiting first: {@link Sender#clientWaitNanos()}). Never more attempts
 *       than {@link OutboundCall#maxAttempts()}, whatever the outcomes were: every attempt,
 *       connect failures included, is counted here and nowhere else.
 *   <li><b>Recording</b>: each attempt is reported to the call (metrics, balancer, breaker) and to
 *       the {@link Observer} (span events); {@link OutboundCall#finish()} runs exactly once, before
 *       the application is given the answer, so that its next request finds the slot free.
 * </ol>
 *
 * <p>One state machine for blocking and asynchronous clients: an asynchronous adapter passes a
 * timer that runs tasks on other threads ({@link Timer#delayed()}); a blocking one calls {@link
 * BlockingCall#run}, whose timer runs every step on the application's thread, or, when its one
 * attempt spans several of its methods, {@link BlockingCall#stepwise}, which runs the same steps
 * on that thread up to each attempt.
 *
 * <p>Thread-safety: attempts never overlap, so one thread at a time drives the call; hand-overs
 * between threads go through a future's completion or the timer, which order the fields. Only
 * the end of the call (answer, failure, {@link #cancel}) can race, and one atomic flag settles it.
 * The path of a call admitted at once whose first attempt succeeds takes no lock and allocates
 * the driver and one {@link Attempt}.
 */
public final class CallDriver<R> {
  /** The adapter's side: sends one attempt when asked. */
  public interface Sender<R> {
    /**
     * Sends one attempt to {@link Attempt#endpoint()}, with {@link Attempt#timeoutNanos()} as its
     * timeout and {@link Attempt#deadlineHeaderValue()} as the deadline header, and reports how
     * it ended with one of {@link Attempt#succeeded}/{@link Attempt#failed}, on any thread, now
     * or later. An exception thrown here is the client's own refusal to send: it ends the call.
     */
    void send(Attempt<R> attempt) throws Exception;

    /** Releases a response that a retry replaces (closes its body). The default does nothing. */
    default void discard(R response) {}

    /**
     * How long the client itself still waits for the call, in nanoseconds, or -1 when it sets no
     * bound of its own (the JDK's {@code HttpRequest.timeout()} bounds a whole call, retries
     * included). A retry whose backoff would end past it is not made: the call ends with the
     * attempt's own answer, as when the route's deadline would pass first. The default: no bound.
     */
    default long clientWaitNanos() {
      return -1;
    }

    /**
     * A copy of the request for the route's mirror ({@link OutboundCall#mirror}), asked once,
     * after admission and before the first attempt, and only when the route mirrors ({@link
     * OutboundCall#mirrors()}); its body {@code null} when the client cannot replay it (the copy is
     * then skipped and counted). {@code null}: this client hands over no copies (gRPC's), and the
     * copy is skipped and counted too. What it throws is ignored: a copy never affects the call.
     * The default: {@code null}.
     */
    default io.jmesh.runtime.RequestCopy mirrorCopy() {
      return null;
    }
  }

  /** How the call ended; exactly one method is called, once, after the call has finished. */
  public interface Listener<R> {
    /** The last attempt's response: the application's answer. */
    void onResponse(R response);

    /** Admission refused the call: answer with {@link Admission#status()} or fail with its reason. */
    void onRefused(Admission refusal);

    /**
     * The call failed: a {@link DeadlineExceededException} (its cause the last attempt's error,
     * if any), a {@link NoEndpointException}, or the last attempt's own error.
     */
    void onFailed(Throwable error);

    /**
     * The call is about to end with {@code response}, {@code error} or {@code refusal} (as the
     * method above will say), before {@link OutboundCall#finish()} records it: the place to tell
     * the call what the application will get where its metrics need that (gRPC's status code,
     * {@link OutboundCall#grpcStatus}). Called once, just before that method; the default does
     * nothing.
     */
    default void ending(R response, Throwable error, Admission refusal) {}
  }

  /** Records what the call did beyond metrics (a client span); called on the driving thread. */
  public interface Observer {
    Observer NONE = new Observer() {};

    /** One attempt ended: {@code status} the HTTP status (0 for none), {@code error} or null. */
    default void attemptEnded(Endpoint endpoint, int status, Throwable error, long durationNanos) {}

    /** The call ended, however; after {@link OutboundCall#finish()}. */
    default void callEnded() {}
  }

  private final OutboundCall call;
  private final Sender<R> sender;
  private final Listener<R> listener;
  private final Timer timer;
  private final Observer observer;
  // Field updaters rather than AtomicBooleans: one object less per call and per attempt.
  @SuppressWarnings("rawtypes")
  private static final AtomicIntegerFieldUpdater<CallDriver> ENDED =
      AtomicIntegerFieldUpdater.newUpdater(CallDriver.class, "ended");

  private volatile int ended; // 0, then 1 once: see end()
  private int attempts;
  private volatile Attempt<R> current;

  private CallDriver(OutboundCall call, Sender<R> sender, Listener<R> listener, Timer timer, Observer observer) {
    this.call = call;
    this.sender = sender;
    this.listener = listener;
    this.timer = timer;
    this.observer = observer == null ? Observer.NONE : observer;
  }

  /**
   * Admits {@code call} and starts its first attempt (or its wait); returns the driver, whose end
   * {@code listener} hears.
   *
   * @param bodyReplayable whether the adapter can send the body again; true when there is none
   * @param bodyLength the body's size, 0 for none, -1 when unknown (never replayed)
   */
  public static <R> CallDriver<R> start(
      OutboundCall call,
      boolean bodyReplayable,
      long bodyLength,
      Sender<R> sender,
      Listener<R> listener,
      Timer timer,
      Observer observer) {
    CallDriver<R> driver = new CallDriver<>(call, sender, listener, timer, observer);
    driver.admit(bodyReplayable, bodyLength);
    return driver;
  }

  /** Whether the call has ended (answered, failed, refused or cancelled). */
  public boolean isDone() {
    return ended != 0;
  }

  /**
   * The application gave up: ends the call now (its metrics, its slot) without an answer; the
   * listener hears {@code reason} as a failure. Returns the attempt in flight, if any, so that the
   * adapter can stop its exchange; its later report is then ignored.
   */
  public Attempt<R> cancel(Throwable reason) {
    end(null, reason, null);
    return current;
  }

  private void admit(boolean bodyReplayable, long bodyLength) {
    Admission admission;
    try {
      admission = call.admit(bodyReplayable, bodyLength);
    } catch (RuntimeException | Error e) {
      end(null, e, null);
      throw e;
    }
    if (admission.isRefused()) {
      end(null, null, admission);
      return;
    }
    long delay = admission.delayNanos();
    CompletableFuture<Void> slot = admission.slot();
    if (delay <= 0 && (slot == null || isAcquired(slot))) {
      attempt(null);
      return;
    }
    if (delay > 0) {
      // A fault delay never outlasts the call: it is capped by what the deadline leaves.
      long left = call.deadlineRemainingNanos();
      timer.schedule(left < 0 ? delay : Math.min(delay, left), () -> awaitSlot(slot));
    } else {
      awaitSlot(slot);
    }
  }

  private static boolean isAcquired(CompletableFuture<Void> slot) {
    return slot.isDone() && !slot.isCompletedExceptionally();
  }

  /** After the fault delay: waits for a place among the requests in flight, bounded by the deadline. */
  private void awaitSlot(CompletableFuture<Void> slot) {
    if (ended != 0) {
      return;
    }
    long left = call.deadlineRemainingNanos();
    if (left == 0) {
      // An expired deadline fails fast; it never reads as "no timeout".
      end(null, deadlineError(null), null);
      return;
    }
    if (slot == null || isAcquired(slot)) {
      attempt(null);
      return;
    }
    AtomicBoolean waiting = new AtomicBoolean(true);
    if (left > 0) {
      timer.schedule(
          left,
          () -> {
            if (waiting.compareAndSet(true, false)) {
              end(null, deadlineError(null), null); // finish() leaves the queue
            }
          });
    }
    slot.whenComplete(
        (v, error) -> {
          if (!waiting.compareAndSet(true, false)) {
            return;
          }
          if (error == null) {
            timer.schedule(0, () -> attempt(null));
          } else {
            end(null, null, overloaded(error));
          }
        });
  }

  private Admission overloaded(Throwable error) {
    Throwable cause = error.getCause() != null ? error.getCause() : error;
    return Admission.refuse(
        Admission.Refusal.OVERLOADED,
        503,
        "jmesh: " + call.destination() + ": overloaded: gave up waiting for a place among the"
            + " requests in flight (" + cause.getMessage() + ")");
  }

  /** Hands the route's mirror its copy; nothing of it reaches the call. */
  private void mirror() {
    try {
      call.mirror(sender.mirrorCopy()); // null: skipped, and counted
    } catch (RuntimeException | LinkageError e) {
      // The adapter could not make a copy: the original goes on as if the route had no mirror.
    }
  }

  /** Starts the next attempt; {@code lastError} is the previous attempt's, or null. */
  private void attempt(Throwable lastError) {
    if (ended != 0) {
      return;
    }
    if (attempts >= call.maxAttempts()) {
      // Unreachable while the retry policy counts as this driver does; the bound holds anyway.
      end(null, lastError != null ? lastError : new NoEndpointException(attemptsSpent()), null);
      return;
    }
    long timeout = call.attemptTimeoutNanos();
    if (timeout == 0) {
      end(null, deadlineError(lastError), null);
      return;
    }
    if (attempts == 0 && call.mirrors()) {
      mirror();
    }
    Endpoint endpoint = call.nextEndpoint();
    if (endpoint == null) {
      end(null, new NoEndpointException(call.noEndpointMessage()), null);
      return;
    }
    attempts++;
    Attempt<R> a = new Attempt<>(this, endpoint, timeout, call.ticker().nanoTime());
    current = a;
    try {
      sender.send(a);
    } catch (Throwable t) {
      // The client refused the request itself (closed, invalid): its own error, not retried.
      a.report(AttemptOutcome.otherError(), 0, t);
      end(null, t, null);
    }
  }

  private String attemptsSpent() {
    return "jmesh: " + call.destination() + ": all " + call.maxAttempts() + " attempts of route "
        + call.routeName() + " were used (expected: at most retry.attempts per call)";
  }

  /** The attempt {@code a} ended: its decision stands; retry, answer or fail. */
  private void attemptEnded(Attempt<R> a, R response, Throwable error) {
    RetryPolicy.Decision d = a.decision;
    if (ended != 0) {
      if (response != null) {
        sender.discard(response);
      }
      return;
    }
    if (!a.committed && retries(d)) {
      if (response != null) {
        sender.discard(response); // replaced by the retry's answer
      }
      timer.schedule(d.delayNanos(), () -> attempt(error));
    } else if (error == null) {
      end(response, null, null);
    } else if (call.deadlineExpired()) {
      end(null, deadlineError(error), null);
    } else {
      end(null, error, null);
    }
  }

  /** Whether decision {@code d} makes another attempt: within the route's and the client's bounds. */
  private boolean retries(RetryPolicy.Decision d) {
    if (d == null || !d.isRetry() || attempts >= call.maxAttempts()) {
      return false;
    }
    long clientWait = sender.clientWaitNanos();
    return clientWait < 0 || d.delayNanos() < clientWait;
  }

  private DeadlineExceededException deadlineError(Throwable cause) {
    return new DeadlineExceededException(call.deadlineMessage(), cause);
  }

  /** Ends the call once: finishes it, then tells the listener. */
  private void end(R response, Throwable error, Admission refusal) {
    if (!ENDED.compareAndSet(this, 0, 1)) {
      if (response != null) {
        sender.discard(response);
      }
      return;
    }
    try {
      listener.ending(response, error, refusal);
    } finally {
      try {
        call.finish();
      } finally {
        observer.callEnded();
      }
    }
    if (refusal != null) {
      listener.onRefused(refusal);
    } else if (error != null) {
      listener.onFailed(error);
    } else {
      listener.onResponse(response);
    }
  }

  /**
   * One attempt, as the {@link Sender} sees it: where to send, with which timeout and deadline
   * header, and where to report how it ended. Reported once; later reports are ignored.
   */
  public static final class Attempt<R> {
    private final CallDriver<R> driver;
    private final Endpoint endpoint;
    private final long timeoutNanos;
    private final long startNanos;
    @SuppressWarnings("rawtypes")
    private static final AtomicIntegerFieldUpdater<Attempt> REPORTED =
        AtomicIntegerFieldUpdater.newUpdater(Attempt.class, "reported");

    private volatile int reported; // 0, then 1 once: see report()
    private volatile RetryPolicy.Decision decision;
    private volatile boolean completed;
    private volatile boolean committed;

    Attempt(CallDriver<R> driver, Endpoint endpoint, long timeoutNanos, long startNanos) {
      this.driver = driver;
      this.endpoint = endpoint;
      this.timeoutNanos = timeoutNanos;
      this.startNanos = startNanos;
    }

    /** Where to send. */
    public Endpoint endpoint() {
      return endpoint;
    }

    /** The attempt's timeout in nanoseconds, -1 for none (never 0). */
    public long timeoutNanos() {
      return timeoutNanos;
    }

    /** The deadline header's value for this attempt, or {@code null}. */
    public String deadlineHeaderValue() {
      return driver.call.deadlineHeaderValue();
    }

    /** The attempt's number in its call, from 1. */
    public int number() {
      return driver.attempts;
    }

    /**
     * Reports the attempt now, as soon as its outcome is known (a response's head), and says
     * whether the call will retry: the adapter then drops this response's body rather than hand
     * it to the application. Call {@link #succeeded} or {@link #failed} afterwards as usual.
     */
    public boolean willRetry(AttemptOutcome outcome, int status) {
      report(outcome, status, null);
      return !committed && driver.retries(decision);
    }

    /**
     * The application has seen part of this attempt's answer (gRPC's response headers or a
     * message, a stream's first message), or cancelled it: the call ends with this attempt,
     * whatever the retry policy says of its outcome. Call before {@link #succeeded}/{@link
     * #failed}; the outcome is still reported as it was.
     */
    public void commit() {
      committed = true;
    }

    /** The attempt got {@code response}, whose outcome is {@code outcome} (its status). */
    public void succeeded(R response, AttemptOutcome outcome, int status) {
      report(outcome, status, null);
      complete(response, null);
    }

    /** The attempt failed without a response: {@code outcome} classifies {@code error}. */
    public void failed(AttemptOutcome outcome, Throwable error) {
      report(outcome, 0, error);
      complete(null, error);
    }

    /** {@link #failed(AttemptOutcome, Throwable)} with the outcome read from the exception. */
    public void failed(Throwable error) {
      failed(Outcomes.classify(error), error);
    }

    private void complete(R response, Throwable error) {
      if (completed) {
        return;
      }
      completed = true;
      driver.attemptEnded(this, response, error);
    }

    void report(AttemptOutcome outcome, int status, Throwable error) {
      if (!REPORTED.compareAndSet(this, 0, 1)) {
        return;
      }
      long duration = driver.call.ticker().nanoTime() - startNanos;
      RetryPolicy.Decision d;
      try {
        d = driver.call.attemptFinished(endpoint, outcome, duration);
      } finally {
        driver.observer.attemptEnded(endpoint, status, error, duration);
      }
      decision = d;
    }

    @Override
    public String toString() {
      return "Attempt{" + driver.call.destination() + " #" + number() + " to " + endpoint + "}";
    }
  }
}
