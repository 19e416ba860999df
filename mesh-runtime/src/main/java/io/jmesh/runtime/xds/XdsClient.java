package io.jmesh.runtime.xds;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.rpc.Code;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import io.jmesh.runtime.Discovery;
import io.jmesh.runtime.RuntimeLog;
import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.config.Service;
import io.jmesh.runtime.identity.ControllerTls;
import io.jmesh.runtime.inbound.AuthorizationPolicy;
import io.jmesh.runtime.retry.Backoff;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.random.RandomGenerator;
import javax.net.ssl.SSLException;

/**
 * The agent's xDS client: one aggregated discovery stream (state of the world) to the
 * controller. It subscribes to every Listener (they are small, and they tell the runtime which
 * hosts are mesh destinations without a round trip), and to a service's RouteConfiguration,
 * Cluster and ClusterLoadAssignment only once the workload calls that service ({@link #watch}).
 *
 * <p>Every response is decoded strictly ({@link XdsDecoder}): if any resource of it cannot be
 * applied, the whole response is NACKed with the decoder's messages as {@code error_detail} and
 * the last good resources ({@link XdsResources}) stay in force; otherwise it is ACKed and a new
 * snapshot goes to the runtime. When the stream fails, the client keeps its snapshot and reconnects to the next
 * controller address after a jittered exponential backoff, sending the versions it holds so that
 * an unchanged controller pushes nothing.
 *
 * <p>Threading: the stream's callbacks run on {@code scheduler} (the channel's executor), which
 * must be single-threaded; state is also guarded by this object's lock because {@link #watch}
 * runs on request threads. No thread of its own but one short-lived daemon, {@code
 * jmesh-xds-warmup}, after the first Listeners; the gRPC transport's threads are daemons.
 */
public final class XdsClient implements Discovery {

  /**
   * Settings of one client.
   *
   * @param addresses controller addresses, {@code host:port}, tried in turn
   * @param node how the controller knows this agent: id, service, namespace
   * @param reconnectBase the first reconnect delay, doubling per failed attempt
   * @param reconnectMax the longest reconnect delay
   * @param tls how the controller is verified (TLS with trust anchors from a file, or plaintext
   *     when explicitly asked for)
   * @param prefetchServices when the Listeners declare at most this many services, subscribe to
   *     the routes, clusters and endpoints of all of them at once rather than at each one's first
   *     {@link #watch}: the first call to any of them then finds them held; 0 for never
   */
  public record Options(
      List<String> addresses,
      NodeIdentity node,
      Duration reconnectBase,
      Duration reconnectMax,
      ControllerTls tls,
      int prefetchServices) {
    /** Without prefetch: every service's resources are fetched at its first use. */
    public Options(
        List<String> addresses,
        NodeIdentity node,
        Duration reconnectBase,
        Duration reconnectMax,
        ControllerTls tls) {
      this(addresses, node, reconnectBase, reconnectMax, tls, 0);
    }

    public Options {
      if (prefetchServices < 0) {
        throw new IllegalArgumentException("prefetchServices: " + prefetchServices + " (expected: >= 0)");
      }
      addresses = List.copyOf(addresses);
      if (addresses.isEmpty()) {
        throw new IllegalArgumentException("addresses: [] (expected: at least one host:port)");
      }
      for (String a : addresses) {
        ControllerAddress.parse(a);
      }
      Objects.requireNonNull(node, "node");
      Objects.requireNonNull(reconnectBase, "reconnectBase");
      Objects.requireNonNull(reconnectMax, "reconnectMax");
      Objects.requireNonNull(tls, "tls");
    }
  }

  /**
   * The agent as the controller sees it.
   *
   * @param metadata more string fields of {@code node.metadata}, for example {@code
   *     jmesh.admin.port} (the controller's {@code /agents} turns it into the address {@code jmesh}
   *     CLI commands reach the agent at); {@code NAMESPACE} is always set from {@code namespace}
   */
  public record NodeIdentity(
      String id, String service, String namespace, Map<String, String> metadata) {
    public NodeIdentity {
      Objects.requireNonNull(id, "id");
      Objects.requireNonNull(service, "service");
      Objects.requireNonNull(namespace, "namespace");
      metadata = Map.copyOf(metadata);
    }

    public NodeIdentity(String id, String service, String namespace) {
      this(id, service, namespace, Map.of());
    }
  }

  /**
   * What the client knows of its stream, for logs, tests and the admin endpoint.
   *
   * @param connectedTo the controller address of the stream that last received a response, or
   *     {@code null} while no stream is up
   * @param ackedVersions per type URL, the version last applied
   * @param lastNack the error_detail of the last NACK, or {@code null}
   * @param streams streams opened so far (1 + reconnects)
   * @param tlsRefusals streams that ended in a failed TLS handshake with the controller (a
   *     certificate that does not chain to the trust anchors or does not carry the expected name)
   * @param lastTlsRefusal why the last of them failed, or {@code null}
   */
  public record Status(
      String connectedTo,
      Map<String, String> ackedVersions,
      String lastNack,
      int streams,
      int tlsRefusals,
      String lastTlsRefusal) {}

  private static final List<String> TYPES =
      List.of(
          XdsNames.LISTENER_TYPE, XdsNames.ROUTE_TYPE, XdsNames.CLUSTER_TYPE, XdsNames.ENDPOINT_TYPE);

  private final Options options;
  private final ScheduledExecutorService scheduler;
  private final Backoff backoff;
  private final Node node;

  // Guarded by this.
  private final Map<String, TypeState> types = new LinkedHashMap<>();
  private final Set<String> watched = new TreeSet<>();
  private final XdsResources resources = new XdsResources();
  private final Map<String, ManagedChannel> channels = new HashMap<>();
  private Consumer<MeshSnapshot> onSnapshot;
  private MeshSnapshot published;
  private String lastLogged; // the last "version: summary" logged at INFO
  private String newest; // the controller's newest version received; null before any
  private final java.util.concurrent.CountDownLatch listenersApplied =
      new java.util.concurrent.CountDownLatch(1);
  private StreamObserver<DiscoveryRequest> requests;
  private Object stream; // identity of the current stream; responses of older ones are dropped
  private String streamAddress;
  private String connectedTo;
  private boolean nodeSent;
  private int streams;
  private int failedAttempts;
  private String lastNack;
  private int tlsRefusals;
  private String lastTlsRefusal;
  private boolean lastFailureWasTls; // within the current series of failed reconnects
  private ScheduledFuture<?> reconnect;
  private boolean closed;

  /**
   * A channel to a controller, connecting, made before the client that will use it: the agent
   * makes it on its own thread at the very start, while ByteBuddy sets up, so that loading gRPC,
   * Netty and the Envoy classes and the connection itself are done when the stream opens. Holds
   * the channel until a client takes it ({@link XdsClient#XdsClient(Options, ScheduledExecutorService,
   * RandomGenerator, Prepared)}); {@link #close} releases it when none will.
   */
  public static final class Prepared implements AutoCloseable {
    private final String address;
    private final ManagedChannel channel;
    private final String timings;

    private Prepared(String address, ManagedChannel channel, String timings) {
      this.address = address;
      this.channel = channel;
      this.timings = timings;
    }

    /** Where the time of {@link #connect} went, for the agent's debug log. */
    public String timings() {
      return timings;
    }

    /**
     * Opens a channel to {@code address} (host:port), asks it to connect now, and loads what
     * decoding the first Listeners needs. Blocks for the class loading, not for the connection.
     *
     * @param scheduler the executor the client will be given (the channel's executor)
     * @throws IllegalArgumentException naming the address when it is no host:port
     */
    public static Prepared connect(String address, ControllerTls tls, ScheduledExecutorService scheduler) {
      long start = System.nanoTime();
      ControllerAddress controller = ControllerAddress.parse(address);
      ManagedChannel channel = newChannel(tls, controller, scheduler);
      long built = System.nanoTime();
      channel.getState(true); // connect now, not at the first RPC
      AggregatedDiscoveryServiceGrpc.newStub(channel); // the stub's classes, not a call
      long stub = System.nanoTime();
      XdsWarmup.listeners();
      long end = System.nanoTime();
      return new Prepared(address, channel,
          "channel built " + (built - start) / 1_000_000 + " ms, connecting and stub " + (stub - built) / 1_000_000
              + " ms, Listener decoding loaded " + (end - stub) / 1_000_000 + " ms");
    }

    @Override
    public void close() {
      channel.shutdownNow();
    }
  }

  /**
   * @param scheduler runs the stream's callbacks and reconnect timers; must be single-threaded
   * @param random jitter of the reconnect backoff
   */
  public XdsClient(Options options, ScheduledExecutorService scheduler, RandomGenerator random) {
    this(options, scheduler, random, null);
  }

  /**
   * @param prepared a channel made earlier with the same TLS and scheduler, used for its address
   *     instead of a new one; null for none
   */
  public XdsClient(
      Options options, ScheduledExecutorService scheduler, RandomGenerator random, Prepared prepared) {
    this.options = Objects.requireNonNull(options, "options");
    this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
    this.backoff =
        Backoff.exponential(options.reconnectBase(), options.reconnectMax(), 0.5, random);
    Struct.Builder metadata = Struct.newBuilder();
    new TreeMap<>(options.node().metadata())
        .forEach((k, v) -> metadata.putFields(k, Value.newBuilder().setStringValue(v).build()));
    metadata.putFields(
        "NAMESPACE", Value.newBuilder().setStringValue(options.node().namespace()).build());
    this.node =
        Node.newBuilder()
            .setId(options.node().id())
            .setCluster(options.node().service())
            .setUserAgentName("jmesh")
            .setMetadata(metadata)
            .build();
    for (String type : TYPES) {
      types.put(type, new TypeState());
    }
    if (prepared != null) {
      if (options.addresses().contains(prepared.address)) {
        channels.put(prepared.address, prepared.channel);
      } else {
        prepared.close();
      }
    }
  }

  /**
   * Waits until the controller's first set of Listeners has been applied (so the runtime knows
   * which hosts are mesh destinations), at most {@code timeout}.
   *
   * @return whether they were applied in time
   */
  public boolean awaitListeners(java.time.Duration timeout) {
    try {
      return listenersApplied.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  @Override
  public synchronized void start(Consumer<MeshSnapshot> onSnapshot) {
    if (this.onSnapshot != null) {
      throw new IllegalStateException("already started");
    }
    this.onSnapshot = Objects.requireNonNull(onSnapshot, "onSnapshot");
    connect();
  }

  @Override
  public void watch(String qualifiedName) {
    synchronized (this) {
      if (closed || !watched.add(qualifiedName)) {
        return;
      }
    }
    // Off the request thread: sending may touch the transport.
    scheduler.execute(this::resubscribe);
  }

  /**
   * The authorization policies of the inbound listeners in force, by service qualified name
   * ({@code hello.default}); a service without one has the default (every authenticated caller).
   * The snapshots carry them too, as {@link Service#authorization()}.
   */
  public synchronized Map<String, AuthorizationPolicy> inboundPolicies() {
    return resources.inboundPolicies();
  }

  /** A copy of what the client knows now. */
  public synchronized Status status() {
    Map<String, String> acked = new LinkedHashMap<>();
    types.forEach((type, state) -> acked.put(type, state.version));
    return new Status(connectedTo, acked, lastNack, streams, tlsRefusals, lastTlsRefusal);
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (reconnect != null) {
      reconnect.cancel(false);
    }
    if (requests != null) {
      try {
        requests.onCompleted();
      } catch (RuntimeException ignored) {
        // The stream may already be gone.
      }
    }
    for (ManagedChannel channel : channels.values()) {
      channel.shutdownNow();
    }
  }

  /**
   * Replaces the stream now with one on new connections, to the same controller address, keeping
   * everything held. The agent calls it when its first workload certificate arrives: connections
   * made before it presented none, and new ones present it (mTLS), so the controller learns whose
   * stream it is. A no-op before {@link #start} and after {@link #close}.
   */
  public synchronized void reconnect(String why) {
    if (closed || onSnapshot == null) {
      return;
    }
    if (reconnect != null) {
      reconnect.cancel(false);
    }
    String address = streamAddress != null ? streamAddress : options.addresses().get(0);
    RuntimeLog.log(Level.INFO, "xDS: reconnecting to " + address + ": " + why);
    stream = null; // the old stream's callbacks are ignored from here on
    requests = null;
    connectedTo = null;
    for (ManagedChannel channel : channels.values()) {
      channel.shutdownNow();
    }
    channels.clear();
    connect(address);
  }

  // ---- the stream ------------------------------------------------------------------------------

  private synchronized void connect() {
    if (closed) {
      return;
    }
    connect(options.addresses().get(streams % options.addresses().size()));
  }

  private void connect(String address) {
    reconnect = null;
    streams++;
    ManagedChannel channel = channels.computeIfAbsent(address, this::newChannel);
    Object id = new Object();
    stream = id;
    streamAddress = address;
    nodeSent = false;
    requests =
        AggregatedDiscoveryServiceGrpc.newStub(channel)
            .streamAggregatedResources(new Responses(id));
    for (Map.Entry<String, TypeState> e : types.entrySet()) {
      e.getValue().nonce = "";
      if (isSubscribed(e.getKey())) {
        send(e.getKey(), null);
      }
    }
  }

  private ManagedChannel newChannel(String address) {
    return newChannel(options.tls(), ControllerAddress.parse(address), scheduler);
  }

  private static ManagedChannel newChannel(
      ControllerTls tls, ControllerAddress controller, ScheduledExecutorService scheduler) {
    return tls.channel(controller.host(), controller.port())
        .executor(scheduler)
        .keepAliveTime(30, TimeUnit.SECONDS)
        .build();
  }

  /** Receives one stream's responses; ignores them once a newer stream replaced it. */
  private final class Responses implements StreamObserver<DiscoveryResponse> {
    private final Object id;

    Responses(Object id) {
      this.id = id;
    }

    @Override
    public void onNext(DiscoveryResponse response) {
      try {
        onResponse(id, response);
      } catch (RuntimeException e) {
        // A bug here must not kill the stream silently: log it; the response stays unanswered.
        RuntimeLog.log(Level.WARNING, "xDS: cannot handle a " + response.getTypeUrl() + " response: " + e);
      }
    }

    @Override
    public void onError(Throwable t) {
      streamEnded(id, t);
    }

    @Override
    public void onCompleted() {
      streamEnded(id, null);
    }
  }

  /** @param error why the stream failed; null when the controller closed it */
  private synchronized void streamEnded(Object id, Throwable error) {
    if (id != stream || closed) {
      return;
    }
    String why;
    SSLException refused = ControllerTls.tlsFailure(error);
    if (refused != null) {
      // Counted every time, logged once per series of failed reconnects (below), like any failure.
      tlsRefusals++;
      why = "TLS handshake refused: " + refused.getMessage() + " (expected: "
          + options.tls().expectation() + ")";
      lastTlsRefusal = why;
    } else {
      why = error == null ? "the controller closed the stream" : error.toString();
    }
    // One WARN per series of failed reconnects, and one more when the failure turns into a TLS
    // refusal or back (a controller replaced by one of another CA: first refused, then untrusted).
    boolean kindChanged = failedAttempts > 0 && (refused != null) != lastFailureWasTls;
    lastFailureWasTls = refused != null;
    stream = null;
    requests = null;
    connectedTo = null;
    failedAttempts++;
    long delay = backoff.delayNanos(failedAttempts);
    RuntimeLog.log(
        failedAttempts == 1 || kindChanged ? Level.WARNING : Level.DEBUG,
        "xDS stream to " + streamAddress + " ended (" + why + "); keeping snapshot "
            + (published == null ? "(none)" : published.version()) + ", reconnecting in "
            + TimeUnit.NANOSECONDS.toMillis(delay) + " ms");
    reconnect = scheduler.schedule((Runnable) this::connect, delay, TimeUnit.NANOSECONDS);
  }

  private synchronized void onResponse(Object id, DiscoveryResponse response) {
    if (id != stream || closed) {
      return;
    }
    if (connectedTo == null) {
      connectedTo = streamAddress;
      if (failedAttempts > 0) {
        RuntimeLog.log(Level.INFO, "xDS stream to " + streamAddress + " is up again");
      }
      failedAttempts = 0;
    }
    String type = response.getTypeUrl();
    TypeState state = types.get(type);
    if (state == null) {
      // Never subscribed: answering would be guesswork; say so once per response.
      RuntimeLog.log(Level.WARNING, "xDS: ignoring a response of unrequested type " + type);
      return;
    }
    state.nonce = response.getNonce();
    List<String> errors = new ArrayList<>();
    Map<String, Object> decoded = XdsResources.decode(type, response.getResourcesList(), errors);
    if (!errors.isEmpty()) {
      String error = String.join("; ", errors);
      if (!error.equals(lastNack)) {
        RuntimeLog.log(
            Level.WARNING,
            "xDS: rejected version " + response.getVersionInfo() + " of " + shortType(type) + ": "
                + error + "; keeping version " + state.version);
      }
      lastNack = error;
      send(type, error);
      return;
    }
    resources.apply(type, decoded);
    // The controller gives each type its own version: a type that did not change keeps an older
    // one. A version no type holds yet is the controller's newest.
    if (!holds(response.getVersionInfo())) {
      newest = response.getVersionInfo();
    }
    state.version = response.getVersionInfo();
    send(type, null);
    if (type.equals(XdsNames.LISTENER_TYPE)) {
      resubscribe();
    }
    publish();
    if (type.equals(XdsNames.LISTENER_TYPE) && listenersApplied.getCount() > 0) {
      listenersApplied.countDown(); // after publish: the runtime knows the destinations now
      // The application starts now and its first call to a service waits for that service's
      // routes, cluster and endpoints: load their classes meanwhile rather than inside that wait.
      // Not on the scheduler: the first call's subscription must not queue behind the warm-up
      // (on busy cores it takes seconds); a decode that meets a class the warm-up is loading
      // waits only for that class.
      Thread warmup = new Thread(XdsWarmup::firstUse, "jmesh-xds-warmup");
      warmup.setDaemon(true);
      warmup.start();
    }
  }

  /**
   * Subscribes to the routes, cluster and endpoints of every watched service discovery knows (of
   * every declared one, when they are few enough to prefetch), and publishes a snapshot that a
   * newly watched service changes: prefetched resources are held already.
   */
  private synchronized void resubscribe() {
    if (requests == null) {
      return; // connect() subscribes to everything when the stream is back
    }
    XdsResources.Subscriptions next = resources.subscriptions(interest());
    subscribe(XdsNames.ROUTE_TYPE, next.routeNames());
    subscribe(XdsNames.CLUSTER_TYPE, next.services());
    subscribe(XdsNames.ENDPOINT_TYPE, next.services());
    if (onSnapshot != null && published != null) {
      publish();
    }
  }

  /**
   * The services to hold resources of: the watched ones, and every declared one while there are
   * at most {@link Options#prefetchServices}. Measured on 2 busy cores (issue 20), fetching and
   * decoding a service's routes, cluster and endpoints at its first call held that call 0.5-0.8 s;
   * prefetched, they arrive while the application starts.
   */
  private Set<String> interest() {
    Set<String> declared = resources.declaredServices();
    if (declared.isEmpty() || declared.size() > options.prefetchServices()) {
      return watched;
    }
    Set<String> all = new TreeSet<>(watched);
    all.addAll(declared);
    return all;
  }

  private void subscribe(String type, Set<String> names) {
    TypeState state = types.get(type);
    if (!state.names.equals(names)) {
      state.names = names;
      send(type, null);
    }
  }

  private boolean isSubscribed(String type) {
    // Listeners: always, as a wildcard. Others: an empty name list would be a wildcard for
    // clusters, so nothing is sent until a service is watched.
    return type.equals(XdsNames.LISTENER_TYPE) || !types.get(type).names.isEmpty();
  }

  /** Sends the request of {@code type}: an ACK of its version, or a NACK when {@code error}. */
  private void send(String type, String error) {
    if (requests == null) {
      return;
    }
    TypeState state = types.get(type);
    DiscoveryRequest.Builder request =
        DiscoveryRequest.newBuilder()
            .setTypeUrl(type)
            .setVersionInfo(state.version)
            .setResponseNonce(state.nonce)
            .addAllResourceNames(state.names);
    if (!nodeSent) {
      request.setNode(node); // the first request of a stream identifies the agent
      nodeSent = true;
    }
    if (error != null) {
      request.setErrorDetail(
          com.google.rpc.Status.newBuilder().setCode(Code.INVALID_ARGUMENT_VALUE).setMessage(error));
    }
    try {
      requests.onNext(request.build());
    } catch (RuntimeException e) {
      // The stream is failing; its onError reconnects.
      RuntimeLog.log(Level.DEBUG, "xDS: cannot send a request: " + e);
    }
  }

  // ---- snapshots -------------------------------------------------------------------------------

  /** Builds the snapshot from what is held and hands it to the runtime if it changed. */
  private void publish() {
    MeshSnapshot next = resources.snapshot(version(), watched);
    if (next.equals(published)) {
      return;
    }
    published = next;
    onSnapshot.accept(next);
    // One INFO line per version and per change in the services in use. The controller sends only
    // the types that changed, in one go (CDS, EDS, LDS, RDS), so the types of one version arrive
    // within a few milliseconds of each other; the line comes with the first of them.
    int resolved = next.services().size();
    String summary = resolved + " services in use, " + (resolved + next.unresolved().size()) + " declared";
    if (!(next.version() + ": " + summary).equals(lastLogged)) {
      lastLogged = next.version() + ": " + summary;
      RuntimeLog.log(Level.INFO, "xDS: applied version " + lastLogged);
    }
  }

  /**
   * The controller's newest version this agent holds: the last one received that no type held
   * before. Each type carries the version it last changed in, so the config of that version is
   * what every type holds once its changed types have arrived.
   */
  private String version() {
    return newest == null ? "" : newest;
  }

  private boolean holds(String version) {
    for (TypeState state : types.values()) {
      if (state.version.equals(version)) {
        return true;
      }
    }
    return false;
  }

  private static String shortType(String typeUrl) {
    return typeUrl.substring(typeUrl.lastIndexOf('.') + 1);
  }

  /** Per resource type: the names asked for and the version and nonce to answer with. */
  private static final class TypeState {
    Set<String> names = Set.of();
    String version = "";
    String nonce = "";
  }
}
