package io.jmesh.instrumentation.grpc.v1_60;

import io.grpc.Attributes;
import io.grpc.EquivalentAddressGroup;
import io.grpc.NameResolver;
import io.grpc.Status;
import io.jmesh.bridge.BridgeCalls;
import io.jmesh.bridge.MeshBridge;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * Reports a mesh destination's endpoints, as the runtime's config in force lists them, one
 * address group per endpoint. The authority stays the logical {@code host:port}. Re-reads on
 * {@link #refresh()}, which {@link MeshLoadBalancer} asks for when the runtime picks an endpoint it
 * has no subchannel for, or a subchannel fails. Called in the channel's synchronization context;
 * the lookup is in memory and does not block.
 */
final class MeshNameResolver extends NameResolver {
  private final String host;
  private final int port;
  private Listener2 listener;

  MeshNameResolver(String host, int port) {
    this.host = host;
    this.port = port;
  }

  @Override
  public String getServiceAuthority() {
    return host + ":" + port;
  }

  @Override
  public void start(Listener2 listener) {
    this.listener = listener;
    resolve();
  }

  @Override
  public void refresh() {
    if (listener != null) {
      resolve();
    }
  }

  private void resolve() {
    List<InetSocketAddress> endpoints;
    try {
      BridgeCalls calls = MeshBridge.calls();
      endpoints = calls == null ? null : calls.endpoints(host, port);
    } catch (Throwable t) {
      MeshBridge.adviceError(GrpcInstrumentationModule.NAME, t);
      endpoints = null;
    }
    if (endpoints == null) {
      listener.onError(
          Status.UNAVAILABLE.withDescription(
              "jmesh: " + host + ":" + port + " is no longer a mesh destination; recreate the channel"));
      return;
    }
    List<EquivalentAddressGroup> groups = new ArrayList<>(endpoints.size());
    for (InetSocketAddress a : endpoints) {
      groups.add(new EquivalentAddressGroup(a));
    }
    listener.onResult(ResolutionResult.newBuilder().setAddresses(groups).setAttributes(Attributes.EMPTY).build());
  }

  @Override
  public void shutdown() {
    listener = null;
  }
}
