package io.jmesh.runtime.trace;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.jmesh.runtime.time.Ticker;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import io.opentelemetry.proto.trace.v1.Span;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The exporter against a loopback OTLP/gRPC receiver: what a collector would get. */
class OtlpGrpcSpanExporterIT {
  @Test
  void exportsSpansWithTheirIdsParentsEventsAndResource() throws Exception {
    BlockingQueue<ExportTraceServiceRequest> received = new LinkedBlockingQueue<>();
    Server server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(
                new TraceServiceGrpc.TraceServiceImplBase() {
                  @Override
                  public void export(
                      ExportTraceServiceRequest request, StreamObserver<ExportTraceServiceResponse> out) {
                    received.add(request);
                    out.onNext(ExportTraceServiceResponse.getDefaultInstance());
                    out.onCompleted();
                  }
                })
            .build()
            .start();
    try {
      TraceSettings settings =
          TraceSettings.from(
              Map.of(
                      "OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:" + server.getPort(),
                      "OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=a",
                      "OTEL_BSP_SCHEDULE_DELAY", "10")
                  ::get,
              k -> null,
              "web");
      String traceparent;
      try (Tracing tracing = Tracing.start(settings, Ticker.system())) {
        ClientSpan span =
            tracing.startClient(
                "hello.default", "split", "http", "hello:8080", 8080, "GET", "/",
                Map.of("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")::get);
        span.attempt("127.0.0.2", 18081, 200, null, 1_000_000);
        span.end();
        traceparent = span.traceparent();
      } // close() flushes

      ExportTraceServiceRequest request = received.poll(10, TimeUnit.SECONDS);
      assertThat(request).isNotNull();
      assertThat(request.getResourceSpans(0).getResource().getAttributesList())
          .anyMatch(kv -> kv.getKey().equals("service.name") && kv.getValue().getStringValue().equals("web"));
      assertThat(request.getResourceSpans(0).getScopeSpans(0).getScope().getName()).isEqualTo("io.jmesh");
      Span span = request.getResourceSpans(0).getScopeSpans(0).getSpans(0);
      assertThat(hex(span.getTraceId().toByteArray())).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
      assertThat(hex(span.getParentSpanId().toByteArray())).isEqualTo("00f067aa0ba902b7");
      assertThat(traceparent).contains(hex(span.getSpanId().toByteArray()));
      assertThat(span.getKind()).isEqualTo(Span.SpanKind.SPAN_KIND_CLIENT);
      assertThat(span.getEventsList()).singleElement().satisfies(e -> assertThat(e.getName()).isEqualTo("jmesh.attempt"));
      assertThat(span.getAttributesList())
          .anyMatch(kv -> kv.getKey().equals("http.response.status_code") && kv.getValue().getIntValue() == 200);
    } finally {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private static String hex(byte[] bytes) {
    return java.util.HexFormat.of().formatHex(bytes);
  }
}
