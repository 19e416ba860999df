package io.jmesh.runtime;

import io.jmesh.runtime.balance.Balancers;
import io.jmesh.runtime.balance.LoadBalancer;
import io.jmesh.runtime.config.ConfigFileWatcher;
import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.config.ReloadResult;
import io.jmesh.runtime.config.Service;
import io.jmesh.runtime.identity.MeshTls;
import io.jmesh.runtime.mirror.MirrorSender;
import io.jmesh.runtime.inbound.AuthorizationPolicy;
import io.jmesh.runtime.route.RouteTable;
import io.jmesh.runtime.route.Router;
import io.jmesh.runtime.telemetry.MeshMetrics;
import io.jmesh.runtime.time.Ticker;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.HashMap;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.random.RandomGenerator;
import javax.net.ssl.SSLContext;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The data plane of one JVM: holds the mesh snapshot in force and routes outbound requests.
 *
 * <p>Thread-safety: every method may be called from any thread. {@link #route} takes no lock; the
 * snapshot is immutable and swapped atomically.
 */
public final class MeshRuntime implements AutoCloseable {

  /**
   * Options of one runtime; see agent/README.md for how the agent fills them.
   *
   * @param namespace the workload's own namespace: a bare service name ({@code hello}) resolves
   *     in it, and file-mode services without a namespace belong to it
   * @param clusterDomain the DNS suffix of fully qualified service names
   */
  public record Options(String namespace, String clusterDomain) {
    public Options {
      Objects.requireNonNull(namespace, "namespace");
      Objects.requireNonNull(clusterDomain, "clusterDomain");
    }

    public static Options defaults() {
      return new Options("default", "cluster.local");
    }
  }

  private final Router router;
  private final ConfigFileWatcher watcher; // null unless in file mode
  private final Discovery discovery; // null unless in discovery (xDS) mode
  private final FirstUseGate firstUse; // null unless in discovery (xDS) mode
  private final MeshTls meshTls; // null: no mesh identity, mesh TLS is off
  private final DestinationTls destinationTls;
  private final MeshMetrics metrics;
  private final MirrorSender mirrors;
  // Told after every update; clients that cache endpoints (gRPC channels) re-read them.
  private final Set<Runnable> updateListeners = new CopyOnWriteArraySet<>();
  private volatile RouteTable table;
  // Who may call each service's workloads (inbound), by qualified name; per snapshot.
  private volatile Map<String, AuthorizationPolicy> inboundPolicies = Map.of();

  private MeshRuntime(Builder builder) {
    this.discovery = builder.discovery;
    this.meshTls = builder.meshTls;
    this.metrics = builder.metrics;
    this.destinationTls = new DestinationTls(meshTls);
    this.mirrors =
        new MirrorSender(
            builder.mirrorLimits,
            new MirrorSender.Tls() {
              @Override
              public boolean required(String destination) {
                return destinationTls.required(destination);
              }

              @Override
              public SSLContext contextFor(String destination) {
                return destinationTls.contextFor(destination);
              }
            },
            builder.ticker);
    this.firstUse =
        discovery == null
            ? null
            : new FirstUseGate(discovery, () -> table, builder.firstUseTimeout.toNanos());
    this.router =
        new Router(
            builder.options.namespace(),
            builder.options.clusterDomain(),
            builder.balancerFactory,
            builder.random,
            builder.ticker,
            firstUse,
            metrics,
            mirrors);
    this.table = router.update(builder.snapshot);
    metrics.configApplied(builder.snapshot.version());
    if (meshTls != null) {
      metrics.bindIdentity(meshTls);
    }
    destinationTls.update(builder.snapshot);
    this.inboundPolicies = inboundPolicies(builder.snapshot);
    if (builder.configFile != null) {
      this.watcher =
          new ConfigFileWatcher(builder.configFile, builder.options.namespace(), this::update);
      watcher.reloadNow();
      if (builder.scheduler != null) {
        watcher.start(builder.scheduler, builder.pollMillis);
      }
    } else {
      this.watcher = null;
    }
    if (discovery != null) {
      discovery.start(this::update);
    }
  }

  /**
   * A runtime in file mode: loads {@code configFile} now (a bad file leaves an empty snapshot
   * and logs the error) and re-reads it when it changes, polled on {@code scheduler} every
   * {@code pollMillis}.
   */
  public static MeshRuntime fileMode(
      Path configFile, Options options, ScheduledExecutorService scheduler, long pollMillis) {
    return builder()
        .options(options)
        .configFile(configFile, Objects.requireNonNull(scheduler, "scheduler"), pollMillis)
        .build();
  }

  /** A runtime with a fixed snapshot, for tests and embedding. */
  public static MeshRuntime of(MeshSnapshot snapshot, Options options) {
    return builder().options(options).snapshot(snapshot).build();
  }

  /** A builder for runtimes that need a seeded random source, a fake ticker or another balancer. */
  public static Builder builder() {
    return new Builder();
  }

  /** Whether {@code host:port} names a mesh destination in the snapshot in force. Cheap. */
  public boolean isMeshDestination(String host, int port) {
    return table.isMeshDestination(host, port);
  }

  /**
   * Routes {@code request}: returns {@code null} when its authority is no mesh destination (the
   * adapter then leaves the call untouched), otherwise the call with its route and backend.
   */
  public OutboundCall route(OutboundRequest request) {
    return table.route(request);
  }

  /**
   * For clients that decide about a destination before its first call (a gRPC channel chooses its
   * transport security when it is built): when {@code host:port} names a service that discovery
   * has declared but not yet resolved, waits as its first call would (it starts the service's
   * first-use window, or joins it; at most the first-use timeout, once per service), so that
   * {@link #requiresMeshTls(String, int)} and {@link #endpointsOf} then answer from its resources.
   * Returns at once for a resolved service, no mesh destination, or a runtime without discovery.
   */
  public void awaitFirstUse(String host, int port) {
    RouteTable t = table;
    String name = t.destinationName(host, port);
    if (name != null && firstUse != null && FirstUseGate.isUnresolved(t.snapshot(), name)) {
      firstUse.awaitResolved(name);
    }
  }

  /**
   * Every endpoint of the service {@code host:port} names, across its subsets and priorities, as
   * the snapshot in force lists them: for clients that keep their own connection per endpoint
   * (gRPC's subchannels) and must know them before the first call. {@code null} when {@code
   * host:port} is no mesh destination; empty while discovery has not resolved the service yet.
   * Lock-free; allocates.
   */
  public List<Endpoint> endpointsOf(String host, int port) {
    RouteTable t = table;
    String name = t.destinationName(host, port);
    if (name == null) {
      return null;
    }
    for (Service s : t.snapshot().services()) {
      if (s.qualifiedName().equals(name)) {
        return List.copyOf(s.endpoints());
      }
    }
    return List.of();
  }

  /** The snapshot in force. */
  public MeshSnapshot snapshot() {
    return table.snapshot();
  }

  /**
   * Puts {@code snapshot} in force, atomically for readers. Balancer state of destinations that
   * remain is kept. In file mode the next change of the file replaces it again.
   */
  public void update(MeshSnapshot snapshot) {
    Objects.requireNonNull(snapshot, "snapshot");
    synchronized (router) {
      table = router.update(snapshot);
      destinationTls.update(snapshot);
      inboundPolicies = inboundPolicies(snapshot);
      metrics.configApplied(snapshot.version());
    }
    if (firstUse != null) {
      firstUse.updated();
    }
    watchMirrors(snapshot);
    for (Runnable listener : updateListeners) {
      try {
        listener.run();
      } catch (RuntimeException | LinkageError e) {
        // One client's failure neither stops the others' nor the update, which is in force.
        RuntimeLog.log(Level.WARNING, "config update listener " + listener + " failed: " + e);
      }
    }
  }

  /**
   * Asks discovery for the mirror services of the routes of {@code snapshot} that it has not
   * resolved: no call to them waits for them on first use (copies never wait), so without this
   * their copies would find no endpoint until the application itself called them.
   */
  private void watchMirrors(MeshSnapshot snapshot) {
    if (discovery == null || snapshot.unresolved().isEmpty()) {
      return;
    }
    Set<String> unresolved = new java.util.HashSet<>();
    for (Service s : snapshot.unresolved()) {
      unresolved.add(s.qualifiedName());
    }
    for (Service s : snapshot.services()) {
      for (io.jmesh.runtime.config.Route r : s.routes()) {
        io.jmesh.runtime.config.RequestMirror mirror = r.filters().mirror();
        if (mirror != null && unresolved.contains(mirror.qualifiedName())) {
          discovery.watch(mirror.qualifiedName());
        }
      }
    }
  }

  /**
   * Runs {@code listener} after every snapshot put in force (a file reload, a controller push,
   * {@link #update}), on the thread that put it in force, after readers see it: for clients that
   * keep what they read (gRPC channels keep a subchannel per endpoint) and re-read it then. The
   * listener must not block; it is not told which destinations changed. Returns what removes it.
   */
  public Runnable addUpdateListener(Runnable listener) {
    Objects.requireNonNull(listener, "listener");
    updateListeners.add(listener);
    return () -> updateListeners.remove(listener);
  }

  /**
   * In file mode, reads the config file now and applies it if it changed; returns what happened.
   * Synchronous, for this package's tests (file mode polls the file on its own).
   *
   * @throws IllegalStateException when this runtime is not in file mode
   */
  ReloadResult reloadNow() {
    if (watcher == null) {
      throw new IllegalStateException("not in file mode: there is no config file to reload");
    }
    return watcher.reloadNow();
  }

  /**
   * The error of the last look at the config file, if it failed (a bad or missing file); empty
   * when the last look succeeded or when not in file mode.
   */
  public Optional<String> lastConfigError() {
    return watcher == null ? Optional.empty() : watcher.lastError();
  }

  /**
   * Whether attempts to {@code destination} ({@link OutboundCall#destination()}) must go over mesh
   * TLS. When this workload has no identity ({@link #meshTls()} is null) such calls must be refused,
   * never sent in plaintext.
   */
  public boolean requiresMeshTls(String destination) {
    return destinationTls.required(destination);
  }

  /**
   * The client TLS context for attempts to {@code destination}: this workload's certificate, the
   * peer checked against the identities the config names for it. Null when the destination is
   * reached in plaintext, or when this workload has no identity (see {@link #requiresMeshTls}).
   */
  public SSLContext meshTlsFor(String destination) {
    return destinationTls.contextFor(destination);
  }

  /**
   * The trust manager of {@link #meshTlsFor}'s context for the destination that {@code host:port}
   * names, as of the config in force: null when it is no mesh destination, is reached in
   * plaintext, or this workload has no identity. For clients configured with key and trust
   * managers; they ask again at each handshake, so that a change of the expected identities
   * applies to new connections.
   */
  public X509ExtendedTrustManager meshTrustFor(String host, int port) {
    return destinationTls.trustFor(table.destinationName(host, port));
  }

  /** Whether the destination that {@code host:port} names must be reached over mesh TLS. */
  public boolean requiresMeshTls(String host, int port) {
    return destinationTls.required(table.destinationName(host, port));
  }

  /**
   * Who may call this workload as service {@code qualifiedService} ({@code hello.default}): the
   * authorization policy of the snapshot in force (file mode: the service's {@code authorization}
   * in the YAML; discovery mode: its inbound listener). When the service or its policy is unknown,
   * the default, every authenticated caller, named after {@code qualifiedService}. Cheap and
   * lock-free, so the inbound listener may call it for every request, and a new policy applies at
   * once; never null.
   */
  public AuthorizationPolicy inboundPolicy(String qualifiedService) {
    AuthorizationPolicy policy = inboundPolicies.get(qualifiedService);
    return policy != null ? policy : AuthorizationPolicy.allAuthenticated(qualifiedService);
  }

  private static Map<String, AuthorizationPolicy> inboundPolicies(MeshSnapshot snapshot) {
    Map<String, AuthorizationPolicy> out = new HashMap<>();
    // Unresolved services (discovery mode, not called by this workload) have a policy too: a
    // workload serves services it never calls.
    for (List<Service> services : List.of(snapshot.unresolved(), snapshot.services())) {
      for (Service s : services) {
        out.put(s.qualifiedName(), s.authorization());
      }
    }
    return Map.copyOf(out);
  }

  /**
   * This workload's mesh TLS (its identity, the contexts that present it, the refusal counts), for
   * the inbound listener and outbound connections; {@code null} when the runtime has no identity
   * (no bootstrap token, or file mode without a CA), and mesh TLS is then off.
   */
  public MeshTls meshTls() {
    return meshTls;
  }

  /**
   * One endpoint as the data plane sees it now, for the admin endpoint.
   *
   * @param state the circuit breaker's view: {@code available}, {@code ejected}, {@code probing}
   * @param inFlight attempts in flight, as the balancer counts them
   * @param ewmaMillis the peak-EWMA latency estimate in ms; NaN for balancers that keep none
   */
  public record EndpointStatus(
      String host,
      int port,
      Map<String, String> labels,
      int priority,
      String state,
      int inFlight,
      double ewmaMillis) {}

  /**
   * Per destination (qualified name), the state of each of its endpoints now. Takes the config
   * lock briefly; for the admin endpoint, not the request path.
   */
  public Map<String, List<EndpointStatus>> endpointStatus() {
    return router.endpointStatus(table.snapshot().services());
  }

  /** Where this runtime records its metrics; {@link MeshMetrics#noop()} unless the builder set one. */
  public MeshMetrics metrics() {
    return metrics;
  }

  /**
   * Stops watching the config file, stops renewing the identity (the certificate in force stays
   * readable) and shuts the balancers down. Idempotent.
   */
  @Override
  public void close() {
    if (meshTls != null) {
      meshTls.identity().close();
    }
    if (watcher != null) {
      watcher.close();
    }
    if (discovery != null) {
      discovery.close();
    }
    router.close();
    mirrors.close();
  }

  /**
   * Copies mirrored to {@code destination} ({@code shadow.default}) in flight now; for tests and
   * the admin endpoint. Their outcomes are counted in {@link MeshMetrics#MIRRORS}.
   */
  public int mirrorsInFlight(String destination) {
    return mirrors.inFlight(destination);
  }

  /**
   * Builds a {@link MeshRuntime}. Defaults: {@link Options#defaults()}, the empty snapshot (or
   * the config file), {@link ThreadLocalRandom}, {@link Ticker#system()}, and each destination's
   * own {@code balancer} policy (peak-EWMA by default).
   */
  public static final class Builder {
    private Options options = Options.defaults();
    private MeshSnapshot snapshot = MeshSnapshot.empty();
    private Path configFile;
    private ScheduledExecutorService scheduler;
    private long pollMillis;
    // Per call, so that each thread uses its own ThreadLocalRandom.
    private RandomGenerator random = () -> ThreadLocalRandom.current().nextLong();
    private Ticker ticker = Ticker.system();
    private LoadBalancer.Factory balancerFactory; // null: each destination's policy chooses
    private Discovery discovery;
    private Duration firstUseTimeout = Duration.ofSeconds(2);
    private MeshTls meshTls;
    private MeshMetrics metrics; // null: a no-op registry, made at build()
    private MirrorSender.Limits mirrorLimits = MirrorSender.Limits.defaults();

    private Builder() {}

    /**
     * Where to record the golden metrics (outbound calls, retries, ejections, config version, and
     * the identity's certificate and TLS refusals); by default nowhere.
     */
    public Builder metrics(MeshMetrics metrics) {
      this.metrics = Objects.requireNonNull(metrics, "metrics");
      return this;
    }

    /**
     * This workload's mesh identity and TLS, built and started by the caller (the agent); the
     * runtime hands it out through {@link MeshRuntime#meshTls()} and stops its renewals when closed.
     */
    public Builder identity(MeshTls meshTls) {
      this.meshTls = Objects.requireNonNull(meshTls, "meshTls");
      return this;
    }

    /**
     * Discovery mode: snapshots come from {@code discovery} (the xDS client), which the runtime
     * starts when built and closes when closed; the first call to a service waits for its
     * resources at most {@code firstUseTimeout}.
     */
    public Builder discovery(Discovery discovery, Duration firstUseTimeout) {
      this.discovery = Objects.requireNonNull(discovery, "discovery");
      if (firstUseTimeout.isNegative()) {
        throw new IllegalArgumentException(
            "firstUseTimeout: " + firstUseTimeout + " (expected: >= 0)");
      }
      this.firstUseTimeout = firstUseTimeout;
      return this;
    }

    /** Bounds of the copies routes mirror (in flight per destination, body size, timeout). */
    public Builder mirrorLimits(MirrorSender.Limits limits) {
      this.mirrorLimits = Objects.requireNonNull(limits, "limits");
      return this;
    }

    public Builder options(Options options) {
      this.options = Objects.requireNonNull(options, "options");
      return this;
    }

    /** The initial snapshot; ignored in file mode, where the file gives it. */
    public Builder snapshot(MeshSnapshot snapshot) {
      this.snapshot = Objects.requireNonNull(snapshot, "snapshot");
      return this;
    }

    /**
     * File mode: load {@code file} when built, then poll it every {@code pollMillis} on {@code
     * scheduler}. With a {@code null} scheduler nothing polls and only {@link
     * MeshRuntime#reloadNow} reloads (for tests).
     */
    public Builder configFile(Path file, ScheduledExecutorService scheduler, long pollMillis) {
      if (scheduler != null && pollMillis <= 0) {
        throw new IllegalArgumentException("pollMillis: " + pollMillis + " (expected: > 0)");
      }
      this.configFile = Objects.requireNonNull(file, "file");
      this.scheduler = scheduler;
      this.pollMillis = pollMillis;
      return this;
    }

    /** The random source of backend splits and balancers; must be thread-safe. */
    public Builder random(RandomGenerator random) {
      this.random = Objects.requireNonNull(random, "random");
      return this;
    }

    public Builder ticker(Ticker ticker) {
      this.ticker = Objects.requireNonNull(ticker, "ticker");
      return this;
    }

    /**
     * One balancer for every destination, overriding their {@code balancer} policy; for tests
     * and benchmarks that compare balancers, for example {@link Balancers#weightedRandom()}.
     */
    public Builder balancerFactory(LoadBalancer.Factory factory) {
      this.balancerFactory = Objects.requireNonNull(factory, "factory");
      return this;
    }

    public MeshRuntime build() {
      if (discovery != null && configFile != null) {
        throw new IllegalStateException("both a config file and discovery: choose one");
      }
      if (metrics == null) {
        metrics = MeshMetrics.noop();
      }
      return new MeshRuntime(this);
    }
  }
}
