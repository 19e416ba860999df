package io.jmesh.controller.xds;

import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.server.DefaultExecutorGroup;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.jmesh.runtime.time.Ticker;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;

/**
 * Serves xDS v3 over gRPC (aggregated discovery, state of the world) with Envoy's
 * java-control-plane: a {@link V3DiscoveryServer} on a {@link SimpleCache}. Each {@link #update}
 * sets one version of {@link XdsViews} ({@link XdsResources#version()}); an update with the version
 * already in the cache is skipped, so an unchanged source is never pushed again. Within an update,
 * each resource type of each group keeps the version it is served with when its resources are
 * equal to those served ({@link TypedSnapshot}), so the cache sends only the types that changed:
 * an endpoint change sends ClusterLoadAssignments only.
 *
 * <p>Groups. A stream is in the group of its namespace ({@link #namespaceGroup}) when its client
 * certificate, verified in the TLS handshake, names one ({@code spiffe://<td>/ns/<ns>/sa/<sa>}):
 * what it sees is decided by that identity, never by what the node says of itself. A stream
 * without one (plaintext, an agent before its first certificate) is in {@link #NODE_GROUP} and
 * gets the public view. Standard proxyless gRPC clients are in {@link #PROXYLESS_GROUP} whatever
 * their identity. A namespace's snapshot is set by each update for the namespaces with a stream
 * open, and on a stream's request when its namespace lacks the current version, before the cache
 * sees that request; namespaces that see the public view share its resource objects. An agent
 * that reconnects with its first certificate, holding the public view's version, gets its
 * namespace's view at once ({@link ViewResumeWatcher}).
 *
 * <p>It also tracks every connected agent ({@link #agents}), counts requests, responses, ACKs and
 * NACKs per type, and times each version from {@link #update} to each agent's ACK (see {@code
 * controller/README.md}, Metrics). After a NACK, the rejected version is not sent again: the
 * agent gets the next version when there is one ({@link NackHoldingWatcher}).
 *
 * <p>A standard gRPC health service runs on the same port: {@code NOT_SERVING} until the first
 * snapshot is set, then {@code SERVING}. Other services (the certificate authority's) may be
 * given to {@link #start(String, int, MeterRegistry, List)}: agents then need one address.
 *
 * <p>Thread-safety: all methods may be called from any thread. {@link #update} answers the open
 * watches of every agent on the calling thread before it returns.
 */
public final class XdsServer implements AutoCloseable {
  private static final Logger LOG = System.getLogger("io.jmesh.controller.xds");

  /**
   * The node group of jmesh agents without a verified identity (and of every node that is not a
   * gRPC library's): the public view.
   */
  public static final String NODE_GROUP = "jmesh";

  /**
   * The node group of standard proxyless gRPC clients (no jmesh agent): nodes whose {@code
   * user_agent_name} starts with {@code gRPC} ({@code gRPC Java}, {@code gRPC Go}, ...), as the
   * gRPC libraries fill it in from the bootstrap's node. They get {@link ProxylessTranslator}'s
   * resources.
   */
  public static final String PROXYLESS_GROUP = "proxyless";

  private final SimpleCache<String> cache;
  private final AgentTracker tracker;
  private final XdsMetrics metrics;
  private final VersionHistory history;
  private final Ticker ticker;
  private final HealthStatusManager health = new HealthStatusManager();
  private final NamespaceStreams namespaceStreams;
  private final Server server;
  private final int port;

  private volatile String version; // in the cache; null until the first update
  private XdsViews views; // of version; guarded by this
  private TypedSnapshot publicServed; // of views.publicView(); guarded by this
  private TypedSnapshot proxylessServed; // guarded by this
  // What each group is served, for servedVersion: read without the lock.
  private final ConcurrentMap<String, TypedSnapshot> servedByGroup = new ConcurrentHashMap<>();
  // What each namespace group is served; guarded by this.
  private final java.util.Map<String, TypedSnapshot> namespaceServed = new java.util.HashMap<>();
  // The version in the cache per namespace group: read without the lock on every request.
  private final ConcurrentMap<String, String> namespaceVersions = new ConcurrentHashMap<>();
  // Namespaces whose view in the cache is not the public one.
  private final Set<String> differingNamespaces = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;

  private XdsServer(
      InetSocketAddress bindAddress,
      MeterRegistry registry,
      Clock clock,
      Ticker ticker,
      List<ServerServiceDefinition> services,
      ServingTls tls)
      throws IOException {
    this.ticker = ticker;
    this.cache = new SimpleCache<>(XdsServer::group);
    this.metrics = new XdsMetrics(registry);
    this.history = new VersionHistory(32);
    this.tracker = new AgentTracker(clock, ticker, metrics, history, this::servedVersion);
    this.namespaceStreams = new NamespaceStreams(this::ensureView);
    // Agents of one view get the same resource objects (namespaces that see the public view get
    // its objects), so each is packed into an Any once per version instead of once per agent
    // (controller README, "Scale benchmark").
    V3DiscoveryServer discovery =
        new V3DiscoveryServer(
            List.of(tracker, namespaceStreams),
            new NackHoldingWatcher(
                new ViewResumeWatcher(cache, differingNamespaces::contains), tracker),
            new DefaultExecutorGroup(),
            new IdentityCachingSerializer());
    health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES, ServingStatus.NOT_SERVING);
    NettyServerBuilder builder =
        NettyServerBuilder.forAddress(bindAddress)
            .addService(
                ServerInterceptors.intercept(
                    discovery.getAggregatedDiscoveryServiceImpl(),
                    new RemoteAddressInterceptor(),
                    new PeerIdentityInterceptor()))
            .addService(health.getHealthService())
            // Agents may keep idle streams alive with pings; the default (5 min) would make the
            // server close their connection with ENHANCE_YOUR_CALM.
            .permitKeepAliveTime(10, TimeUnit.SECONDS)
            .permitKeepAliveWithoutCalls(true);
    for (ServerServiceDefinition service : services) {
      builder.addService(service);
    }
    if (tls != null) {
      builder.sslContext(tls.sslContext());
    }
    this.server = builder.build();
    try {
      server.start();
    } catch (IOException e) {
      throw new IOException(
          "xDS address: " + format(bindAddress) + ": cannot listen: " + e.getMessage(), e);
    }
    this.port = ((InetSocketAddress) server.getListenSockets().get(0)).getPort();
  }

  /**
   * Starts listening on {@code host:port}, in plaintext (tests and {@code --insecure-plaintext};
   * the controller serves TLS: {@link #start(String, int, MeterRegistry, List, ServingTls)}).
   *
   * @param port the port, or 0 for an ephemeral one ({@link #port} tells which)
   * @throws IOException if the address cannot be bound; the message names it
   */
  public static XdsServer start(String host, int port, MeterRegistry registry)
      throws IOException {
    return start(host, port, registry, Clock.systemUTC(), Ticker.system(), List.of(), null);
  }

  /**
   * {@link #start(String, int, MeterRegistry)}, also serving {@code services} on the same port.
   *
   * @param services more gRPC services, each bound as given (with its own interceptors)
   */
  public static XdsServer start(
      String host, int port, MeterRegistry registry, List<ServerServiceDefinition> services)
      throws IOException {
    return start(host, port, registry, Clock.systemUTC(), Ticker.system(), services, null);
  }

  /**
   * {@link #start(String, int, MeterRegistry, List)} over TLS: the port presents {@code tls}'s
   * serving certificate and records the SPIFFE identity of each stream whose client presented a
   * certificate ({@link AgentStatus#identity()}).
   *
   * @param tls the port's TLS; null for plaintext
   */
  public static XdsServer start(
      String host,
      int port,
      MeterRegistry registry,
      List<ServerServiceDefinition> services,
      ServingTls tls)
      throws IOException {
    return start(host, port, registry, Clock.systemUTC(), Ticker.system(), services, tls);
  }

  /** {@link #start(String, int, MeterRegistry)} with the clock and ticker given, for tests. */
  public static XdsServer start(
      String host, int port, MeterRegistry registry, Clock clock, Ticker ticker)
      throws IOException {
    return start(host, port, registry, clock, ticker, List.of(), null);
  }

  private static XdsServer start(
      String host,
      int port,
      MeterRegistry registry,
      Clock clock,
      Ticker ticker,
      List<ServerServiceDefinition> services,
      ServingTls tls)
      throws IOException {
    Objects.requireNonNull(host, "host");
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port: " + port + " (expected: 0..65535)");
    }
    return new XdsServer(
        new InetSocketAddress(host, port),
        Objects.requireNonNull(registry, "registry"),
        Objects.requireNonNull(clock, "clock"),
        Objects.requireNonNull(ticker, "ticker"),
        List.copyOf(services),
        tls);
  }

  /** The port the server listens on (the ephemeral one when started with port 0). */
  public int port() {
    return port;
  }

  /** Whether the server is listening: true from {@link #start} until {@link #close}. */
  public boolean isListening() {
    return !closed;
  }

  /**
   * Sets {@code resources} as the snapshot of every agent and every namespace, unless its version
   * is the one in the cache already. Open watches are answered on the calling thread before this returns.
   * Consistency between the resources is not checked: java-control-plane's check does not see
   * the route name inside an {@code api_listener} and would refuse every proxyless listener.
   *
   * @return true if a new snapshot was set
   */
  public synchronized boolean update(XdsResources resources) {
    return update(resources, resources);
  }

  /**
   * Sets {@code agents} as the snapshot of jmesh agents and {@code proxyless} as that of standard
   * gRPC clients ({@link #PROXYLESS_GROUP}), as {@link #update(XdsResources)} does. Both carry the
   * same version: they are two translations of one source snapshot.
   *
   * @return true if new snapshots were set
   * @throws IllegalArgumentException if the versions differ
   */
  public synchronized boolean update(XdsResources agents, XdsResources proxyless) {
    return update(XdsViews.of(agents, proxyless));
  }

  /**
   * Sets one version of every view, in one go: the public view ({@link #NODE_GROUP}), the
   * proxyless one, and the view of each namespace with a stream open now (other namespaces get
   * theirs on their first request). Skipped if the version is the one in the cache already. Each
   * type takes that version only where its resources changed ({@link TypedSnapshot}). Open
   * watches are answered on the calling thread before this returns. A namespace view that cannot
   * be translated is logged and that namespace keeps its previous snapshot.
   *
   * @return true if new snapshots were set
   * @throws IllegalArgumentException if the public and proxyless versions differ
   */
  public synchronized boolean update(XdsViews views) {
    Objects.requireNonNull(views, "views");
    XdsResources agents = Objects.requireNonNull(views.publicView(), "publicView");
    XdsResources proxyless = Objects.requireNonNull(views.proxyless(), "proxyless");
    if (!agents.version().equals(proxyless.version())) {
      throw new IllegalArgumentException(
          "proxyless version: "
              + proxyless.version()
              + " (expected: the agents' version, "
              + agents.version()
              + ")");
    }
    if (closed) {
      throw new IllegalStateException("xDS server on port " + port + ": closed");
    }
    if (agents.version().equals(version)) {
      return false;
    }
    // Each type keeps its version when its resources are those served already, so the cache
    // answers only the watches of the types that changed (controller README, "What is served").
    TypedSnapshot typed = TypedSnapshot.of(agents, agents.version(), publicServed);
    TypedSnapshot proxylessTyped =
        proxyless == agents
            ? typed
            : TypedSnapshot.of(proxyless, proxyless.version(), proxylessServed);
    version = agents.version();
    this.views = views;
    this.publicServed = typed;
    this.proxylessServed = proxylessTyped;
    // Recorded before the set: the set itself sends to open watches, and ACKs may come back
    // before it returns. The versions still served are never forgotten.
    Set<String> live = new java.util.HashSet<>();
    addSourceVersions(live, typed);
    addSourceVersions(live, proxylessTyped);
    for (TypedSnapshot served : namespaceServed.values()) {
      addSourceVersions(live, served);
    }
    history.set(agents.version(), ticker.nanoTime(), live);
    // Proxyless clients first: a client that connects in between sees the new version there
    // and the old one among agents, never a mix within one group.
    servedByGroup.put(PROXYLESS_GROUP, proxylessTyped);
    cache.setSnapshot(PROXYLESS_GROUP, proxylessTyped.snapshot());
    Set<String> connected = namespaceStreams.connected();
    for (String namespace : connected) {
      setView(namespace);
    }
    // Namespaces whose agents left: their snapshot would only be stale (a returning agent gets
    // the current one on its first request). The cache keeps a group that still has watches.
    for (String namespace : Set.copyOf(namespaceVersions.keySet())) {
      if (!connected.contains(namespace) && cache.clearSnapshot(namespaceGroup(namespace))) {
        namespaceVersions.remove(namespace);
        namespaceServed.remove(namespace);
        servedByGroup.remove(namespaceGroup(namespace));
        differingNamespaces.remove(namespace);
      }
    }
    servedByGroup.put(NODE_GROUP, typed);
    cache.setSnapshot(NODE_GROUP, typed.snapshot());
    metrics.snapshotUpdated();
    health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES, ServingStatus.SERVING);
    return true;
  }

  /**
   * Gives {@code namespace} the current version's snapshot if it lacks it: called on a stream's
   * request, before the cache sees it. Cheap when the namespace has it already (every ACK).
   */
  private void ensureView(String namespace) {
    String current = version;
    if (current == null || current.equals(namespaceVersions.get(namespace))) {
      return;
    }
    synchronized (this) {
      if (views != null && !closed && !views.version().equals(namespaceVersions.get(namespace))) {
        setView(namespace);
      }
    }
  }

  // Guarded by this.
  private void setView(String namespace) {
    XdsResources resources;
    try {
      resources = views.namespace(namespace);
    } catch (RuntimeException e) {
      // Keep what the namespace had: a bad push keeps the last good config.
      LOG.log(
          Level.ERROR,
          "version " + views.version() + ": the view of namespace " + namespace
              + " cannot be translated; its agents keep "
              + namespaceVersions.getOrDefault(namespace, "nothing (they wait)"),
          e);
      return;
    }
    if (!resources.version().equals(views.version())) {
      throw new IllegalArgumentException(
          "namespace " + namespace + " version: " + resources.version()
              + " (expected: the public view's, " + views.version() + ")");
    }
    boolean isPublic = resources == views.publicView();
    // A namespace that sees the public view shares its snapshot (objects and versions). One that
    // differs keeps, per type, the public view's version where its content is the public one's,
    // else its own previous version where that content is unchanged, else a version of its own.
    TypedSnapshot typed =
        isPublic
            ? publicServed
            : TypedSnapshot.of(
                resources,
                views.version() + "/" + namespace,
                publicServed,
                namespaceServed.get(namespace));
    servedByGroup.put(namespaceGroup(namespace), typed);
    cache.setSnapshot(namespaceGroup(namespace), typed.snapshot());
    namespaceVersions.put(namespace, resources.version());
    namespaceServed.put(namespace, typed);
    if (isPublic) {
      differingNamespaces.remove(namespace);
    } else {
      differingNamespaces.add(namespace);
    }
  }

  private static void addSourceVersions(Set<String> out, TypedSnapshot served) {
    for (String typeVersion : served.versions()) {
      out.add(TypedSnapshot.sourceVersion(typeVersion));
    }
  }

  /**
   * The group of a request from {@code node}: {@link #PROXYLESS_GROUP} for a gRPC library, else
   * the group of the verified namespace of the call in progress ({@link
   * PeerIdentityInterceptor#currentNamespace()}: the cache asks on the request's thread, inside
   * its gRPC context), else {@link #NODE_GROUP}.
   */
  static String group(io.envoyproxy.envoy.config.core.v3.Node node) {
    return group(node.getUserAgentName(), PeerIdentityInterceptor.currentNamespace());
  }

  /** The group of a node with {@code userAgentName} on a stream verified for {@code namespace}. */
  static String group(String userAgentName, String namespace) {
    if (userAgentName.startsWith("gRPC")) {
      return PROXYLESS_GROUP;
    }
    return namespace == null ? NODE_GROUP : namespaceGroup(namespace);
  }

  /**
   * The version of {@code typeUrl} that {@code group} is served now; null before the first
   * snapshot. A namespace without a snapshot of its own (no agent connected when it was last
   * set) gets its first one on its next request: the public view's versions are shown.
   */
  String servedVersion(String group, String typeUrl) {
    TypedSnapshot served = servedByGroup.get(group);
    if (served == null && group.startsWith(NODE_GROUP + "/ns/")) {
      served = servedByGroup.get(NODE_GROUP);
    }
    return served == null ? null : served.version(typeUrl);
  }

  /** The group of the agents whose certificate names {@code namespace}. */
  static String namespaceGroup(String namespace) {
    return NODE_GROUP + "/ns/" + namespace;
  }

  /** The version in the cache, or empty before the first {@link #update}. */
  public Optional<String> version() {
    return Optional.ofNullable(version);
  }

  /** The agents connected now, by stream id; each an immutable copy. */
  public List<AgentStatus> agents() {
    return tracker.agents();
  }

  /**
   * Stops listening and ends every stream (agents reconnect elsewhere). Waits up to a second for
   * calls to finish, then cancels them. Idempotent.
   */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    health.enterTerminalState();
    server.shutdown();
    try {
      // ADS streams never end on their own; a short grace lets an in-flight response finish.
      if (!server.awaitTermination(1, TimeUnit.SECONDS)) {
        server.shutdownNow();
        server.awaitTermination(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      server.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }

  private static String format(InetSocketAddress address) {
    return RemoteAddressInterceptor.format(address);
  }
}
