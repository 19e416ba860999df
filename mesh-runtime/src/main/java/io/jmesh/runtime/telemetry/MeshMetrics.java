package io.jmesh.runtime.telemetry;

import io.jmesh.runtime.identity.MeshTls;
import io.jmesh.runtime.identity.TlsRefusals;
import io.jmesh.runtime.identity.WorkloadCertificate;
import io.jmesh.runtime.time.Ticker;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The golden metrics of one runtime, recorded into a Micrometer {@link MeterRegistry} that the
 * caller owns (the agent's is a Prometheus registry; see agent/README.md, "Admin endpoint and
 * metrics", for every name and label). Names and attributes follow the OpenTelemetry semantic
 * conventions for HTTP ({@value #CLIENT_DURATION}, {@value #SERVER_DURATION}, {@code
 * http.request.method}, {@code http.response.status_code}, {@code error.type}, {@code
 * server.address}); mesh attributes carry the {@code jmesh.} prefix.
 *
 * <p>Cardinality is bounded: no path or id is ever a label, methods outside the standard set
 * become {@code _OTHER}, and each meter family holds at most {@link #MAX_SERIES} label
 * combinations per destination (or per local service inbound); beyond that, route, address and
 * peer collapse to {@code _OTHER}.
 *
 * <p>Thread-safety: every method may be called from any thread. Meters are looked up once per
 * label combination and cached, so recording a call costs a hash lookup and the meter update.
 */
public final class MeshMetrics {
  /** Outbound call duration, seconds, one sample per call (all its attempts). */
  public static final String CLIENT_DURATION = "http.client.request.duration";
  /** Inbound request duration at the mesh listener, seconds. */
  public static final String SERVER_DURATION = "http.server.request.duration";

  /**
   * Outbound gRPC call duration, seconds, one sample per RPC (all its attempts), beside {@value
   * #CLIENT_DURATION}: OpenTelemetry's RPC conventions as of v1.37 (the ones OpenTelemetry's Java
   * agent emits by default), in seconds as the HTTP durations.
   */
  public static final String RPC_CLIENT_DURATION = "rpc.client.duration";
  /** Inbound gRPC call duration at the mesh listener, seconds, beside {@value #SERVER_DURATION}. */
  public static final String RPC_SERVER_DURATION = "rpc.server.duration";

  static final String CLIENT_ACTIVE = "http.client.active_requests";
  static final String SERVER_ACTIVE = "http.server.active_requests";
  static final String RETRIES = "jmesh.client.retries";
  static final String BUDGET_EXHAUSTED = "jmesh.client.retry.budget.exhausted";
  static final String EJECTIONS = "jmesh.client.endpoint.ejections";
  /** Mirrored copies by {@code outcome}: see {@link ClientMeters#mirrored}. */
  public static final String MIRRORS = "jmesh.client.mirror.requests";
  static final String EJECTED = "jmesh.client.endpoints.ejected";
  static final String AUTHZ_DENIED = "jmesh.server.authorization.denied";
  static final String AUTHZ_AUDITED = "jmesh.server.authorization.audited";
  static final String SERVER_CONNECTIONS = "jmesh.server.connections";
  static final String SERVER_REFUSALS = "jmesh.server.refusals";
  static final String TLS_REFUSALS = "jmesh.tls.refusals";
  static final String CERT_EXPIRATION = "jmesh.identity.certificate.expiration.timestamp";
  static final String CONFIG_INFO = "jmesh.config.info";
  static final String CONFIG_UPDATES = "jmesh.config.updates";

  // Mesh attributes.
  static final String SOURCE = "jmesh.source.service";
  static final String DESTINATION = "jmesh.destination.service";
  static final String ROUTE = "jmesh.route";
  static final String PEER = "jmesh.peer.identity";
  // OpenTelemetry HTTP attributes.
  static final String METHOD = "http.request.method";
  static final String STATUS = "http.response.status_code";
  static final String ERROR_TYPE = "error.type";
  static final String SERVER_ADDRESS = "server.address";
  // OpenTelemetry RPC attributes (semantic conventions v1.37, gRPC).
  static final String RPC_SYSTEM = "rpc.system";
  static final String RPC_SERVICE = "rpc.service";
  static final String RPC_METHOD = "rpc.method";
  static final String RPC_GRPC_STATUS = "rpc.grpc.status_code";

  /** The value of a label that is unknown, absent, or beyond the cardinality cap. */
  public static final String OTHER = "_OTHER";
  /**
   * The value of {@code error.type} and {@code http.response.status_code} when there is none.
   * Prometheus needs every series of a metric to carry the same labels, and an empty value reads
   * as an absent label in PromQL ({@code error_type=""} selects the successes).
   */
  static final String NONE = "";

  /** Label combinations kept per meter family and destination before labels collapse. */
  public static final int MAX_SERIES = 1000;

  /**
   * The histogram buckets of both durations, in seconds: OpenTelemetry's default boundaries for
   * HTTP durations, so that dashboards written for OTel work and {@code _bucket} series exist.
   */
  public static final List<Duration> BUCKETS =
      List.of(
          Duration.ofMillis(5),
          Duration.ofMillis(10),
          Duration.ofMillis(25),
          Duration.ofMillis(50),
          Duration.ofMillis(75),
          Duration.ofMillis(100),
          Duration.ofMillis(250),
          Duration.ofMillis(500),
          Duration.ofMillis(750),
          Duration.ofSeconds(1),
          Duration.ofMillis(2500),
          Duration.ofSeconds(5),
          Duration.ofMillis(7500),
          Duration.ofSeconds(10));

  private static final Duration[] BUCKET_ARRAY = BUCKETS.toArray(new Duration[0]);
  private static final String[] STATUS_TEXT = new String[600];

  static {
    for (int i = 100; i < STATUS_TEXT.length; i++) {
      STATUS_TEXT[i] = Integer.toString(i);
    }
  }

  private final MeterRegistry registry;
  private final String localService;
  private final ConcurrentHashMap<String, ClientMeters> clients = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, ServerMeters> servers = new ConcurrentHashMap<>();
  private final MultiGauge configInfo;
  private final Counter configUpdates;
  private final MeshTap tap;
  private volatile MeshTls identity; // the latest bindIdentity
  private final java.util.concurrent.atomic.AtomicBoolean identityMetersRegistered =
      new java.util.concurrent.atomic.AtomicBoolean();
  private final java.util.Set<String> expiryIds = ConcurrentHashMap.newKeySet();

  /**
   * @param registry where meters go; shared with whoever else the caller lets use it
   * @param localService this workload's qualified service ({@code client.default}), the {@value
   *     #SOURCE} of outbound calls; empty or null when unknown ({@code unknown})
   */
  public MeshMetrics(MeterRegistry registry, String localService) {
    this(registry, localService, Ticker.system());
  }

  /**
   * As {@link #MeshMetrics(MeterRegistry, String)}, with the {@link #tap() tap}'s events stamped
   * on {@code ticker} (the runtime's; a {@code FakeTicker} in tests) from the wall-clock time now.
   */
  public MeshMetrics(MeterRegistry registry, String localService, Ticker ticker) {
    this.registry = Objects.requireNonNull(registry, "registry");
    // The one wall-clock reading: the ticker moves the tap's stamps on from here.
    this.tap = new MeshTap(Objects.requireNonNull(ticker, "ticker"), System.currentTimeMillis());
    this.localService = localService == null || localService.isEmpty() ? "unknown" : localService;
    this.configInfo =
        MultiGauge.builder(CONFIG_INFO)
            .description("The mesh config snapshot in force: 1, labelled with its version")
            .register(registry);
    this.configUpdates =
        Counter.builder(CONFIG_UPDATES)
            .description("Mesh config snapshots put in force")
            .register(registry);
  }

  /** Metrics that go nowhere: for a runtime built without a registry. Cheap. */
  public static MeshMetrics noop() {
    return new MeshMetrics(new CompositeMeterRegistry(), "");
  }

  public MeterRegistry registry() {
    return registry;
  }

  /** Live copies of finished calls, for the admin endpoint's {@code /tap}. */
  public MeshTap tap() {
    return tap;
  }

  /** The {@value #SOURCE} of every outbound series. */
  public String localService() {
    return localService;
  }

  /** The meters of outbound calls to {@code destination} (a qualified service name). */
  public ClientMeters client(String destination) {
    return clients.computeIfAbsent(destination, d -> new ClientMeters(this, d));
  }

  /** The meters of inbound requests to this workload as {@code service} (its qualified name). */
  public ServerMeters server(String service) {
    return servers.computeIfAbsent(service, s -> new ServerMeters(this, s));
  }

  /** Records that {@code version} is now the snapshot in force. */
  public void configApplied(String version) {
    configInfo.register(
        List.of(MultiGauge.Row.of(Tags.of("version", version), 1)), true /* drop the old version */);
    configUpdates.increment();
  }

  /**
   * Exposes the refused handshakes of {@code tls} ({@value #TLS_REFUSALS}, by {@code reason}) and
   * the expiry of its current certificate ({@value #CERT_EXPIRATION}, Unix seconds; NaN while
   * there is none). The latest binding wins: a runtime that replaces another on the same metrics
   * (tests do) rebinds the meters, which are registered once, rather than registering them again
   * (Micrometer would ignore that, and the meters would go on reading the first identity). The
   * refusal counters then restart from the new identity's counts (a counter reset); an earlier
   * identity's expiry series reads NaN.
   */
  public void bindIdentity(MeshTls tls) {
    identity = Objects.requireNonNull(tls, "tls");
    if (identityMetersRegistered.compareAndSet(false, true)) {
      for (TlsRefusals.Reason reason : TlsRefusals.Reason.values()) {
        FunctionCounter.builder(TLS_REFUSALS, this, m -> m.tlsRefusals(reason))
            .description("Mesh TLS handshakes refused (fail closed), by reason")
            .tag("reason", reason.name().toLowerCase(Locale.ROOT))
            .register(registry);
      }
    }
    String id = tls.identity().id().toString();
    if (expiryIds.add(id)) {
      Gauge.builder(CERT_EXPIRATION, this, m -> m.certificateExpiry(id))
          .description("When this workload's mesh certificate expires, Unix time")
          .baseUnit("seconds")
          .tag(PEER, id)
          .register(registry);
    }
  }

  private double tlsRefusals(TlsRefusals.Reason reason) {
    MeshTls t = identity;
    return t == null ? 0 : t.refusals().count(reason);
  }

  private double certificateExpiry(String id) {
    MeshTls t = identity;
    if (t == null || !t.identity().id().toString().equals(id)) {
      return Double.NaN;
    }
    WorkloadCertificate c = t.identity().current();
    return c == null ? Double.NaN : c.notAfter().getEpochSecond();
  }

  Timer.Builder durationTimer(String name, String description) {
    return Timer.builder(name)
        .description(description)
        .serviceLevelObjectives(BUCKET_ARRAY)
        // Explicit buckets only: Micrometer's percentile histogram would add 70 more.
        .publishPercentileHistogram(false);
  }

  /**
   * A duration histogram of gRPC calls with the attributes of OpenTelemetry's RPC conventions
   * that both sides share ({@code rpc.system}, {@code rpc.service}, {@code rpc.method} from
   * {@code path}, {@code rpc.grpc.status_code}); the caller adds its side's own.
   */
  Timer.Builder rpcDurationTimer(String name, String description, String path, int grpcStatus) {
    String[] names = rpcNames(path);
    return durationTimer(name, description)
        .tag(RPC_SYSTEM, "grpc")
        .tag(RPC_SERVICE, names[0])
        .tag(RPC_METHOD, names[1])
        .tag(RPC_GRPC_STATUS, grpcStatus(grpcStatus));
  }

  /**
   * The OpenTelemetry name of {@code method}: one of the standard methods, else {@value #OTHER}
   * (semantic conventions, {@code http.request.method}), so that a client sending arbitrary
   * methods cannot create series.
   */
  public static String method(String method) {
    if (method == null) {
      return OTHER;
    }
    switch (method) {
      case "GET":
      case "POST":
      case "PUT":
      case "DELETE":
      case "HEAD":
      case "OPTIONS":
      case "PATCH":
      case "CONNECT":
      case "TRACE":
        return method;
      default:
        return OTHER;
    }
  }

  private static final String[] GRPC_STATUS_TEXT = new String[17];

  static {
    for (int i = 0; i < GRPC_STATUS_TEXT.length; i++) {
      GRPC_STATUS_TEXT[i] = Integer.toString(i);
    }
  }

  /** A gRPC status code as a label: its digits for 0..16, otherwise {@value #OTHER}. */
  static String grpcStatus(int code) {
    return code >= 0 && code < GRPC_STATUS_TEXT.length ? GRPC_STATUS_TEXT[code] : OTHER;
  }

  /**
   * The {@code rpc.service} and {@code rpc.method} of a gRPC path {@code /package.Service/Method}:
   * {@code package.Service} and {@code Method}; {@value #OTHER} for both when the path has no
   * such shape.
   */
  static String[] rpcNames(String path) {
    int slash = path == null ? -1 : path.lastIndexOf('/');
    if (slash <= 1 || path.charAt(0) != '/' || slash == path.length() - 1) {
      return new String[] {OTHER, OTHER};
    }
    return new String[] {path.substring(1, slash), path.substring(slash + 1)};
  }

  /** {@code status} as a label: its digits for 100..599, otherwise {@link #NONE}. */
  static String status(int status) {
    return status >= 100 && status < STATUS_TEXT.length ? STATUS_TEXT[status] : NONE;
  }

  MeterRegistry meterRegistry() {
    return registry;
  }
}
