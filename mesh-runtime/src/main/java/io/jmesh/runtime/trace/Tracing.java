package io.jmesh.runtime.trace;

import io.jmesh.runtime.RuntimeLog;
import io.jmesh.runtime.time.Ticker;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.SpanProcessor;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * jmesh's tracer: makes the client span of each outbound call and the server span of each inbound
 * request, on an OpenTelemetry SDK tracer provider of its own, built from {@link TraceSettings}.
 * The provider is never registered as {@code GlobalOpenTelemetry} and spans are never made current
 * in {@code Context}: the application's own OpenTelemetry (its SDK, or the OpenTelemetry Java
 * agent) is never touched, and jmesh joins its traces through request headers only.
 *
 * <p>When tracing is off ({@link #enabled()} false), callers make no span at all and leave the
 * request's trace headers as they are, so the application's trace passes through jmesh unchanged
 * (jmesh is simply not in it).
 *
 * <p>Thread-safety: every method may be called from any thread.
 */
public final class Tracing implements AutoCloseable {
  static final String SCOPE = "io.jmesh";
  static final AttributeKey<String> URL_FULL = AttributeKey.stringKey("url.full");
  static final AttributeKey<String> URL_PATH = AttributeKey.stringKey("url.path");
  static final AttributeKey<String> URL_QUERY = AttributeKey.stringKey("url.query");
  static final AttributeKey<String> URL_SCHEME = AttributeKey.stringKey("url.scheme");
  static final AttributeKey<String> SERVER_ADDRESS = AttributeKey.stringKey("server.address");
  static final AttributeKey<Long> SERVER_PORT = AttributeKey.longKey("server.port");
  static final AttributeKey<String> CLIENT_ADDRESS = AttributeKey.stringKey("client.address");
  static final AttributeKey<String> PROTOCOL_VERSION = AttributeKey.stringKey("network.protocol.version");
  static final AttributeKey<String> DESTINATION = AttributeKey.stringKey("jmesh.destination");
  static final AttributeKey<String> ROUTE = AttributeKey.stringKey("jmesh.route");
  /** The caller's SPIFFE identity, as proven by mesh TLS (the header {@code x-jmesh-client-id}). */
  static final AttributeKey<String> CLIENT_ID = AttributeKey.stringKey("jmesh.client.id");

  private static final Tracing DISABLED = new Tracing(null, null, TraceHeaders.B3Style.NONE);

  private final SdkTracerProvider provider; // null when off
  private final Tracer tracer;
  private final TraceHeaders.B3Style b3;

  private Tracing(SdkTracerProvider provider, Tracer tracer, TraceHeaders.B3Style b3) {
    this.provider = provider;
    this.tracer = tracer;
    this.b3 = b3;
  }

  /** Tracing off: {@link #enabled()} is false. */
  public static Tracing disabled() {
    return DISABLED;
  }

  /**
   * Tracing as {@code settings} say: off when they say so, otherwise batches exported over
   * OTLP/gRPC to their endpoint. Logs each of the settings' problems once.
   */
  public static Tracing start(TraceSettings settings, Ticker ticker) {
    settings.problems().forEach(p -> RuntimeLog.log(Level.WARNING, "traces: " + p));
    if (!settings.enabled()) {
      return DISABLED;
    }
    OtlpGrpcSpanExporter exporter = new OtlpGrpcSpanExporter(settings.endpoint(), settings.headers(), settings.timeout());
    SpanProcessor batches =
        BatchSpanProcessor.builder(exporter)
            .setScheduleDelay(settings.scheduleDelay().toNanos(), TimeUnit.NANOSECONDS)
            .setExporterTimeout(settings.timeout().toNanos(), TimeUnit.NANOSECONDS)
            .build();
    RuntimeLog.log(
        Level.INFO,
        "traces: exporting over OTLP/gRPC to " + settings.endpoint() + " as service.name="
            + settings.serviceName() + ", sampler " + settings.sampler());
    return create(settings, batches, ticker);
  }

  /**
   * Tracing with every finished span handed to {@code processor} (tests use a {@code
   * SimpleSpanProcessor} over an in-memory exporter), even when {@code settings} say off.
   */
  public static Tracing create(TraceSettings settings, SpanProcessor processor, Ticker ticker) {
    AttributesBuilder resource = Attributes.builder().put(AttributeKey.stringKey("service.name"), settings.serviceName());
    settings.resourceAttributes().forEach((k, v) -> resource.put(AttributeKey.stringKey(k), v));
    SdkTracerProvider provider =
        SdkTracerProvider.builder()
            .setResource(Resource.getDefault().merge(Resource.create(resource.build())))
            .setSampler(sampler(settings))
            .setClock(new TickerClock(ticker, System.currentTimeMillis() * 1_000_000L))
            .addSpanProcessor(processor)
            .build();
    return new Tracing(provider, provider.tracerBuilder(SCOPE).build(), settings.b3());
  }

  static Sampler sampler(TraceSettings settings) {
    double r = settings.samplerArg();
    return switch (settings.sampler()) {
      case "always_on" -> Sampler.alwaysOn();
      case "always_off" -> Sampler.alwaysOff();
      case "traceidratio" -> Sampler.traceIdRatioBased(r);
      case "parentbased_always_off" -> Sampler.parentBased(Sampler.alwaysOff());
      case "parentbased_traceidratio" -> Sampler.parentBased(Sampler.traceIdRatioBased(r));
      default -> Sampler.parentBased(Sampler.alwaysOn());
    };
  }

  /** Whether spans are made; when false, callers make none and leave trace headers alone. */
  public boolean enabled() {
    return provider != null;
  }

  /**
   * Starts the span of an outbound call, a child of the trace context the application's request
   * carries ({@code traceparent}, or B3), or the root of a new trace.
   *
   * @param headers the application's request headers: a case-insensitive lookup of a header's
   *     first value; may be {@code null}
   * @throws IllegalStateException when tracing is off
   */
  public ClientSpan startClient(
      String destination,
      String route,
      String scheme,
      String authority,
      int port,
      String method,
      String path,
      Function<String, String> headers) {
    requireEnabled();
    TraceHeaders.Incoming in = TraceHeaders.read(headers);
    String host = authority;
    int colon = authority.lastIndexOf(':');
    if (colon > 0 && authority.indexOf(']') < colon) {
      host = authority.substring(0, colon);
    }
    SpanBuilder b =
        tracer
            .spanBuilder(method)
            .setSpanKind(SpanKind.CLIENT)
            .setParent(parent(in))
            .setAttribute(ClientSpan.METHOD, method)
            .setAttribute(URL_FULL, scheme + "://" + authority + path)
            .setAttribute(SERVER_ADDRESS, host)
            .setAttribute(SERVER_PORT, (long) port)
            .setAttribute(DESTINATION, destination);
    if (route != null) {
      b.setAttribute(ROUTE, route);
    }
    Span span = b.startSpan();
    return new ClientSpan(span, in.parent().isValid() ? in.parent().getSpanId() : null, b3.plus(in.b3()));
  }

  /**
   * Starts the span of an inbound request, a child of the caller's context.
   *
   * @param target the request target: path and query
   * @param protocolVersion {@code 1.1} or {@code 2}
   * @param callerId the caller's SPIFFE identity, {@code null} for a plaintext caller
   * @throws IllegalStateException when tracing is off
   */
  public ServerSpan startServer(
      Function<String, String> headers,
      String method,
      String target,
      String scheme,
      String protocolVersion,
      String peerAddress,
      int listenPort,
      String callerId) {
    requireEnabled();
    TraceHeaders.Incoming in = TraceHeaders.read(headers);
    int q = target.indexOf('?');
    SpanBuilder b =
        tracer
            .spanBuilder(method)
            .setSpanKind(SpanKind.SERVER)
            .setParent(parent(in))
            .setAttribute(ClientSpan.METHOD, method)
            .setAttribute(URL_PATH, q < 0 ? target : target.substring(0, q))
            .setAttribute(URL_SCHEME, scheme)
            .setAttribute(PROTOCOL_VERSION, protocolVersion)
            .setAttribute(SERVER_PORT, (long) listenPort);
    if (q >= 0) {
      b.setAttribute(URL_QUERY, target.substring(q + 1));
    }
    if (peerAddress != null) {
      b.setAttribute(CLIENT_ADDRESS, peerAddress);
      b.setAttribute(ClientSpan.PEER_ADDRESS, peerAddress);
    }
    if (callerId != null) {
      b.setAttribute(CLIENT_ID, callerId);
    }
    return new ServerSpan(b.startSpan(), in.parent().isValid() ? in.parent().getSpanId() : null, b3.plus(in.b3()));
  }

  private static Context parent(TraceHeaders.Incoming in) {
    // Context.root(), never Context.current(): the application's context is none of jmesh's business
    // (it may belong to another OpenTelemetry); the headers say who the parent is.
    return in.parent().isValid() ? Context.root().with(Span.wrap(in.parent())) : Context.root();
  }

  private void requireEnabled() {
    if (provider == null) {
      throw new IllegalStateException("tracing is off (expected: enabled() before starting a span)");
    }
  }

  /** Exports what is pending, waiting at most {@code timeout}. */
  public void flush(Duration timeout) {
    if (provider != null) {
      provider.forceFlush().join(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }
  }

  /** Exports what is pending (at most 5 s) and stops. Idempotent. */
  @Override
  public void close() {
    if (provider != null) {
      provider.shutdown().join(5, TimeUnit.SECONDS);
    }
  }
}
