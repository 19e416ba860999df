package io.jmesh.runtime.trace;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The span of one outbound call (kind CLIENT), made by {@link Tracing#startClient}: one span for
 * the call however many attempts it takes, with an event {@value #ATTEMPT_EVENT} per attempt.
 * Every attempt carries the same {@link #headers()}, naming this span as the next hop's parent.
 *
 * <p>Thread-safety: driven by one adapter at a time, like the call it traces (attempts may run on
 * different threads one after another); {@link #end()} is idempotent.
 */
public final class ClientSpan {
  /** The name of the event recorded per attempt. */
  public static final String ATTEMPT_EVENT = "jmesh.attempt";

  static final AttributeKey<String> METHOD = AttributeKey.stringKey("http.request.method");
  static final AttributeKey<Long> STATUS = AttributeKey.longKey("http.response.status_code");
  static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");
  static final AttributeKey<String> PEER_ADDRESS = AttributeKey.stringKey("network.peer.address");
  static final AttributeKey<Long> PEER_PORT = AttributeKey.longKey("network.peer.port");
  static final AttributeKey<Long> ATTEMPT = AttributeKey.longKey("jmesh.attempt");
  static final AttributeKey<Double> ATTEMPT_MS = AttributeKey.doubleKey("jmesh.attempt.duration_ms");
  static final AttributeKey<Long> RESEND_COUNT = AttributeKey.longKey("http.request.resend_count");
  static final AttributeKey<String> REFUSED = AttributeKey.stringKey("jmesh.refused");

  private final Span span;
  private final String[] headers;
  private int attempts;
  private int lastStatus;
  private String lastError;
  private boolean ended;

  ClientSpan(Span span, String callersSpanId, TraceHeaders.B3Style b3) {
    this.span = span;
    List<String> h = new ArrayList<>(8);
    TraceHeaders.write(span.getSpanContext(), callersSpanId, b3, (k, v) -> {
      h.add(k);
      h.add(v);
    });
    this.headers = h.toArray(new String[0]);
  }

  /**
   * The headers to set on every attempt, as name/value pairs in one array ({@code traceparent},
   * maybe {@code tracestate} and B3); set, replacing what the application sent under those names.
   * The array is shared: callers must not modify it.
   */
  public String[] headers() {
    return headers;
  }

  /** The span's W3C {@code traceparent} value. */
  public String traceparent() {
    return headers[1];
  }

  /**
   * Records one attempt as an event.
   *
   * @param host the endpoint's address
   * @param status the HTTP status received, 0 when the attempt failed without one
   * @param error why it failed without a status, or {@code null}
   */
  public void attempt(String host, int port, int status, Throwable error, long durationNanos) {
    attempts++;
    AttributesBuilder a =
        Attributes.builder()
            .put(ATTEMPT, attempts)
            .put(PEER_ADDRESS, host)
            .put(PEER_PORT, port)
            .put(ATTEMPT_MS, durationNanos / (double) TimeUnit.MILLISECONDS.toNanos(1));
    if (status > 0) {
      a.put(STATUS, status);
    }
    lastStatus = status;
    lastError = error == null ? null : errorType(error);
    if (lastError != null) {
      a.put(ERROR_TYPE, lastError);
    }
    span.addEvent(ATTEMPT_EVENT, a.build());
  }

  /** The mesh refused the call before any attempt ({@code kind}: rate-limited, overloaded, ...). */
  public void refused(int status, String kind) {
    lastStatus = status;
    lastError = kind == null ? "refused" : kind;
    span.setAttribute(REFUSED, lastError);
  }

  /** Ends the span with the last attempt's (or the refusal's) outcome. Idempotent. */
  public void end() {
    if (ended) {
      return;
    }
    ended = true;
    if (attempts > 1) {
      span.setAttribute(RESEND_COUNT, attempts - 1L);
    }
    if (lastStatus > 0) {
      span.setAttribute(STATUS, lastStatus);
    }
    if (lastStatus >= 400 || (lastStatus == 0 && lastError != null)) {
      // HTTP client semantics: 4xx and 5xx are the call's failure.
      span.setAttribute(ERROR_TYPE, lastError != null ? lastError : Integer.toString(lastStatus));
      span.setStatus(StatusCode.ERROR);
    } else if (lastStatus == 0 && attempts == 0) {
      // Ended before any attempt or refusal: no endpoint, or the application gave up.
      span.setAttribute(ERROR_TYPE, "no-attempt");
      span.setStatus(StatusCode.ERROR);
    }
    span.end();
  }

  static String errorType(Throwable error) {
    Throwable t = error;
    while ((t instanceof java.util.concurrent.CompletionException
            || t instanceof java.util.concurrent.ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t.getClass().getName();
  }
}
