package io.jmesh.controller.xds;

import io.envoyproxy.controlplane.cache.ConfigWatcher;
import io.envoyproxy.controlplane.cache.Response;
import io.envoyproxy.controlplane.cache.Watch;
import io.envoyproxy.controlplane.cache.XdsRequest;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Makes a NACK wait for the next snapshot instead of getting the rejected one again.
 *
 * <p>java-control-plane's {@code SimpleCache} answers at once any request whose {@code
 * version_info} differs from the snapshot's version. A NACK carries the version the agent kept, so
 * the cache would send the rejected version straight back, the agent would reject it again, and
 * the two would loop at network speed until the config changes. (It answers at once, too, when the
 * rejected response was the first of its type, because no name was ACKed yet.) Istio's pilot
 * likewise pushes nothing after a NACK until the config changes.
 *
 * <p>This wrapper turns a NACK, for the cache, into a request that has the rejected version and
 * knows the names the rejected response answered: the cache opens a watch and answers with the
 * next version. Names the agent adds in the same request are still answered at once. The
 * rejected version and names come from {@link AgentTracker}, which saw the same request object
 * just before on the same thread; when it did not (a future java-control-plane that calls from
 * elsewhere), the request goes to the cache unchanged, as without this class.
 *
 * <p>Thread-safety: as the delegate.
 */
final class NackHoldingWatcher extends ForwardingConfigWatcher {
  private final AgentTracker tracker;

  NackHoldingWatcher(ConfigWatcher delegate, AgentTracker tracker) {
    super(delegate);
    this.tracker = tracker;
  }

  @Override
  public Watch createWatch(
      boolean ads,
      XdsRequest request,
      Set<String> knownResourceNames,
      Consumer<Response> responseConsumer,
      boolean hasClusterChanged,
      boolean allowDefaultEmptyEdsUpdate) {
    AgentTracker.HeldNack held = tracker.takeHeldNack(request.v3Request());
    if (held == null || !request.hasErrorDetail()) {
      return delegate.createWatch(
          ads,
          request,
          knownResourceNames,
          responseConsumer,
          hasClusterChanged,
          allowDefaultEmptyEdsUpdate);
    }
    XdsRequest asIfCurrent =
        XdsRequest.create(
            request.v3Request().toBuilder().setVersionInfo(held.rejectedVersion()).build());
    return delegate.createWatch(
        ads,
        asIfCurrent,
        Set.copyOf(held.previousNames()),
        responseConsumer,
        false, // an EDS NACK must wait too, even right after a CDS response
        allowDefaultEmptyEdsUpdate);
  }
}
