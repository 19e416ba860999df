package io.jmesh.controller.xds;

import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Consumer;

/**
 * Knows the namespace of each ADS stream with a verified identity ({@link
 * PeerIdentityInterceptor#currentNamespace()}), so that {@link XdsServer} serves views to the
 * namespaces that have agents connected, and makes sure a stream's namespace has its snapshot
 * before the stream's request reaches the cache: java-control-plane calls {@link
 * #onV3StreamRequest} on the request's thread just before it opens the cache watch, and the cache
 * would wait forever for a group without a snapshot.
 *
 * <p>Thread-safety: callbacks come from gRPC threads; the map is concurrent.
 */
final class NamespaceStreams implements DiscoveryServerCallbacks {
  private final ConcurrentMap<Long, String> namespaces = new ConcurrentHashMap<>();
  private final Consumer<String> ensureView;

  /** @param ensureView gives a namespace the current version's snapshot if it lacks it */
  NamespaceStreams(Consumer<String> ensureView) {
    this.ensureView = ensureView;
  }

  /** The namespaces with a stream open now. */
  Set<String> connected() {
    return Set.copyOf(namespaces.values());
  }

  @Override
  public void onStreamOpen(long streamId, String typeUrl) {
    String namespace = PeerIdentityInterceptor.currentNamespace();
    if (namespace != null) {
      namespaces.put(streamId, namespace);
    }
  }

  @Override
  public void onStreamClose(long streamId, String typeUrl) {
    namespaces.remove(streamId);
  }

  @Override
  public void onStreamCloseWithError(long streamId, String typeUrl, Throwable error) {
    namespaces.remove(streamId);
  }

  @Override
  public void onV3StreamRequest(long streamId, DiscoveryRequest request) {
    String namespace = namespaces.get(streamId);
    if (namespace != null) {
      ensureView.accept(namespace);
    }
  }

  @Override
  public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request) {
    // Delta streams are refused by AgentTracker.
  }
}
