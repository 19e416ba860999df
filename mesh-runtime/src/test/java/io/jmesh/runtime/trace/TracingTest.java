package io.jmesh.runtime.trace;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmesh.runtime.time.FakeTicker;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.data.EventData;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class TracingTest {
  private static final String TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
  private static final String APP_SPAN = "00f067aa0ba902b7";

  private final FakeTicker ticker = new FakeTicker();
  private final InMemorySpanExporter exported = InMemorySpanExporter.create();
  private final Tracing tracing =
      Tracing.create(
          TraceSettings.from(Map.of("OTEL_TRACES_EXPORTER", "otlp")::get, k -> null, "web"),
          SimpleSpanProcessor.create(exported),
          ticker);

  @AfterEach
  void close() {
    tracing.close();
  }

  private static Function<String, String> headers(String... pairs) {
    Map<String, String> m = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    for (int i = 0; i < pairs.length; i += 2) {
      m.put(pairs[i], pairs[i + 1]);
    }
    return m::get;
  }

  private ClientSpan client(Function<String, String> headers) {
    return tracing.startClient("hello.default", "split", "http", "hello:8080", 8080, "GET", "/x", headers);
  }

  @Test
  void oneClientSpanPerCallWithAnEventPerAttempt() {
    ClientSpan span = client(headers("traceparent", "00-" + TRACE + "-" + APP_SPAN + "-01"));

    // A reset on the first endpoint, retried on the second after 30 ms.
    ticker.advance(Duration.ofMillis(20));
    span.attempt("127.0.0.2", 18081, 0, new IOException("reset"), Duration.ofMillis(20).toNanos());
    ticker.advance(Duration.ofMillis(30));
    span.attempt("127.0.0.3", 18081, 200, null, Duration.ofMillis(30).toNanos());
    span.end();
    span.end(); // idempotent

    SpanData s = exported.getFinishedSpanItems().get(0);
    assertThat(exported.getFinishedSpanItems()).hasSize(1);
    assertThat(s.getKind()).isEqualTo(SpanKind.CLIENT);
    assertThat(s.getName()).isEqualTo("GET");
    assertThat(s.getInstrumentationScopeInfo().getName()).isEqualTo("io.jmesh");
    assertThat(s.getResource().getAttribute(io.opentelemetry.api.common.AttributeKey.stringKey("service.name"))).isEqualTo("web");
    // The application's span is the parent; the next hop gets jmesh's span.
    assertThat(s.getTraceId()).isEqualTo(TRACE);
    assertThat(s.getParentSpanId()).isEqualTo(APP_SPAN);
    assertThat(span.traceparent()).isEqualTo("00-" + TRACE + "-" + s.getSpanId() + "-01");
    assertThat(s.getEndEpochNanos() - s.getStartEpochNanos()).isEqualTo(Duration.ofMillis(50).toNanos());
    assertThat(s.getAttributes().get(ClientSpan.STATUS)).isEqualTo(200L);
    assertThat(s.getAttributes().get(ClientSpan.RESEND_COUNT)).isEqualTo(1L);
    assertThat(s.getAttributes().get(Tracing.URL_FULL)).isEqualTo("http://hello:8080/x");
    assertThat(s.getAttributes().get(Tracing.DESTINATION)).isEqualTo("hello.default");
    assertThat(s.getStatus().getStatusCode()).isEqualTo(StatusCode.UNSET);
    assertThat(s.getEvents()).extracting(EventData::getName).containsExactly("jmesh.attempt", "jmesh.attempt");
    EventData first = s.getEvents().get(0);
    assertThat(first.getAttributes().get(ClientSpan.ERROR_TYPE)).isEqualTo("java.io.IOException");
    assertThat(first.getAttributes().get(ClientSpan.PEER_ADDRESS)).isEqualTo("127.0.0.2");
    assertThat(s.getEvents().get(1).getAttributes().get(ClientSpan.STATUS)).isEqualTo(200L);
    assertThat(first.getEpochNanos() - s.getStartEpochNanos()).isEqualTo(Duration.ofMillis(20).toNanos());
  }

  @Test
  void withoutACallerContextAClientSpanStartsATrace() {
    ClientSpan span = client(null);
    span.attempt("127.0.0.2", 1, 503, null, 1);
    span.end();

    SpanData s = exported.getFinishedSpanItems().get(0);
    assertThat(s.getParentSpanContext().isValid()).isFalse();
    assertThat(s.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
    // Sampled (01), and the SDK also marks its root trace ids as random (02, W3C level 2).
    assertThat(span.headers()).containsExactly("traceparent", "00-" + s.getTraceId() + "-" + s.getSpanId() + "-03");
  }

  @Test
  void aB3CallerGetsB3BackInTheSameForm() {
    ClientSpan span = client(headers("b3", TRACE + "-" + APP_SPAN + "-1"));
    span.end();

    SpanData s = exported.getFinishedSpanItems().get(0);
    assertThat(s.getParentSpanId()).isEqualTo(APP_SPAN);
    assertThat(span.headers()).contains("b3", TRACE + "-" + s.getSpanId() + "-1-" + APP_SPAN);
  }

  @Test
  void aCallerThatDidNotSampleIsRespected() {
    ClientSpan span = client(headers("traceparent", "00-" + TRACE + "-" + APP_SPAN + "-00"));
    span.end();

    assertThat(exported.getFinishedSpanItems()).isEmpty();
    // The next hop still continues the caller's trace, unsampled.
    assertThat(span.traceparent()).startsWith("00-" + TRACE + "-").endsWith("-00");
  }

  @Test
  void aServerSpanIsTheCallersChildAndTheApplicationsParent() {
    ServerSpan span =
        tracing.startServer(
            headers("traceparent", "00-" + TRACE + "-" + APP_SPAN + "-01"),
            "POST", "/orders?id=7", "https", "2", "127.0.0.9", 4143,
            "spiffe://cluster.local/ns/default/sa/web");
    Map<String, String> forwarded = new HashMap<>();
    span.inject(forwarded::put);
    ticker.advance(Duration.ofMillis(5));
    span.end(502, null);
    span.end(200, null); // only the first end counts

    SpanData s = exported.getFinishedSpanItems().get(0);
    assertThat(s.getKind()).isEqualTo(SpanKind.SERVER);
    assertThat(s.getParentSpanId()).isEqualTo(APP_SPAN);
    assertThat(forwarded).containsEntry("traceparent", "00-" + TRACE + "-" + s.getSpanId() + "-01");
    assertThat(s.getAttributes().get(Tracing.CLIENT_ID)).isEqualTo("spiffe://cluster.local/ns/default/sa/web");
    assertThat(s.getAttributes().get(Tracing.URL_PATH)).isEqualTo("/orders");
    assertThat(s.getAttributes().get(Tracing.URL_QUERY)).isEqualTo("id=7");
    assertThat(s.getAttributes().get(ClientSpan.STATUS)).isEqualTo(502L);
    assertThat(s.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
    assertThat(s.getEndEpochNanos() - s.getStartEpochNanos()).isEqualTo(Duration.ofMillis(5).toNanos());
  }

  @Test
  void offMeansNoSpans() {
    assertThat(Tracing.disabled().enabled()).isFalse();
    assertThat(Tracing.start(TraceSettings.from(k -> null, k -> null, "web"), ticker).enabled()).isFalse();
  }
}
