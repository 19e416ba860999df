package io.jmesh.runtime.trace;

import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.MoreExecutors;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.jmesh.runtime.RuntimeLog;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.ArrayValue;
import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.opentelemetry.proto.trace.v1.Status;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.common.InstrumentationScopeInfo;
import io.opentelemetry.sdk.trace.data.EventData;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.lang.System.Logger.Level;
import java.net.URI;
import java.time.Duration;
import java.util.Collection;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Exports spans to an OTLP/gRPC collector over jmesh's own (shaded) gRPC and Netty, which neither
 * jmesh's instrumentation nor an OpenTelemetry Java agent in the same JVM sees: the export is never
 * meshed and never traced. OpenTelemetry's own OTLP exporter is not used because its default
 * sender is OkHttp, which jmesh instruments.
 *
 * <p>Thread-safety: called by the batch span processor's one worker thread; {@link #shutdown()}
 * may come from any thread.
 */
final class OtlpGrpcSpanExporter implements SpanExporter {
  private static final HexFormat HEX = HexFormat.of();

  private final ManagedChannel channel;
  private final TraceServiceGrpc.TraceServiceFutureStub stub;
  private final Duration timeout;
  private final String target;
  private final AtomicBoolean failureLogged = new AtomicBoolean();

  OtlpGrpcSpanExporter(URI endpoint, Map<String, String> headers, Duration timeout) {
    boolean tls = "https".equals(endpoint.getScheme());
    int port = endpoint.getPort() >= 0 ? endpoint.getPort() : tls ? 443 : 4317;
    this.target = endpoint.getHost() + ":" + port;
    NettyChannelBuilder b = NettyChannelBuilder.forAddress(endpoint.getHost(), port);
    if (!tls) {
      b.usePlaintext();
    }
    this.channel = b.build();
    Metadata metadata = new Metadata();
    headers.forEach((k, v) -> metadata.put(Metadata.Key.of(k.toLowerCase(java.util.Locale.ROOT), Metadata.ASCII_STRING_MARSHALLER), v));
    this.stub =
        TraceServiceGrpc.newFutureStub(channel)
            .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(metadata));
    this.timeout = timeout;
  }

  @Override
  public CompletableResultCode export(Collection<SpanData> spans) {
    CompletableResultCode result = new CompletableResultCode();
    Futures.addCallback(
        stub.withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS).export(request(spans)),
        new FutureCallback<ExportTraceServiceResponse>() {
          @Override
          public void onSuccess(ExportTraceServiceResponse response) {
            failureLogged.set(false);
            result.succeed();
          }

          @Override
          public void onFailure(Throwable t) {
            // Once per outage: a collector that is down must not flood the application's log.
            if (failureLogged.compareAndSet(false, true)) {
              RuntimeLog.log(
                  Level.WARNING,
                  "traces: export of " + spans.size() + " spans to " + target + " failed: " + t
                      + " (logged once until an export succeeds; spans are dropped meanwhile)");
            }
            result.fail();
          }
        },
        MoreExecutors.directExecutor());
    return result;
  }

  @Override
  public CompletableResultCode flush() {
    return CompletableResultCode.ofSuccess();
  }

  @Override
  public CompletableResultCode shutdown() {
    channel.shutdown();
    return CompletableResultCode.ofSuccess();
  }

  /** One request: spans grouped by resource, then by instrumentation scope, as OTLP asks. */
  static ExportTraceServiceRequest request(Collection<SpanData> spans) {
    Map<io.opentelemetry.sdk.resources.Resource, Map<InstrumentationScopeInfo, ScopeSpans.Builder>> grouped =
        new LinkedHashMap<>();
    for (SpanData s : spans) {
      grouped
          .computeIfAbsent(s.getResource(), r -> new LinkedHashMap<>())
          .computeIfAbsent(s.getInstrumentationScopeInfo(), OtlpGrpcSpanExporter::scope)
          .addSpans(span(s));
    }
    ExportTraceServiceRequest.Builder request = ExportTraceServiceRequest.newBuilder();
    grouped.forEach(
        (resource, scopes) -> {
          ResourceSpans.Builder rs =
              ResourceSpans.newBuilder()
                  .setResource(Resource.newBuilder().addAllAttributes(attributes(resource.getAttributes())));
          if (resource.getSchemaUrl() != null) {
            rs.setSchemaUrl(resource.getSchemaUrl());
          }
          scopes.values().forEach(rs::addScopeSpans);
          request.addResourceSpans(rs);
        });
    return request.build();
  }

  private static ScopeSpans.Builder scope(InstrumentationScopeInfo info) {
    InstrumentationScope.Builder scope = InstrumentationScope.newBuilder().setName(info.getName());
    if (info.getVersion() != null) {
      scope.setVersion(info.getVersion());
    }
    ScopeSpans.Builder b = ScopeSpans.newBuilder().setScope(scope);
    if (info.getSchemaUrl() != null) {
      b.setSchemaUrl(info.getSchemaUrl());
    }
    return b;
  }

  static Span span(SpanData s) {
    Span.Builder b =
        Span.newBuilder()
            .setTraceId(ByteString.copyFrom(HEX.parseHex(s.getTraceId())))
            .setSpanId(ByteString.copyFrom(HEX.parseHex(s.getSpanId())))
            .setFlags(s.getSpanContext().getTraceFlags().asByte() & 0xff)
            .setName(s.getName())
            .setKind(kind(s.getKind()))
            .setStartTimeUnixNano(s.getStartEpochNanos())
            .setEndTimeUnixNano(s.getEndEpochNanos())
            .addAllAttributes(attributes(s.getAttributes()))
            .setDroppedAttributesCount(s.getTotalAttributeCount() - s.getAttributes().size())
            .setDroppedEventsCount(s.getTotalRecordedEvents() - s.getEvents().size());
    if (s.getParentSpanContext().isValid()) {
      b.setParentSpanId(ByteString.copyFrom(HEX.parseHex(s.getParentSpanId())));
    }
    if (!s.getSpanContext().getTraceState().isEmpty()) {
      StringBuilder state = new StringBuilder();
      s.getSpanContext().getTraceState().forEach((k, v) -> state.append(state.length() == 0 ? "" : ",").append(k).append('=').append(v));
      b.setTraceState(state.toString());
    }
    for (EventData e : s.getEvents()) {
      b.addEvents(
          Span.Event.newBuilder()
              .setName(e.getName())
              .setTimeUnixNano(e.getEpochNanos())
              .addAllAttributes(attributes(e.getAttributes())));
    }
    Status.Builder status = Status.newBuilder();
    switch (s.getStatus().getStatusCode()) {
      case OK -> status.setCode(Status.StatusCode.STATUS_CODE_OK);
      case ERROR -> status.setCode(Status.StatusCode.STATUS_CODE_ERROR);
      default -> status.setCode(Status.StatusCode.STATUS_CODE_UNSET);
    }
    if (!s.getStatus().getDescription().isEmpty()) {
      status.setMessage(s.getStatus().getDescription());
    }
    return b.setStatus(status).build();
  }

  private static Span.SpanKind kind(io.opentelemetry.api.trace.SpanKind kind) {
    return switch (kind) {
      case CLIENT -> Span.SpanKind.SPAN_KIND_CLIENT;
      case SERVER -> Span.SpanKind.SPAN_KIND_SERVER;
      case PRODUCER -> Span.SpanKind.SPAN_KIND_PRODUCER;
      case CONSUMER -> Span.SpanKind.SPAN_KIND_CONSUMER;
      case INTERNAL -> Span.SpanKind.SPAN_KIND_INTERNAL;
    };
  }

  static List<KeyValue> attributes(Attributes attributes) {
    List<KeyValue> out = new java.util.ArrayList<>(attributes.size());
    attributes.forEach((k, v) -> out.add(KeyValue.newBuilder().setKey(k.getKey()).setValue(value(k, v)).build()));
    return out;
  }

  private static AnyValue value(AttributeKey<?> key, Object v) {
    return switch (key.getType()) {
      case STRING -> AnyValue.newBuilder().setStringValue((String) v).build();
      case BOOLEAN -> AnyValue.newBuilder().setBoolValue((Boolean) v).build();
      case LONG -> AnyValue.newBuilder().setIntValue((Long) v).build();
      case DOUBLE -> AnyValue.newBuilder().setDoubleValue((Double) v).build();
      case STRING_ARRAY, BOOLEAN_ARRAY, LONG_ARRAY, DOUBLE_ARRAY -> {
        ArrayValue.Builder a = ArrayValue.newBuilder();
        for (Object item : (List<?>) v) {
          a.addValues(
              item instanceof String str ? AnyValue.newBuilder().setStringValue(str).build()
                  : item instanceof Boolean bool ? AnyValue.newBuilder().setBoolValue(bool).build()
                  : item instanceof Long l ? AnyValue.newBuilder().setIntValue(l).build()
                  : AnyValue.newBuilder().setDoubleValue(((Number) item).doubleValue()).build());
        }
        yield AnyValue.newBuilder().setArrayValue(a).build();
      }
      default -> AnyValue.newBuilder().setStringValue(String.valueOf(v)).build();
    };
  }
}
