package io.jmesh.controller;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmesh.controller.source.MeshViews;
import io.jmesh.controller.xds.XdsResources;
import io.jmesh.controller.xds.XdsTranslator;
import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.config.Service;
import io.jmesh.runtime.config.ServiceEndpoint;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Namespace views cost a translation only where they differ from the public view, once each. */
class TranslatedViewsTest {
  private static final MeshSnapshot SNAPSHOT =
      new MeshSnapshot("v1", List.of(service("catalog"), service("cart")));

  private final AtomicInteger translations = new AtomicInteger();

  private XdsResources translate(MeshSnapshot view) {
    translations.incrementAndGet();
    return XdsTranslator.translate(view, "cluster.local");
  }

  @Test
  void aNamespaceThatSeesThePublicViewSharesItsObjects() {
    MeshViews views = new MeshViews(Map.of("cart.shop", Set.of("shop")), Map.of());
    XdsResources publicView = translate(views.publicView(SNAPSHOT));
    translations.set(0);
    TranslatedViews v = new TranslatedViews(SNAPSHOT, views, publicView, publicView, this::translate);

    // ops may see no restricted service: the public view itself, no translation.
    assertThat(v.namespace("ops")).isSameAs(publicView);
    assertThat(translations).hasValue(0);

    // shop may see cart: its own view, translated once however often it is asked for.
    XdsResources shop = v.namespace("shop");
    assertThat(v.namespace("shop")).isSameAs(shop);
    assertThat(translations).hasValue(1);
    assertThat(v.translated()).isEqualTo(1);
    assertThat(shop.listeners()).hasSize(2);
    assertThat(publicView.listeners()).hasSize(1);
    assertThat(shop.version()).isEqualTo(publicView.version());
  }

  @Test
  void withoutViewsEveryNamespaceGetsTheWholeSnapshot() {
    // The file source: no namespaces, so every group is served what it was before views.
    XdsResources all = translate(SNAPSHOT);
    TranslatedViews v = new TranslatedViews(SNAPSHOT, MeshViews.NONE, all, all, this::translate);
    assertThat(MeshViews.NONE.publicView(SNAPSHOT)).isSameAs(SNAPSHOT);
    assertThat(v.namespace("shop")).isSameAs(all);
    assertThat(v.namespace("web")).isSameAs(all);
    assertThat(translations).hasValue(1);
  }

  private static Service service(String name) {
    return new Service(
        name, "shop", List.of(80), List.of(new ServiceEndpoint("127.0.0.2", 8080, 1, Map.of())),
        List.of());
  }
}
