package io.jmesh.controller.xds;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import org.junit.jupiter.api.Test;

class IdentityCachingSerializerTest {
  private final IdentityCachingSerializer serializer = new IdentityCachingSerializer();

  @Test
  void theSameResourceIsPackedOnce() throws Exception {
    Cluster cluster = Cluster.newBuilder().setName("hello.default").build();
    Any first = serializer.serialize(cluster, Resources.ApiVersion.V3);
    assertThat(serializer.serialize(cluster, Resources.ApiVersion.V3)).isSameAs(first);
    assertThat(first.unpack(Cluster.class)).isEqualTo(cluster);
  }

  @Test
  void anEqualButDistinctResourceIsPackedAgainWithoutComparingContents() {
    Cluster a = Cluster.newBuilder().setName("hello.default").build();
    Cluster b = Cluster.newBuilder().setName("hello.default").build();
    Any packedA = serializer.serialize(a, Resources.ApiVersion.V3);
    Any packedB = serializer.serialize(b, Resources.ApiVersion.V3);
    assertThat(packedB).isNotSameAs(packedA).isEqualTo(packedA);
  }
}
