package io.jmesh.controller.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.jmesh.runtime.xds.XdsNames;
import java.util.List;
import org.junit.jupiter.api.Test;

class TypedSnapshotTest {
  @Test
  void aTypeEqualToTheBaseKeepsItsVersionAChangedOneTakesTheFreshOne() {
    TypedSnapshot v1 = TypedSnapshot.of(resources("v1", "l", "e1"), "v1");
    // Equal, not the same objects: built anew as a new translation would.
    TypedSnapshot v2 = TypedSnapshot.of(resources("v2", "l", "e2"), "v2", v1);
    assertThat(v2.versions()).containsExactly("v1", "v1", "v1", "v2");
    assertThat(v2.snapshot().listeners().version()).isEqualTo("v1");
    assertThat(v2.snapshot().endpoints().version()).isEqualTo("v2");
    assertThat(v2.version(XdsNames.ENDPOINT_TYPE)).isEqualTo("v2");
  }

  @Test
  void aNamespaceTakesThePublicVersionWhereItsContentIsThePublicOnes() {
    TypedSnapshot publicView = TypedSnapshot.of(resources("v1", "l", "e1"), "v1");
    TypedSnapshot shop = TypedSnapshot.of(resources("v2", "l-shop", "e1"), "v2/shop", publicView);
    assertThat(shop.versions()).containsExactly("v2/shop", "v1", "v1", "v1");
    // Unchanged next time: keeps its own versions.
    TypedSnapshot publicV3 = TypedSnapshot.of(resources("v3", "l", "e3"), "v3", publicView);
    TypedSnapshot shopV3 =
        TypedSnapshot.of(resources("v3", "l-shop", "e3"), "v3/shop", publicV3, shop);
    assertThat(shopV3.versions()).containsExactly("v2/shop", "v1", "v1", "v3");
    assertThat(TypedSnapshot.sourceVersion("v2/shop")).isEqualTo("v2");
    assertThat(TypedSnapshot.sourceVersion("v2")).isEqualTo("v2");
  }

  private static XdsResources resources(String version, String listener, String endpoints) {
    return new XdsResources(
        version,
        List.of(Listener.newBuilder().setName(listener).build()),
        List.of(RouteConfiguration.newBuilder().setName("r").build()),
        List.of(Cluster.newBuilder().setName("c").build()),
        List.of(ClusterLoadAssignment.newBuilder().setClusterName(endpoints).build()));
  }
}
