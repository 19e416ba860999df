package io.jmesh.runtime.trace;

import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import java.util.List;
import java.util.Locale;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * Reads a caller's trace context from request headers and writes jmesh's own span in its place:
 * W3C {@code traceparent}/{@code tracestate} first, then B3 ({@code b3} single header, or {@code
 * X-B3-*}). Writing mirrors what was read, so a B3-only application still sees B3 on the next hop;
 * {@code traceparent} is always written.
 *
 * <p>Stateless; every method may be called from any thread.
 */
final class TraceHeaders {
  static final String TRACEPARENT = "traceparent";
  static final String TRACESTATE = "tracestate";
  static final String B3 = "b3";
  static final String B3_TRACE_ID = "X-B3-TraceId";
  static final String B3_SPAN_ID = "X-B3-SpanId";
  static final String B3_PARENT_SPAN_ID = "X-B3-ParentSpanId";
  static final String B3_SAMPLED = "X-B3-Sampled";
  static final String B3_FLAGS = "X-B3-Flags";

  /** Which B3 forms to write besides W3C. */
  enum B3Style {
    NONE,
    SINGLE,
    MULTI,
    BOTH;

    B3Style plus(B3Style other) {
      if (this == NONE || this == other) {
        return other;
      }
      return other == NONE ? this : BOTH;
    }

    boolean single() {
      return this == SINGLE || this == BOTH;
    }

    boolean multi() {
      return this == MULTI || this == BOTH;
    }
  }

  /**
   * A caller's context as read from headers.
   *
   * @param parent the remote parent, {@link SpanContext#getInvalid()} when the request carries none
   * @param b3 the B3 forms the request carried
   */
  record Incoming(SpanContext parent, B3Style b3) {
    static final Incoming NONE = new Incoming(SpanContext.getInvalid(), B3Style.NONE);
  }

  private static final TextMapGetter<Function<String, String>> GETTER =
      new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(Function<String, String> carrier) {
          return List.of(TRACEPARENT, TRACESTATE);
        }

        @Override
        public String get(Function<String, String> carrier, String key) {
          return carrier == null ? null : carrier.apply(key);
        }
      };

  private TraceHeaders() {}

  /**
   * The caller's context in {@code headers} (a case-insensitive lookup of a header's first value,
   * or {@code null} for a request without headers). Malformed values count as absent, as the W3C
   * specification asks: the request then starts a new trace.
   */
  static Incoming read(Function<String, String> headers) {
    if (headers == null) {
      return Incoming.NONE;
    }
    B3Style b3 = B3Style.NONE;
    String single = headers.apply(B3);
    if (single != null) {
      b3 = B3Style.SINGLE;
    }
    String multiTrace = headers.apply(B3_TRACE_ID);
    if (multiTrace != null) {
      b3 = b3.plus(B3Style.MULTI);
    }
    if (headers.apply(TRACEPARENT) != null) {
      Context c = W3CTraceContextPropagator.getInstance().extract(Context.root(), headers, GETTER);
      SpanContext w3c = io.opentelemetry.api.trace.Span.fromContext(c).getSpanContext();
      if (w3c.isValid()) {
        return new Incoming(w3c, b3);
      }
    }
    SpanContext fromB3 = SpanContext.getInvalid();
    if (single != null) {
      fromB3 = parseSingleB3(single);
    }
    if (!fromB3.isValid() && multiTrace != null) {
      fromB3 =
          b3Context(multiTrace, headers.apply(B3_SPAN_ID), headers.apply(B3_SAMPLED), headers.apply(B3_FLAGS));
    }
    return new Incoming(fromB3, b3);
  }

  /**
   * Writes {@code span} as the parent of the next hop: W3C always, B3 in the forms {@code b3}
   * asks for. {@code callersSpanId} is the span jmesh's span is a child of (written as {@code
   * X-B3-ParentSpanId}), or {@code null}.
   */
  static void write(SpanContext span, String callersSpanId, B3Style b3, BiConsumer<String, String> out) {
    String flags = span.getTraceFlags().asHex();
    out.accept(TRACEPARENT, "00-" + span.getTraceId() + "-" + span.getSpanId() + "-" + flags);
    TraceState state = span.getTraceState();
    if (!state.isEmpty()) {
      StringBuilder s = new StringBuilder();
      state.forEach((k, v) -> s.append(s.length() == 0 ? "" : ",").append(k).append('=').append(v));
      out.accept(TRACESTATE, s.toString());
    }
    String sampled = span.isSampled() ? "1" : "0";
    if (b3.single()) {
      out.accept(B3, span.getTraceId() + "-" + span.getSpanId() + "-" + sampled
          + (callersSpanId == null ? "" : "-" + callersSpanId));
    }
    if (b3.multi()) {
      out.accept(B3_TRACE_ID, span.getTraceId());
      out.accept(B3_SPAN_ID, span.getSpanId());
      out.accept(B3_SAMPLED, sampled);
      if (callersSpanId != null) {
        out.accept(B3_PARENT_SPAN_ID, callersSpanId);
      }
    }
  }

  /** {@code traceid-spanid[-sampling[-parentspanid]]}; a bare {@code 0}/{@code 1}/{@code d} is no context. */
  static SpanContext parseSingleB3(String value) {
    String[] parts = value.trim().split("-", -1);
    if (parts.length < 2 || parts.length > 4) {
      return SpanContext.getInvalid();
    }
    return b3Context(parts[0], parts[1], parts.length > 2 ? parts[2] : null, null);
  }

  private static SpanContext b3Context(String traceId, String spanId, String sampled, String flags) {
    if (traceId == null || spanId == null) {
      return SpanContext.getInvalid();
    }
    String t = traceId.trim().toLowerCase(Locale.ROOT);
    if (t.length() == 16) {
      t = "0000000000000000" + t; // 64-bit B3 ids are the low half of a 128-bit trace id
    }
    String s = spanId.trim().toLowerCase(Locale.ROOT);
    // B3 defers the decision when sampling is absent; jmesh then records (parent-based samplers
    // treat it as sampled), as Zipkin's instrumentation usually does.
    boolean notSampled = "0".equals(sampled) || "false".equalsIgnoreCase(sampled == null ? "" : sampled);
    boolean debug = "d".equals(sampled) || "1".equals(flags);
    TraceFlags traceFlags = notSampled && !debug ? TraceFlags.getDefault() : TraceFlags.getSampled();
    SpanContext c = SpanContext.createFromRemoteParent(t, s, traceFlags, TraceState.getDefault());
    return c.isValid() ? c : SpanContext.getInvalid();
  }
}
