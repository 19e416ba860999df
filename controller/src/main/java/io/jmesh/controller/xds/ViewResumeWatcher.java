package io.jmesh.controller.xds;

import io.envoyproxy.controlplane.cache.ConfigWatcher;
import io.envoyproxy.controlplane.cache.Response;
import io.envoyproxy.controlplane.cache.Watch;
import io.envoyproxy.controlplane.cache.XdsRequest;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * Answers at once a stream that resumes into a namespace view with the version it holds.
 *
 * <p>An agent starts without a certificate (the public view), then reconnects presenting it and
 * names the version it holds. Its namespace's view has the same version but may hold more
 * Services or other routes; {@code SimpleCache} would see the version as current and, for the
 * wildcard Listener request, send nothing until the next version. So the first request of a
 * stream whose namespace sees other than the public view is passed on as if it held no version.
 * (Requests by name are answered at once on a new stream anyway: none is known to it yet.) Other
 * streams resume as before: a reconnect does not push the same content again.
 *
 * <p>Thread-safety: as the delegate; {@code differs} is read on the request's thread, inside its
 * gRPC context.
 */
final class ViewResumeWatcher extends ForwardingConfigWatcher {
  private final Predicate<String> differs;

  /** @param differs whether a namespace's view, in the cache now, differs from the public one */
  ViewResumeWatcher(ConfigWatcher delegate, Predicate<String> differs) {
    super(delegate);
    this.differs = differs;
  }

  @Override
  public Watch createWatch(
      boolean ads,
      XdsRequest request,
      Set<String> knownResourceNames,
      Consumer<Response> responseConsumer,
      boolean hasClusterChanged,
      boolean allowDefaultEmptyEdsUpdate) {
    String namespace = PeerIdentityInterceptor.currentNamespace();
    XdsRequest asked = request;
    if (request.getResponseNonce().isEmpty()
        && !request.getVersionInfo().isEmpty()
        && namespace != null
        && XdsServer.group(request.v3Request().getNode())
            .equals(XdsServer.namespaceGroup(namespace))
        && differs.test(namespace)) {
      asked = XdsRequest.create(request.v3Request().toBuilder().clearVersionInfo().build());
    }
    return delegate.createWatch(
        ads, asked, knownResourceNames, responseConsumer, hasClusterChanged,
        allowDefaultEmptyEdsUpdate);
  }
}
