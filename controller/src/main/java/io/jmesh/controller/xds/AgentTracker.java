package io.jmesh.controller.xds;

import com.google.protobuf.Struct;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.controlplane.server.exception.RequestException;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Status;
import io.jmesh.runtime.time.Ticker;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.BiFunction;

/**
 * Follows every ADS stream through java-control-plane's callbacks: the node it announced, and per
 * resource type what was sent, what was ACKed and what was NACKed. Feeds {@code /agents}, the
 * NACK log line and the ACK/NACK and propagation meters.
 *
 * <p>The xDS rules it applies, per stream and type: a request whose {@code response_nonce} is not
 * the nonce of the last response sent is stale and changes nothing (java-control-plane ignores it
 * too). A current request with {@code error_detail} set is a NACK: the agent rejected the last
 * response and keeps the version it had (which the request's {@code version_info} repeats). Any
 * other current request is an ACK of its {@code version_info}. A request with an empty nonce
 * before any response subscribes.
 *
 * <p>State of a stream is dropped when the stream closes, so {@code /agents} lists connected
 * agents only.
 *
 * <p>Thread-safety: callbacks arrive on gRPC threads (requests of one stream in order) and on the
 * thread that sets a snapshot (responses); each stream's state has its own lock.
 */
final class AgentTracker implements DiscoveryServerCallbacks {
  private static final Logger LOG = System.getLogger("io.jmesh.controller.xds");

  private final Clock clock;
  private final Ticker ticker;
  private final XdsMetrics metrics;
  private final VersionHistory history;
  private final ConcurrentMap<Long, StreamState> streams = new ConcurrentHashMap<>();
  // Hands a NACK's rejected version from the request callback to NackHoldingWatcher.createWatch,
  // which java-control-plane calls next on the same thread for the same request object.
  private final ThreadLocal<HeldNack> heldNack = new ThreadLocal<>();
  private final BiFunction<String, String, String> servedVersion;

  AgentTracker(Clock clock, Ticker ticker, XdsMetrics metrics, VersionHistory history) {
    this(clock, ticker, metrics, history, (group, typeUrl) -> null);
  }

  /**
   * @param servedVersion the version a node group is served of a type now (group, type URL to
   *     version; null if none), for {@link AgentStatus.TypeStatus#servedVersion()}
   */
  AgentTracker(
      Clock clock,
      Ticker ticker,
      XdsMetrics metrics,
      VersionHistory history,
      BiFunction<String, String, String> servedVersion) {
    this.servedVersion = Objects.requireNonNull(servedVersion, "servedVersion");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.ticker = Objects.requireNonNull(ticker, "ticker");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.history = Objects.requireNonNull(history, "history");
    metrics.bindStreams(streams::size);
  }

  /** What a NACK rejected, for the watcher that must not send it again. */
  record HeldNack(DiscoveryRequest request, String rejectedVersion, List<String> previousNames) {}

  @Override
  public void onStreamOpen(long streamId, String typeUrl) {
    StreamState state =
        new StreamState(
            streamId,
            RemoteAddressInterceptor.current(),
            PeerIdentityInterceptor.current(),
            PeerIdentityInterceptor.currentNamespace(),
            clock.instant(),
            ticker.nanoTime());
    streams.put(streamId, state);
    LOG.log(
        Level.DEBUG,
        () ->
            "ADS stream "
                + streamId
                + " opened from "
                + state.remoteAddress
                + (state.identity == null ? "" : " as " + state.identity));
  }

  @Override
  public void onStreamClose(long streamId, String typeUrl) {
    closed(streamId, "closed");
  }

  @Override
  public void onStreamCloseWithError(long streamId, String typeUrl, Throwable error) {
    closed(streamId, "closed: " + Status.fromThrowable(error));
  }

  private void closed(long streamId, String how) {
    StreamState state = streams.remove(streamId);
    if (state != null) {
      LOG.log(Level.DEBUG, () -> "ADS stream " + streamId + " of " + state.who() + " " + how);
    }
  }

  @Override
  public void onV3StreamRequest(long streamId, DiscoveryRequest request) throws RequestException {
    String typeUrl = request.getTypeUrl();
    if (!Resources.TYPE_URLS_TO_RESOURCE_TYPE.containsKey(typeUrl)) {
      // Checked here because the cache would fail on it with a bare NullPointerException.
      throw new RequestException(
          Status.INVALID_ARGUMENT.withDescription(
              "type_url: \""
                  + typeUrl
                  + "\" (expected one of: "
                  + String.join(", ", XdsTypes.SERVED)
                  + ")"));
    }
    metrics.requested(typeUrl);
    StreamState state = streams.get(streamId);
    if (state == null) {
      return; // closed meanwhile
    }
    Instant now = clock.instant();
    long nowNanos = ticker.nanoTime();
    Outcome outcome = state.onRequest(request, now);
    switch (outcome.kind) {
      case ACK:
        metrics.acked(typeUrl);
        if (outcome.newVersion) {
          long setAt = history.setAtNanos(request.getVersionInfo());
          if (setAt >= 0) {
            // An agent that connects after the version was set could not have had it earlier.
            metrics.propagated(typeUrl, Math.max(0, nowNanos - Math.max(setAt, state.openedNanos)));
          }
        }
        break;
      case NACK:
        metrics.nacked(typeUrl);
        heldNack.set(new HeldNack(request, outcome.rejectedVersion, outcome.previousNames));
        LOG.log(
            Level.WARNING,
            "NACK from agent "
                + state.who()
                + ": "
                + XdsTypes.resourceName(typeUrl)
                + " version "
                + outcome.rejectedVersion
                + " rejected, agent keeps "
                + (outcome.keptVersion == null ? "none" : outcome.keptVersion)
                + ": "
                + request.getErrorDetail().getMessage());
        break;
      default:
        break;
    }
  }

  @Override
  public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request)
      throws RequestException {
    throw new RequestException(
        Status.UNIMPLEMENTED.withDescription(
            "incremental (delta) xDS: not served by the jmesh controller (expected: state of the"
                + " world over StreamAggregatedResources)"));
  }

  @Override
  public void onV3StreamResponse(
      long streamId, DiscoveryRequest request, DiscoveryResponse response) {
    metrics.responded(response.getTypeUrl());
    StreamState state = streams.get(streamId);
    if (state != null) {
      state.onResponse(response, clock.instant());
    }
  }

  /**
   * The NACK that the request callback saw for exactly this request object on this thread, if
   * any; clears it either way.
   */
  HeldNack takeHeldNack(DiscoveryRequest request) {
    HeldNack held = heldNack.get();
    heldNack.remove();
    return held != null && held.request == request ? held : null;
  }

  /** The connected agents, by stream id. */
  List<AgentStatus> agents() {
    List<AgentStatus> out = new ArrayList<>(streams.size());
    for (StreamState state : streams.values()) {
      out.add(state.status(servedVersion));
    }
    out.sort(Comparator.comparingLong(AgentStatus::streamId));
    return out;
  }

  int streamCount() {
    return streams.size();
  }

  private enum Kind {
    SUBSCRIBE,
    STALE,
    ACK,
    NACK
  }

  /** What one request meant. */
  private static final class Outcome {
    static final Outcome SUBSCRIBE = new Outcome(Kind.SUBSCRIBE, false, null, null, List.of());
    static final Outcome STALE = new Outcome(Kind.STALE, false, null, null, List.of());

    final Kind kind;
    final boolean newVersion; // ACK: the agent had not ACKed this version on this stream before
    final String rejectedVersion; // NACK
    final String keptVersion; // NACK: the version the agent still runs, null if none
    final List<String> previousNames; // NACK: the subscription the rejected response answered

    Outcome(
        Kind kind,
        boolean newVersion,
        String rejectedVersion,
        String keptVersion,
        List<String> previousNames) {
      this.kind = kind;
      this.newVersion = newVersion;
      this.rejectedVersion = rejectedVersion;
      this.keptVersion = keptVersion;
      this.previousNames = previousNames;
    }
  }

  /** One ADS stream. */
  private static final class StreamState {
    final long streamId;
    final String remoteAddress;
    final String identity; // verified client certificate's SPIFFE id; null without one
    final String namespace; // identity's namespace; null without one
    final Instant connectedSince;
    final long openedNanos;

    // Guarded by this.
    private Node node;
    private final Map<String, TypeState> types = new HashMap<>();

    StreamState(
        long streamId,
        String remoteAddress,
        String identity,
        String namespace,
        Instant connectedSince,
        long openedNanos) {
      this.streamId = streamId;
      this.remoteAddress = remoteAddress;
      this.identity = identity;
      this.namespace = namespace;
      this.connectedSince = connectedSince;
      this.openedNanos = openedNanos;
    }

    synchronized Outcome onRequest(DiscoveryRequest request, Instant now) {
      // Clients send the node on the first request of a stream, and may omit it afterwards.
      if (node == null && request.hasNode()) {
        node = request.getNode();
      }
      TypeState type = types.computeIfAbsent(request.getTypeUrl(), TypeState::new);
      String nonce = request.getResponseNonce();
      if (type.sentNonce == null ? !nonce.isEmpty() : !type.sentNonce.equals(nonce)) {
        return Outcome.STALE;
      }
      List<String> previousNames = type.subscribed;
      type.subscribed = List.copyOf(request.getResourceNamesList());
      if (type.sentNonce == null) {
        if (!request.getVersionInfo().isEmpty() && !request.hasErrorDetail()) {
          // A reconnecting agent names the version it runs (it ACKed it on an earlier stream).
          // The cache answers only when it holds another, so a stream that resumes in sync is
          // sent nothing: without this it would look as if the agent had no config at all.
          type.ackedVersion = request.getVersionInfo();
          type.ackedAt = now;
        }
        return Outcome.SUBSCRIBE;
      }
      if (request.hasErrorDetail()) {
        type.nacked = true;
        type.lastNack =
            new AgentStatus.Nack(
                type.sentVersion,
                request.getErrorDetail().getCode(),
                request.getErrorDetail().getMessage(),
                now);
        return new Outcome(Kind.NACK, false, type.sentVersion, type.ackedVersion, previousNames);
      }
      boolean newVersion = !request.getVersionInfo().equals(type.ackedVersion);
      type.ackedVersion = request.getVersionInfo();
      type.ackedAt = now;
      type.nacked = false;
      return new Outcome(Kind.ACK, newVersion, null, null, List.of());
    }

    synchronized void onResponse(DiscoveryResponse response, Instant now) {
      TypeState type = types.computeIfAbsent(response.getTypeUrl(), TypeState::new);
      type.sentVersion = response.getVersionInfo();
      type.sentNonce = response.getNonce();
      type.sentAt = now;
      type.sentResources = response.getResourcesCount();
      type.nacked = false; // the agent has not answered this one yet
    }

    synchronized String who() {
      String id = node == null ? "(no node yet)" : node.getId();
      String from = remoteAddress == null ? "address unknown" : remoteAddress;
      return id + " (stream " + streamId + ", " + from + ")";
    }

    synchronized AgentStatus status(BiFunction<String, String, String> servedVersion) {
      String group = XdsServer.group(node == null ? "" : node.getUserAgentName(), namespace);
      Map<String, AgentStatus.TypeStatus> typeStatus = new LinkedHashMap<>();
      types.values().stream()
          .sorted(
              Comparator.comparingInt((TypeState t) -> XdsTypes.order(t.typeUrl))
                  .thenComparing(t -> t.typeUrl))
          .forEach(
              t ->
                  typeStatus.put(
                      XdsTypes.shortName(t.typeUrl),
                      t.status(servedVersion.apply(group, t.typeUrl))));
      String userAgent = null;
      if (node != null && !node.getUserAgentName().isEmpty()) {
        userAgent =
            node.getUserAgentVersion().isEmpty()
                ? node.getUserAgentName()
                : node.getUserAgentName() + " " + node.getUserAgentVersion();
      }
      return new AgentStatus(
          streamId,
          node == null ? null : node.getId(),
          node == null ? null : node.getCluster(),
          userAgent,
          node == null ? Struct.getDefaultInstance() : node.getMetadata(),
          remoteAddress,
          identity,
          connectedSince,
          typeStatus);
    }
  }

  /** One resource type on one stream; guarded by its stream's lock. */
  private static final class TypeState {
    final String typeUrl;
    List<String> subscribed = List.of();
    String sentVersion;
    String sentNonce;
    Instant sentAt;
    int sentResources;
    String ackedVersion;
    Instant ackedAt;
    boolean nacked;
    AgentStatus.Nack lastNack;

    TypeState(String typeUrl) {
      this.typeUrl = typeUrl;
    }

    AgentStatus.TypeStatus status(String servedVersion) {
      return new AgentStatus.TypeStatus(
          typeUrl,
          subscribed,
          servedVersion,
          sentVersion,
          sentNonce,
          sentAt,
          sentResources,
          ackedVersion,
          ackedAt,
          nacked,
          lastNack);
    }
  }
}
