package io.jmesh.controller.xds;

import com.google.common.cache.Cache;
import com.google.common.cache.CacheBuilder;
import com.google.protobuf.Any;
import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.server.serializer.ProtoResourcesSerializer;
import java.util.concurrent.ExecutionException;

/**
 * Packs each resource into an {@link Any} once per resource object rather than once per agent:
 * every agent is sent the same objects of one snapshot. Keys are weak and compared by identity,
 * so a lookup costs a pointer comparison (java-control-plane's {@code
 * CachedProtoResourcesSerializer} compares keys with {@code equals}, a deep comparison of whole
 * Clusters and ClusterLoadAssignments that cost more than packing them again), and resources of
 * replaced snapshots are collected with them.
 */
final class IdentityCachingSerializer implements ProtoResourcesSerializer {
  private final Cache<Message, Any> packed = CacheBuilder.newBuilder().weakKeys().build();

  @Override
  public Any serialize(Message resource, Resources.ApiVersion apiVersion) {
    try {
      return packed.get(resource, () -> Any.pack(resource));
    } catch (ExecutionException e) {
      // Any.pack throws nothing checked; this cannot happen.
      throw new IllegalStateException("cannot pack " + resource.getDescriptorForType().getFullName(), e);
    }
  }
}
