package io.jmesh.instrumentation.javahttpclient.v11;

import io.jmesh.bridge.BridgeCall;
import io.jmesh.bridge.BridgeEndpoint;
import io.jmesh.bridge.MeshBridge;
import io.jmesh.bridge.MeshRefusal;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandler;
import java.net.http.HttpResponse.BodySubscriber;
import java.net.http.HttpResponse.BodySubscribers;
import java.net.http.HttpResponse.ResponseInfo;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;

/**
 * One admitted call to a mesh destination, driven attempt by attempt through the application's
 * own {@code HttpClient}: it waits for admission, sends each attempt as a copy of the request
 * carrying the attempt's timeout and deadline header, reports every attempt to the {@link
 * BridgeCall} and retries as it answers, and completes one future with the final response or
 * error. The application sees only that future, as if the client had made one exchange.
 *
 * <p>Threading: the first attempt starts on the application's thread; later ones on the thread
 * that completed the previous attempt or on the delayed executor. Attempts never overlap, so the
 * call is driven by one thread at a time, as {@link BridgeCall} requires; the hand-over between
 * threads goes through a future's completion, which orders the fields.
 */
final class MeshedSend<T> {
  /** Sends one attempt; {@code endpoint} {@code null} sends the request as the client would. */
  interface Sender<T> {
    CompletableFuture<HttpResponse<T>> send(
        HttpRequest request, BridgeEndpoint endpoint, BodyHandler<T> handler);
  }

  /** Runs a task after a delay; the JDK's delayed executor in production. */
  interface Scheduler {
    Scheduler DELAYED =
        (delayNanos, task) -> {
          if (delayNanos <= 0) {
            task.run();
          } else {
            CompletableFuture.delayedExecutor(delayNanos, TimeUnit.NANOSECONDS).execute(task);
          }
        };

    void schedule(long delayNanos, Runnable task);
  }

  // Marks an attempt whose outcome has not been reported yet.
  private static final long UNREPORTED = Long.MIN_VALUE;

  // A timeout the JDK can still arm when the application's own one has nearly run out.
  private static final long MIN_TIMEOUT_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

  private final BridgeCall call;
  private final HttpRequest request;
  private final BodyHandler<T> handler;
  private final Sender<T> sender;
  private final Scheduler scheduler;
  private final LongSupplier nanoTime;
  private final boolean retries;
  private final boolean appTimeout;
  private final long appDeadlineNanos;
  private final CompletableFuture<HttpResponse<T>> result = new CompletableFuture<>();
  private final AtomicBoolean finished = new AtomicBoolean();
  private volatile Attempt current;

  /** One attempt: where it went, since when, what the call decided, and its exchange. */
  private static final class Attempt {
    final BridgeEndpoint endpoint;
    final long startNanos;
    volatile long decision = UNREPORTED;
    volatile CompletableFuture<?> exchange;

    Attempt(BridgeEndpoint endpoint, long startNanos) {
      this.endpoint = endpoint;
      this.startNanos = startNanos;
    }
  }

  /**
   * @param retries whether the request can be copied per attempt and sent again; when not, the
   *     call makes one attempt as the application built it (the JDK's own WebSocket handshake)
   */
  MeshedSend(
      BridgeCall call,
      HttpRequest request,
      BodyHandler<T> handler,
      Sender<T> sender,
      Scheduler scheduler,
      LongSupplier nanoTime,
      boolean retries) {
    this.call = call;
    this.request = request;
    this.handler = handler;
    this.sender = sender;
    this.scheduler = scheduler;
    this.nanoTime = nanoTime;
    this.retries = retries;
    // The application's own timeout bounds the whole call, retries included, as it bounds the
    // JDK's own exchange with its redirects.
    Duration timeout = request.timeout().orElse(null);
    this.appTimeout = timeout != null;
    this.appDeadlineNanos = timeout == null ? 0 : nanoTime.getAsLong() + saturatedNanos(timeout);
  }

  /**
   * Starts the admitted call and returns its future. Throws only when the first attempt could not
   * be prepared (an agent error), before anything was sent: the caller then lets the application's
   * call go on unmeshed.
   */
  CompletableFuture<HttpResponse<T>> start() {
    result.whenComplete(
        (r, e) -> {
          // The application gave up (send() interrupted, or cancel): stop the exchange in flight.
          if (result.isCancelled()) {
            Attempt a = current;
            CompletableFuture<?> exchange = a == null ? null : a.exchange;
            if (exchange != null) {
              exchange.cancel(true);
            }
          }
          finishOnce();
        });
    long delay = call.admissionDelayNanos();
    CompletableFuture<Void> slot = call.admissionSlot();
    if (delay <= 0 && (slot == null || slot.isDone() && !slot.isCompletedExceptionally())) {
      attempt();
    } else {
      scheduler.schedule(Math.max(0, delay), () -> afterAdmissionDelay(slot));
    }
    return result;
  }

  private void afterAdmissionDelay(CompletableFuture<Void> slot) {
    if (slot == null) {
      guarded(this::attempt);
      return;
    }
    slot.whenComplete(
        (v, e) -> {
          if (result.isDone()) {
            return;
          }
          if (e == null) {
            guarded(this::attempt);
            return;
          }
          // The destination's pending queue gave up on this call: answer as a full queue does.
          finishOnce();
          RefusalResponse.of(request, handler, 503, "overloaded", "jmesh: " + call.authority() + ": " + unwrap(e).getMessage())
              .whenComplete(this::deliver);
        });
  }

  /** Sends the next attempt; every step before the send may throw (an agent error). */
  private void attempt() {
    if (result.isDone()) {
      return;
    }
    long meshTimeout = call.attemptTimeoutNanos();
    if (meshTimeout == 0) {
      fail(deadlineError(null));
      return;
    }
    HttpRequest attemptRequest =
        retries ? copy(attemptTimeout(meshTimeout), call.deadlineHeaderValue(), call.traceHeaders()) : request;
    BridgeEndpoint endpoint = call.nextEndpoint();
    if (endpoint == null) {
      fail(new MeshRefusal(call.noEndpointMessage()));
      return;
    }
    Attempt a = new Attempt(endpoint, nanoTime.getAsLong());
    current = a;
    CompletableFuture<HttpResponse<T>> exchange;
    try {
      exchange = sender.send(attemptRequest, endpoint, info -> onHeaders(a, info));
    } catch (Throwable t) {
      // The client itself refused the request (closed, invalid): the application's own error.
      report(a, 0, t);
      fail(t);
      return;
    }
    a.exchange = exchange;
    if (result.isCancelled()) {
      exchange.cancel(true);
    }
    exchange.whenComplete((r, e) -> onAttemptDone(a, r, e));
  }

  /**
   * The attempt's timeout: the mesh's (per-try timeout or what the deadline leaves), cut to what
   * the application's own timeout leaves; -1 for none.
   */
  private long attemptTimeout(long meshTimeoutNanos) {
    if (!appTimeout) {
      return meshTimeoutNanos;
    }
    long left = Math.max(MIN_TIMEOUT_NANOS, appDeadlineNanos - nanoTime.getAsLong());
    return meshTimeoutNanos < 0 ? left : Math.min(meshTimeoutNanos, left);
  }

  /**
   * The attempt's own request: the application's, with the attempt's timeout, deadline and trace
   * headers.
   */
  private HttpRequest copy(long timeoutNanos, String deadline, String[] trace) {
    HttpRequest.Builder b = HttpRequest.newBuilder(request, (name, value) -> true);
    if (timeoutNanos > 0) {
      b.timeout(Duration.ofNanos(timeoutNanos));
    }
    if (deadline != null) {
      b.setHeader(BridgeCall.DEADLINE_HEADER, deadline);
    }
    if (trace != null) {
      for (int i = 0; i + 1 < trace.length; i += 2) {
        b.setHeader(trace[i], trace[i + 1]);
      }
    }
    return b.build();
  }

  /**
   * The response's head arrived: report the attempt now, while the status is all that is known,
   * so that an answer the call will retry is drained rather than handed to the application's
   * handler, which may consume a body only once.
   */
  private BodySubscriber<T> onHeaders(Attempt a, ResponseInfo info) {
    if (report(a, info.statusCode(), null) >= 0) {
      // Read the body to its end and drop it, so that the connection goes back to the pool.
      return BodySubscribers.replacing(null);
    }
    return handler.apply(info);
  }

  /** Reports the attempt once and returns the delay before the next one, or -1 to stop. */
  private long report(Attempt a, int status, Throwable error) {
    long decision;
    try {
      decision = call.attemptFinished(a.endpoint, status, error, nanoTime.getAsLong() - a.startNanos);
    } catch (Throwable t) {
      MeshBridge.adviceError(JavaHttpClientInstrumentationModule.NAME, t);
      decision = -1;
    }
    if (!retries || result.isDone()) {
      decision = -1;
    } else if (decision >= 0 && appTimeout && appDeadlineNanos - nanoTime.getAsLong() <= decision) {
      // The application stops waiting before the retry could start: end with this answer.
      decision = -1;
    }
    a.decision = decision;
    return decision;
  }

  private void onAttemptDone(Attempt a, HttpResponse<T> response, Throwable error) {
    if (result.isDone()) {
      return;
    }
    Throwable cause = error == null ? null : unwrap(error);
    try {
      long decision = a.decision;
      if (decision == UNREPORTED) {
        // Failed before any response head (connect, timeout, reset): report it now.
        decision = cause == null ? -1 : report(a, 0, cause);
      }
      if (decision >= 0) {
        scheduler.schedule(decision, () -> guarded(this::attempt));
      } else if (cause == null) {
        complete(response);
      } else if (call.deadlineExpired()) {
        fail(deadlineError(cause));
      } else {
        fail(cause);
      }
    } catch (Throwable t) {
      MeshBridge.adviceError(JavaHttpClientInstrumentationModule.NAME, t);
      finishOnce();
      deliver(response, cause);
    }
  }

  /**
   * Runs a step that ends in an attempt; an agent error there lets the application's request go
   * out as the client would send it without the mesh's policies, rather than fail the call.
   */
  private void guarded(Runnable step) {
    try {
      step.run();
    } catch (Throwable t) {
      MeshBridge.adviceError(JavaHttpClientInstrumentationModule.NAME, t);
      finishOnce();
      if (result.isDone()) {
        return;
      }
      try {
        sender.send(request, null, handler).whenComplete(this::deliver);
      } catch (Throwable sendError) {
        result.completeExceptionally(sendError);
      }
    }
  }

  private HttpTimeoutException deadlineError(Throwable cause) {
    HttpTimeoutException e = new HttpTimeoutException(call.deadlineMessage());
    if (cause != null) {
      e.initCause(cause);
    }
    return e;
  }

  private void complete(HttpResponse<T> response) {
    // The slot among requests in flight is given back before the application sees the answer,
    // so that its next request finds it free.
    finishOnce();
    result.complete(response);
  }

  private void fail(Throwable error) {
    finishOnce();
    result.completeExceptionally(error);
  }

  private void deliver(HttpResponse<T> response, Throwable error) {
    if (error == null) {
      result.complete(response);
    } else {
      result.completeExceptionally(unwrap(error));
    }
  }

  private void finishOnce() {
    if (finished.compareAndSet(false, true)) {
      try {
        call.finish();
      } catch (Throwable t) {
        MeshBridge.adviceError(JavaHttpClientInstrumentationModule.NAME, t);
      }
    }
  }

  /** The failure itself, without the wrappers that futures add. */
  static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  private static long saturatedNanos(Duration d) {
    try {
      return d.toNanos();
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE / 4;
    }
  }
}
