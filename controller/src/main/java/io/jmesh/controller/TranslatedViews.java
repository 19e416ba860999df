package io.jmesh.controller;

import io.jmesh.controller.source.MeshViews;
import io.jmesh.controller.xds.XdsResources;
import io.jmesh.controller.xds.XdsViews;
import io.jmesh.runtime.config.MeshSnapshot;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * One version's {@link XdsViews}: the public view and the proxyless one, translated before; a
 * namespace's view translated on the server's first ask (it asks only for namespaces with agents
 * connected), and only when that namespace sees more than the public view or other routes; then
 * kept for this version. A namespace that sees the public view gets its very objects: no
 * translation, and the server sends the same resources.
 *
 * <p>Thread-safety: safe from any thread; a namespace is translated at most once.
 */
final class TranslatedViews implements XdsViews {
  private final MeshSnapshot snapshot;
  private final MeshViews views;
  private final XdsResources publicView;
  private final XdsResources proxyless;
  private final Function<MeshSnapshot, XdsResources> translate;
  private final Map<String, XdsResources> namespaces = new ConcurrentHashMap<>();

  /**
   * @param snapshot the source's whole snapshot, which {@code views} cuts
   * @param translate a view to what the agents get, with the public view's version
   */
  TranslatedViews(
      MeshSnapshot snapshot,
      MeshViews views,
      XdsResources publicView,
      XdsResources proxyless,
      Function<MeshSnapshot, XdsResources> translate) {
    this.snapshot = snapshot;
    this.views = views;
    this.publicView = publicView;
    this.proxyless = proxyless;
    this.translate = translate;
  }

  @Override
  public XdsResources publicView() {
    return publicView;
  }

  @Override
  public XdsResources proxyless() {
    return proxyless;
  }

  @Override
  public XdsResources namespace(String namespace) {
    if (views.seesPublicView(namespace)) {
      return publicView;
    }
    return namespaces.computeIfAbsent(
        namespace, ns -> translate.apply(views.view(snapshot, ns)));
  }

  /** How many namespace views were translated: for tests. */
  int translated() {
    return namespaces.size();
  }
}
