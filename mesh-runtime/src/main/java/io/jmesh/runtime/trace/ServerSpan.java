package io.jmesh.runtime.trace;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import java.util.function.BiConsumer;

/**
 * The span of one inbound request (kind SERVER), made by {@link Tracing#startServer}; the request
 * forwarded to the application carries it as the parent ({@link #inject}), so that the
 * application's own tracing continues the trace.
 *
 * <p>Thread-safety: {@link #end} may be called from any thread, and only its first call counts.
 */
public final class ServerSpan {
  private final Span span;
  private final String callersSpanId;
  private final TraceHeaders.B3Style b3;
  private final java.util.concurrent.atomic.AtomicBoolean ended = new java.util.concurrent.atomic.AtomicBoolean();

  ServerSpan(Span span, String callersSpanId, TraceHeaders.B3Style b3) {
    this.span = span;
    this.callersSpanId = callersSpanId;
    this.b3 = b3;
  }

  /**
   * Writes this span as the parent into the request to the application: {@code traceparent} (and
   * {@code tracestate}, and B3 in the forms the caller used), replacing the caller's values.
   */
  public void inject(BiConsumer<String, String> setHeader) {
    TraceHeaders.write(span.getSpanContext(), callersSpanId, b3, setHeader);
  }

  /**
   * Ends the span with the status the caller received; 5xx, or {@code error} when there was no
   * answer from the application, mark it failed.
   */
  public void end(int status, Throwable error) {
    if (!ended.compareAndSet(false, true)) {
      return;
    }
    if (status > 0) {
      span.setAttribute(ClientSpan.STATUS, status);
    }
    if (status >= 500 || error != null) {
      span.setAttribute(
          ClientSpan.ERROR_TYPE, error != null ? ClientSpan.errorType(error) : Integer.toString(status));
      span.setStatus(StatusCode.ERROR);
    }
    span.end();
  }

  /** Records that the authorization policy {@code policy} denied the request. */
  public void denied(String policy) {
    span.setAttribute(AttributeKey.stringKey("jmesh.denied_by"), policy);
  }
}
