package io.jmesh.instrumentation.javahttpclient.v11;

import io.jmesh.bridge.BridgeCall;
import io.jmesh.bridge.BridgeEndpoint;
import io.jmesh.bridge.MeshBridge;
import io.jmesh.bridge.MeshRefusal;
import io.jmesh.runtime.Admission;
import io.jmesh.runtime.NoEndpointException;
import io.jmesh.runtime.call.CallDriver;
import io.jmesh.runtime.call.Outcomes;
import io.jmesh.runtime.deadline.DeadlineExceededException;
import java.net.URI;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandler;
import java.net.http.HttpResponse.BodySubscriber;
import java.net.http.HttpResponse.BodySubscribers;
import java.net.http.HttpResponse.ResponseInfo;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The JDK client's side of one meshed call on the runtime's {@link CallDriver}, which does
 * admission, faults, the attempt loop, retries and their backoff (on its timer, no thread waits)
 * and recording. This class only translates: it sends each attempt the driver asks for as a copy
 * of the application's request (the attempt's timeout, deadline and trace headers) through the
 * application's own client, reports how it ended, and completes one future with the driver's
 * answer in the JDK's types. The application sees only that future, as if the client had made one
 * exchange.
 *
 * <p>Threading: as the driver's; attempts never overlap. Cancelling the future (an interrupted
 * {@code send()}) ends the call and cancels the exchange in flight.
 */
final class MeshedSend<T>
    implements CallDriver.Sender<HttpResponse<T>>, CallDriver.Listener<HttpResponse<T>> {
  /** Sends one attempt; {@code endpoint} {@code null} sends the request as the client would. */
  interface Sender<T> {
    CompletableFuture<HttpResponse<T>> send(
        HttpRequest request, BridgeEndpoint endpoint, BodyHandler<T> handler);
  }

  /** The attempt's endpoint as the bridge sees it (with its mesh TLS); {@code MeshCalls.Call#endpoint}. */
  interface Endpoints {
    BridgeEndpoint of(CallDriver.Attempt<?> attempt) throws MeshRefusal;
  }

  /** An agent error while preparing an attempt: the application's request then goes out unmeshed. */
  private static final class AgentError extends RuntimeException {
    AgentError(Throwable cause) {
      super(cause);
    }
  }

  // A timeout the JDK can still arm when the application's own one has nearly run out.
  private static final long MIN_TIMEOUT_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

  private final HttpRequest request;
  private final BodyHandler<T> handler;
  private final Sender<T> sender;
  private final Endpoints endpoints;
  private final Supplier<String[]> traceHeaders;
  private final LongSupplier nanoTime;
  private final boolean appTimeout;
  private final long appDeadlineNanos;
  private final CompletableFuture<HttpResponse<T>> result = new CompletableFuture<>();
  private final String[][] edits; // the route's request header edits, or null
  private final URI rewrittenUri; // the request's URI with the route's path, or null
  private final Supplier<String[][]> responseEdits; // BridgeCall#responseHeaderEdits
  // The head of the attempt whose answer goes to the application, as the route's edits made it;
  // null when unedited. Set when its head arrives, read when the driver hands over its response.
  private volatile HttpHeaders editedHead;
  private volatile CallDriver<HttpResponse<T>> driver;
  private volatile CompletableFuture<?> exchange;
  // Makes the route mirror's copy from headers and body (MeshCalls.Call#mirrorCopy); null: none.
  private java.util.function.BiFunction<String[], byte[], io.jmesh.runtime.RequestCopy> mirrorCopies;

  /**
   * @param edits the route's request header edits ({@link BridgeCall#requestHeaderEdits}), or null
   * @param rewrittenAuthority the authority every attempt sends when the route rewrites the host
   *     name, or null; the JDK takes Host and {@code :authority} from the URI (the endpoint is
   *     chosen apart from it, by the request copy, see JavaHttpClientHook#address)
   * @param rewrittenPath the route's path for every attempt ({@link BridgeCall#rewrittenPath}), or null
   * @param responseEdits the route's response header edits ({@link BridgeCall#responseHeaderEdits}),
   *     asked for when an answer's head arrives
   */
  MeshedSend(
      HttpRequest request,
      BodyHandler<T> handler,
      Sender<T> sender,
      Endpoints endpoints,
      Supplier<String[]> traceHeaders,
      LongSupplier nanoTime,
      String[][] edits,
      String rewrittenAuthority,
      String rewrittenPath,
      Supplier<String[][]> responseEdits) {
    this.edits = edits;
    this.responseEdits = responseEdits;
    this.rewrittenUri =
        rewrittenAuthority == null && rewrittenPath == null
            ? null
            : rewritten(request.uri(), rewrittenAuthority, rewrittenPath);
    this.request = request;
    this.handler = handler;
    this.sender = sender;
    this.endpoints = endpoints;
    this.traceHeaders = traceHeaders;
    this.nanoTime = nanoTime;
    // The application's own timeout bounds the whole call, retries included, as it bounds the
    // JDK's own exchange with its redirects.
    Duration timeout = request.timeout().orElse(null);
    this.appTimeout = timeout != null;
    this.appDeadlineNanos = timeout == null ? 0 : nanoTime.getAsLong() + saturatedNanos(timeout);
  }

  /** Hands the route's mirror copies made by {@code copies} from this request; returns this. */
  MeshedSend<T> mirrorCopies(java.util.function.BiFunction<String[], byte[], io.jmesh.runtime.RequestCopy> copies) {
    this.mirrorCopies = copies;
    return this;
  }

  /**
   * The mirror's copy: the application's headers, and its body only when it has none. A body
   * publisher is read by subscribing, which the client does for the original; a second
   * subscription is not safe for every publisher, so a copy of a request with a body is skipped
   * (and counted).
   */
  @Override
  public io.jmesh.runtime.RequestCopy mirrorCopy() {
    if (mirrorCopies == null) {
      return null;
    }
    java.util.List<String> headers = new java.util.ArrayList<>();
    request.headers().map().forEach((name, values) -> values.forEach(v -> {
      headers.add(name);
      headers.add(v);
    }));
    long length = request.bodyPublisher().map(java.net.http.HttpRequest.BodyPublisher::contentLength).orElse(0L);
    return mirrorCopies.apply(headers.toArray(new String[0]), length == 0 ? new byte[0] : null);
  }

  /**
   * Starts the call on the driver that {@code start} creates with this sender and listener
   * ({@code MeshCalls.Call#start} in production), and returns the application's future.
   */
  CompletableFuture<HttpResponse<T>> start(
      Function<MeshedSend<T>, CallDriver<HttpResponse<T>>> start) {
    result.whenComplete(
        (r, e) -> {
          if (result.isCancelled()) {
            // The application gave up (send() interrupted, or cancel): end the call, stop the exchange.
            CallDriver<HttpResponse<T>> d = driver;
            if (d != null) {
              d.cancel(new CancellationException("jmesh: the application cancelled the call"));
            }
            CompletableFuture<?> x = exchange;
            if (x != null) {
              x.cancel(true);
            }
          }
        });
    driver = start.apply(this);
    return result;
  }

  @Override
  public void send(CallDriver.Attempt<HttpResponse<T>> attempt) throws MeshRefusal {
    BridgeEndpoint endpoint;
    HttpRequest copy;
    try {
      endpoint = endpoints.of(attempt);
      copy = copy(attemptTimeout(attempt.timeoutNanos()), attempt.deadlineHeaderValue(), traceHeaders.get());
    } catch (MeshRefusal refusal) {
      throw refusal; // never plaintext to a destination that requires mesh TLS
    } catch (RuntimeException | Error e) {
      throw new AgentError(e);
    }
    // Throws when the client itself refuses the request (closed, invalid): it ends the call.
    CompletableFuture<HttpResponse<T>> x = sender.send(copy, endpoint, info -> onHeaders(attempt, info));
    exchange = x;
    if (result.isCancelled()) {
      x.cancel(true);
    }
    x.whenComplete((r, e) -> attemptDone(attempt, r, e == null ? null : unwrap(e)));
  }

  @Override
  public long clientWaitNanos() {
    return appTimeout ? Math.max(0, appDeadlineNanos - nanoTime.getAsLong()) : -1;
  }

  /**
   * The attempt's timeout: the driver's (per-try timeout or what the deadline leaves), cut to what
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
    String[][] edits = this.edits;
    HttpRequest.Builder b =
        HttpRequest.newBuilder(request, edits == null ? (name, value) -> true : (name, value) -> kept(edits, name));
    if (rewrittenUri != null) {
      b.uri(rewrittenUri);
    }
    if (edits != null) {
      for (int i = 0; i + 1 < edits[1].length; i += 2) {
        b.setHeader(edits[1][i], edits[1][i + 1]);
      }
      for (int i = 0; i + 1 < edits[2].length; i += 2) {
        b.header(edits[2][i], edits[2][i + 1]);
      }
    }
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

  /** Whether the application's header {@code name} survives the route's removals. */
  private static boolean kept(String[][] edits, String name) {
    for (String removed : edits[0]) {
      if (removed.equalsIgnoreCase(name)) {
        return false;
      }
    }
    return true;
  }

  /**
   * The request's URI with the route's authority and path (raw, as routed), each {@code null} to
   * keep the application's; the query stays.
   */
  static URI rewritten(URI uri, String authority, String rawPath) {
    String query = uri.getRawQuery();
    return URI.create(
        uri.getScheme() + "://" + (authority == null ? uri.getRawAuthority() : authority)
            + (rawPath == null ? uri.getRawPath() : rawPath) + (query == null ? "" : "?" + query));
  }

  /**
   * The response's head arrived: report the attempt now, while the status is all that is known,
   * so that an answer the call will retry is drained rather than handed to the application's
   * handler, which may consume a body only once.
   */
  private BodySubscriber<T> onHeaders(CallDriver.Attempt<HttpResponse<T>> attempt, ResponseInfo info) {
    boolean retry;
    try {
      retry = attempt.willRetry(Outcomes.of(info.statusCode()), info.statusCode());
    } catch (Throwable t) {
      // An agent error while recording the attempt: the application gets this answer.
      MeshBridge.adviceError(JavaHttpClientInstrumentationModule.NAME, t);
      retry = false;
    }
    if (retry) {
      editedHead = null;
      // Read the body to its end and drop it, so that the connection goes back to the pool.
      return BodySubscribers.replacing(null);
    }
    // The application's handler sees the head its response will have: the route's edits applied.
    HttpHeaders edited = editedHead(info.headers());
    editedHead = edited;
    return handler.apply(edited == null ? info : ResponseHeaderEdits.info(info, edited));
  }

  /**
   * The route's response header edits applied to {@code received}, or {@code null} when the route
   * has none or they cannot be applied (the application then gets the head as received).
   */
  private HttpHeaders editedHead(HttpHeaders received) {
    try {
      String[][] edits = responseEdits.get();
      return edits == null ? null : ResponseHeaderEdits.apply(received, edits);
    } catch (Throwable t) {
      MeshBridge.responseHeadersNotEdited(JavaHttpClientInstrumentationModule.NAME, t);
      return null;
    }
  }

  private void attemptDone(CallDriver.Attempt<HttpResponse<T>> attempt, HttpResponse<T> response, Throwable error) {
    try {
      if (error == null) {
        attempt.succeeded(response, Outcomes.of(response.statusCode()), response.statusCode());
      } else {
        attempt.failed(error);
      }
    } catch (Throwable t) {
      // An agent error while recording the attempt (its span, its metrics): the application gets
      // this attempt's own answer, and the call ends.
      MeshBridge.adviceError(JavaHttpClientInstrumentationModule.NAME, t);
      deliver(response, error);
      CallDriver<HttpResponse<T>> d = driver;
      if (d != null) {
        d.cancel(t);
      }
    }
  }

  // ---- The driver's answer, in the JDK's types.

  @Override
  public void onResponse(HttpResponse<T> response) {
    HttpHeaders edited = editedHead;
    result.complete(edited == null ? response : ResponseHeaderEdits.response(response, edited));
  }

  @Override
  public void onRefused(Admission refusal) {
    // Answered in the server's place, as Envoy's local replies are.
    RefusalResponse.of(request, handler, refusal.status(), refusal.refusal().header(), refusal.reason())
        .whenComplete(this::deliver);
  }

  @Override
  public void onFailed(Throwable error) {
    if (error instanceof AgentError) {
      // Nothing of this attempt was sent: the application's request goes out as the client would
      // send it, without the mesh's policies, rather than fail.
      MeshBridge.adviceError(JavaHttpClientInstrumentationModule.NAME, error.getCause());
      try {
        sender.send(request, null, handler).whenComplete(this::deliver);
      } catch (Throwable sendError) {
        result.completeExceptionally(sendError);
      }
    } else if (error instanceof DeadlineExceededException) {
      HttpTimeoutException e = new HttpTimeoutException(error.getMessage());
      if (error.getCause() != null) {
        e.initCause(error.getCause());
      }
      result.completeExceptionally(e);
    } else if (error instanceof NoEndpointException) {
      result.completeExceptionally(new MeshRefusal(error.getMessage()));
    } else {
      result.completeExceptionally(error);
    }
  }

  private void deliver(HttpResponse<T> response, Throwable error) {
    if (error == null) {
      result.complete(response);
    } else {
      result.completeExceptionally(unwrap(error));
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
