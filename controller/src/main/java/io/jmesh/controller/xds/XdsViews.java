package io.jmesh.controller.xds;

import java.util.Objects;

/**
 * What one version of the mesh serves to each group of xDS clients ({@link XdsServer#update(XdsViews)}):
 * the public view (streams without a verified identity), the view of each namespace (streams whose
 * client certificate names it) and that of standard proxyless gRPC clients. All carry the same
 * version.
 *
 * <p>A namespace's view may be computed on first use ({@link #namespace}), then kept: the server
 * asks for the views of connected namespaces only.
 *
 * <p>Thread-safety: implementations must allow calls from any thread; the server calls one at a
 * time.
 */
public interface XdsViews {
  /** The version every view carries. */
  default String version() {
    return publicView().version();
  }

  /** What a jmesh agent without a verified identity gets. */
  XdsResources publicView();

  /** What standard proxyless gRPC clients ({@link XdsServer#PROXYLESS_GROUP}) get. */
  XdsResources proxyless();

  /**
   * What the agents of {@code namespace} get: {@link #publicView()} itself (the same object, so
   * that its resources are shared) when that namespace sees the public view.
   *
   * @throws RuntimeException if the view cannot be translated; the server keeps that namespace's
   *     previous snapshot
   */
  XdsResources namespace(String namespace);

  /** The same resources for every jmesh agent, and {@code proxyless} for gRPC clients. */
  static XdsViews of(XdsResources agents, XdsResources proxyless) {
    Objects.requireNonNull(agents, "agents");
    Objects.requireNonNull(proxyless, "proxyless");
    return new XdsViews() {
      @Override
      public XdsResources publicView() {
        return agents;
      }

      @Override
      public XdsResources proxyless() {
        return proxyless;
      }

      @Override
      public XdsResources namespace(String namespace) {
        return agents;
      }
    };
  }
}
