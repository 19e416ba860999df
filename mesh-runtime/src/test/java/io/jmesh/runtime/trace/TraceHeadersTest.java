package io.jmesh.runtime.trace;

import static org.assertj.core.api.Assertions.assertThat;

import io.opentelemetry.api.trace.SpanContext;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

class TraceHeadersTest {
  private static final String TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
  private static final String SPAN = "00f067aa0ba902b7";

  private static Function<String, String> headers(String... pairs) {
    Map<String, String> m = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    for (int i = 0; i < pairs.length; i += 2) {
      m.put(pairs[i], pairs[i + 1]);
    }
    return m::get;
  }

  @Test
  void readsW3cTraceparentAndTracestate() {
    TraceHeaders.Incoming in =
        TraceHeaders.read(headers("traceparent", "00-" + TRACE + "-" + SPAN + "-01", "tracestate", "vendor=x"));

    assertThat(in.parent().getTraceId()).isEqualTo(TRACE);
    assertThat(in.parent().getSpanId()).isEqualTo(SPAN);
    assertThat(in.parent().isSampled()).isTrue();
    assertThat(in.parent().isRemote()).isTrue();
    assertThat(in.parent().getTraceState().get("vendor")).isEqualTo("x");
    assertThat(in.b3()).isEqualTo(TraceHeaders.B3Style.NONE);
  }

  @Test
  void aMalformedTraceparentStartsANewTrace() {
    assertThat(TraceHeaders.read(headers("traceparent", "00-xyz-" + SPAN + "-01")).parent().isValid()).isFalse();
    assertThat(TraceHeaders.read(null).parent().isValid()).isFalse();
  }

  @Test
  void readsSingleB3WithA64BitTraceId() {
    TraceHeaders.Incoming in = TraceHeaders.read(headers("b3", "a3ce929d0e0e4736-" + SPAN + "-0"));

    assertThat(in.parent().getTraceId()).isEqualTo("0000000000000000a3ce929d0e0e4736");
    assertThat(in.parent().getSpanId()).isEqualTo(SPAN);
    assertThat(in.parent().isSampled()).isFalse();
    assertThat(in.b3()).isEqualTo(TraceHeaders.B3Style.SINGLE);
  }

  @Test
  void readsMultiB3AndPrefersTraceparentWhenBothArePresent() {
    TraceHeaders.Incoming b3 =
        TraceHeaders.read(headers("X-B3-TraceId", TRACE, "X-B3-SpanId", SPAN, "X-B3-Sampled", "1"));
    assertThat(b3.parent().getTraceId()).isEqualTo(TRACE);
    assertThat(b3.parent().isSampled()).isTrue();
    assertThat(b3.b3()).isEqualTo(TraceHeaders.B3Style.MULTI);

    TraceHeaders.Incoming both =
        TraceHeaders.read(headers(
            "traceparent", "00-" + TRACE + "-" + SPAN + "-01",
            "x-b3-traceid", "11111111111111111111111111111111", "x-b3-spanid", "2222222222222222"));
    assertThat(both.parent().getSpanId()).isEqualTo(SPAN);
    assertThat(both.b3()).as("B3 is still written back").isEqualTo(TraceHeaders.B3Style.MULTI);
  }

  @Test
  void writesTraceparentAlwaysAndB3InTheFormsAsked() {
    SpanContext span =
        SpanContext.create(TRACE, "1111111111111111", io.opentelemetry.api.trace.TraceFlags.getSampled(),
            io.opentelemetry.api.trace.TraceState.builder().put("vendor", "x").build());
    Map<String, String> out = new LinkedHashMap<>();

    TraceHeaders.write(span, SPAN, TraceHeaders.B3Style.BOTH, (k, v) -> out.put(k.toLowerCase(Locale.ROOT), v));

    assertThat(out)
        .containsEntry("traceparent", "00-" + TRACE + "-1111111111111111-01")
        .containsEntry("tracestate", "vendor=x")
        .containsEntry("b3", TRACE + "-1111111111111111-1-" + SPAN)
        .containsEntry("x-b3-traceid", TRACE)
        .containsEntry("x-b3-spanid", "1111111111111111")
        .containsEntry("x-b3-parentspanid", SPAN)
        .containsEntry("x-b3-sampled", "1");
  }
}
