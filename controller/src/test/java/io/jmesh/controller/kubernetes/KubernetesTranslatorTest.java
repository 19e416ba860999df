package io.jmesh.controller.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmesh.controller.kubernetes.KubernetesTranslator.Translation;
import io.jmesh.controller.kubernetes.RouteStatus.Condition;
import io.jmesh.runtime.config.MeshConfigParser;
import io.jmesh.runtime.config.MeshSnapshot;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.yaml.snakeyaml.Yaml;

/**
 * The pure translation, fixture by fixture: {@code objects.yaml} (Kubernetes objects, shaped after
 * Gateway API's mesh conformance cases) must give the model that the file source parses from
 * {@code mesh.yaml}, and the route statuses and notes of {@code status.yaml}.
 */
class KubernetesTranslatorTest {

  @ParameterizedTest
  @ValueSource(strings = {
    "endpoints", "weighted-split", "grpc-method", "statuses", "filters", "consumer-route",
    "export-to", "reference-grant", "mirror"
  })
  void fixtureGivesTheModelOfItsMeshFile(String fixture) throws Exception {
    Translation t =
        KubernetesTranslator.translate(
            Fixtures.state(Fixtures.objects(fixture + "/objects.yaml")), "cluster.local");

    // The same model the file source would serve for mesh.yaml.
    MeshSnapshot expected =
        MeshConfigParser.parse(fixture + "/mesh.yaml", Fixtures.text(fixture + "/mesh.yaml"), "x");
    assertThat(t.services()).containsExactlyElementsOf(expected.services());

    Map<String, Object> status = new Yaml().load(Fixtures.text(fixture + "/status.yaml"));
    @SuppressWarnings("unchecked")
    List<Map<String, String>> statuses = (List<Map<String, String>>) status.get("statuses");
    assertThat(t.statuses()).hasSize(statuses.size());
    for (Map<String, String> want : statuses) {
      RouteStatus.Key key =
          t.statuses().keySet().stream()
              .filter(k -> k.toString().equals(want.get("route")))
              .findFirst()
              .orElseThrow(() -> new AssertionError("no status for " + want.get("route")));
      List<RouteStatus> got = t.statuses().get(key);
      if (want.get("parent") == null) {
        // A route with no Service parent is not jmesh's: no status at all.
        assertThat(got).as(key.toString()).isEmpty();
        continue;
      }
      assertThat(got).as(key.toString()).hasSize(1);
      RouteStatus parent = got.get(0);
      assertThat(parent.parentRef().getName()).isEqualTo(want.get("parent"));
      Condition accepted = parent.conditions().get(0);
      Condition resolved = parent.conditions().get(1);
      assertThat(accepted.type() + " " + accepted.status() + " " + accepted.reason())
          .as(key + " " + accepted.message())
          .isEqualTo("Accepted " + want.get("Accepted"));
      assertThat(resolved.type() + " " + resolved.status() + " " + resolved.reason())
          .as(key + " " + resolved.message())
          .isEqualTo("ResolvedRefs " + want.get("ResolvedRefs"));
      if (want.get("message") != null) {
        assertThat(accepted.message() + " | " + resolved.message())
            .as(key.toString())
            .contains(want.get("message"));
      }
    }
    @SuppressWarnings("unchecked")
    List<String> notes = (List<String>) status.get("notes");
    assertThat(t.notes()).hasSize(notes.size());
    for (int i = 0; i < notes.size(); i++) {
      assertThat(t.notes().get(i)).startsWith(notes.get(i));
    }
  }

  /**
   * What one namespace's agents see ({@code view-<namespace>.yaml}; {@code public}: streams without
   * an identity), and whether a namespace shares the public view's translation.
   */
  @ParameterizedTest
  @CsvSource({
    "consumer-route, public, ",
    "consumer-route, gateway-conformance-mesh, public",
    "consumer-route, gateway-conformance-mesh-consumer, gateway-conformance-mesh-consumer",
    "consumer-route, elsewhere, public",
    "export-to, public, ",
    "export-to, shop, shop",
    "export-to, web, web",
    "export-to, ops, public",
  })
  void namespaceSeesItsView(String fixture, String namespace, String expectedView)
      throws Exception {
    Translation t =
        KubernetesTranslator.translate(
            Fixtures.state(Fixtures.objects(fixture + "/objects.yaml")), "cluster.local");
    MeshSnapshot full = new MeshSnapshot("v1", t.services());
    String file = expectedView == null ? "public" : expectedView;
    String path = fixture + "/" + (file.equals("public") && fixture.equals("consumer-route")
        ? "mesh.yaml" // no Service restricts its export: the public view is the whole model
        : "view-" + file + ".yaml");
    MeshSnapshot expected = MeshConfigParser.parse(path, Fixtures.text(path), "x");

    MeshSnapshot view =
        namespace.equals("public") ? t.views().publicView(full) : t.views().view(full, namespace);

    assertThat(view.services()).containsExactlyElementsOf(expected.services());
    assertThat(view.version()).isEqualTo("v1");
    if (!namespace.equals("public")) {
      assertThat(t.views().seesPublicView(namespace))
          .as(namespace + " shares the public view")
          .isEqualTo(file.equals("public"));
    }
  }

  @Test
  void badExportValuesFailClosedNamingTheAnnotation() {
    for (String bad : new String[] {"", " ", "Web", "*,web", "web,,shop", "web/ns", "-web"}) {
      ExportTo export = ExportTo.parse("shop", "cart", bad);
      assertThat(export.namespaces()).as(bad).containsExactly("shop");
      assertThat(export.problem())
          .as(bad)
          .startsWith("Service shop/cart: annotation jmesh.io/export-to: \"" + bad + "\" (expected:")
          .endsWith("visible in its own namespace shop only");
    }
    assertThat(ExportTo.parse("shop", "cart", null).all()).isTrue();
    assertThat(ExportTo.parse("shop", "cart", " * ").all()).isTrue();
    assertThat(ExportTo.parse("shop", "cart", ".").namespaces()).containsExactly("shop");
    assertThat(ExportTo.parse("shop", "cart", "web , .").namespaces())
        .containsExactlyInAnyOrder("web", "shop");
    assertThat(ExportTo.parse("shop", "cart", "web").namespaces()).containsExactly("web");
  }

  @ParameterizedTest
  @ValueSource(strings = {
    "endpoints", "weighted-split", "grpc-method", "statuses", "filters", "consumer-route",
    "export-to", "reference-grant", "mirror"
  })
  void translationIsPure(String fixture) {
    ClusterState state = Fixtures.state(Fixtures.objects(fixture + "/objects.yaml"));
    assertThat(KubernetesTranslator.translate(state, "cluster.local"))
        .isEqualTo(KubernetesTranslator.translate(state, "cluster.local"));
  }
}
