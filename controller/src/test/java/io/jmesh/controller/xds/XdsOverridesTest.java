package io.jmesh.controller.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import java.util.List;
import org.junit.jupiter.api.Test;

class XdsOverridesTest {
  private static final XdsResources TRANSLATED =
      new XdsResources(
          "v1",
          List.of(),
          List.of(),
          List.of(
              Cluster.newBuilder().setName("hello.default").build(),
              Cluster.newBuilder().setName("other.default").build()),
          List.of());

  @Test
  void replacesTheResourceOfTheSameTypeAndNameAndChangesTheVersion() {
    XdsOverrides overrides =
        XdsOverrides.parse(
            "overrides.json",
            """
            {"resources": [{"@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster",
                            "name": "hello.default", "lb_policy": "MAGLEV"}]}
            """);

    XdsResources out = overrides.applyTo(TRANSLATED);

    assertThat(out.clusters()).extracting(Cluster::getName).containsExactly("hello.default", "other.default");
    assertThat(out.clusters().get(0).getLbPolicy()).isEqualTo(Cluster.LbPolicy.MAGLEV);
    assertThat(out.version()).startsWith("v1+o").isNotEqualTo(TRANSLATED.version());
    assertThat(XdsOverrides.NONE.applyTo(TRANSLATED)).isSameAs(TRANSLATED);
  }

  @Test
  void rejectsWhatIsNotAResourceListNamingTheFileAndTheIndex() {
    assertThatThrownBy(() -> XdsOverrides.parse("o.json", "{\"resource\": []}"))
        .hasMessage("o.json: fields [resource] (expected: exactly one field 'resources', a list)");
    assertThatThrownBy(
            () ->
                XdsOverrides.parse(
                    "o.json",
                    "{\"resources\": [{\"@type\": \"type.googleapis.com/envoy.config.cluster.v3.Cluster\", \"nme\": \"x\"}]}"))
        .hasMessageStartingWith("o.json: resources[0]: ")
        .hasMessageContaining("nme");
    assertThatThrownBy(
            () ->
                XdsOverrides.parse(
                    "o.json",
                    "{\"resources\": [{\"@type\": \"type.googleapis.com/envoy.extensions.filters.http.router.v3.Router\"}]}"))
        .hasMessageContaining("is not a resource type");
  }
}
