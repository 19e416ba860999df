package io.jmesh.controller.xds;

import io.envoyproxy.controlplane.cache.ConfigWatcher;
import io.envoyproxy.controlplane.cache.DeltaResponse;
import io.envoyproxy.controlplane.cache.DeltaWatch;
import io.envoyproxy.controlplane.cache.DeltaXdsRequest;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * A {@link ConfigWatcher} that changes state-of-the-world requests before they reach {@code
 * delegate} and passes delta requests on unchanged: {@link AgentTracker} refuses delta streams, so
 * they are not reached.
 *
 * <p>Thread-safety: as the delegate.
 */
abstract class ForwardingConfigWatcher implements ConfigWatcher {
  final ConfigWatcher delegate;

  ForwardingConfigWatcher(ConfigWatcher delegate) {
    this.delegate = delegate;
  }

  @Override
  public final DeltaWatch createDeltaWatch(
      DeltaXdsRequest request,
      String requesterVersion,
      Map<String, String> resourceVersions,
      Set<String> pendingResources,
      boolean isWildcard,
      Consumer<DeltaResponse> responseConsumer,
      boolean hasClusterChanged) {
    return delegate.createDeltaWatch(
        request, requesterVersion, resourceVersions, pendingResources, isWildcard,
        responseConsumer, hasClusterChanged);
  }
}
