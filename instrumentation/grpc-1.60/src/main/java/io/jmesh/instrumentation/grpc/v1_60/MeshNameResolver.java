package io.jmesh.instrumentation.grpc.v1_60;

import io.grpc.Attributes;
import io.grpc.EquivalentAddressGroup;
import io.grpc.NameResolver;
import io.grpc.Status;
import io.grpc.SynchronizationContext;
import io.jmesh.bridge.BridgeCalls;
import io.jmesh.bridge.MeshBridge;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * Reports a mesh destination's endpoints, as the runtime's config in force lists them, one
 * address group per endpoint. The authority stays the logical {@code host:port}. Re-reads when
 * the runtime's config changes (a file reload, a controller push: {@code BridgeCalls
 * .onConfigChange}) and reports again if this destination's endpoints changed, so that
 * {@link MeshLoadBalancer} shuts the subchannels of removed endpoints down; and on
 * {@link #refresh()}, which the balancer asks for when the runtime picks an endpoint it has no
 * subchannel for, or a subchannel fails. Runs in the channel's synchronization context (the
 * runtime's notice is handed to it); the lookup is in memory and does not block.
 */
final class MeshNameResolver extends NameResolver {
  private final String host;
  private final int port;
  private final SynchronizationContext syncContext;
  private Listener2 listener;
  private List<InetSocketAddress> reported; // what the listener last heard; null before
  private Runnable unsubscribe; // stops the runtime's notices; null when not subscribed

  MeshNameResolver(String host, int port, SynchronizationContext syncContext) {
    this.host = host;
    this.port = port;
    this.syncContext = syncContext;
  }

  @Override
  public String getServiceAuthority() {
    return host + ":" + port;
  }

  @Override
  public void start(Listener2 listener) {
    this.listener = listener;
    BridgeCalls calls = MeshBridge.calls();
    if (calls != null) {
      try {
        // The runtime's thread only queues the re-read; it runs in the synchronization context.
        unsubscribe = calls.onConfigChange(() -> syncContext.execute(this::configChanged));
      } catch (Throwable t) {
        // Without notices, removed endpoints go when their subchannel fails or on a refresh.
        MeshBridge.adviceError(GrpcInstrumentationModule.NAME, t);
      }
    }
    resolve(false);
  }

  @Override
  public void refresh() {
    if (listener != null) {
      resolve(false);
    }
  }

  private void configChanged() {
    if (listener != null) {
      resolve(true); // most changes are to other destinations: report only this one's
    }
  }

  private void resolve(boolean onlyIfChanged) {
    List<InetSocketAddress> endpoints;
    try {
      BridgeCalls calls = MeshBridge.calls();
      endpoints = calls == null ? null : calls.endpoints(host, port);
    } catch (Throwable t) {
      MeshBridge.adviceError(GrpcInstrumentationModule.NAME, t);
      endpoints = null;
    }
    if (endpoints == null) {
      if (onlyIfChanged && reported == null) {
        return;
      }
      reported = null;
      listener.onError(
          Status.UNAVAILABLE.withDescription(
              "jmesh: " + host + ":" + port + " is no longer a mesh destination; recreate the channel"));
      return;
    }
    if (onlyIfChanged && endpoints.equals(reported)) {
      return;
    }
    reported = endpoints;
    List<EquivalentAddressGroup> groups = new ArrayList<>(endpoints.size());
    for (InetSocketAddress a : endpoints) {
      groups.add(new EquivalentAddressGroup(a));
    }
    listener.onResult(ResolutionResult.newBuilder().setAddresses(groups).setAttributes(Attributes.EMPTY).build());
  }

  @Override
  public void shutdown() {
    listener = null;
    if (unsubscribe != null) {
      unsubscribe.run();
      unsubscribe = null;
    }
  }
}
