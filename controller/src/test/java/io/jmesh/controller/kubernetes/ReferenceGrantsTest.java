package io.jmesh.controller.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.gatewayapi.v1beta1.ReferenceGrant;
import io.fabric8.kubernetes.api.model.gatewayapi.v1beta1.ReferenceGrantBuilder;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which references a ReferenceGrant allows: each field of from and to must match. */
class ReferenceGrantsTest {
  private static ReferenceGrant grant(
      String namespace, String fromGroup, String fromKind, String fromNamespace, String toGroup,
      String toName) {
    return new ReferenceGrantBuilder()
        .withNewMetadata().withName("g").withNamespace(namespace).endMetadata()
        .withNewSpec()
        .addNewFrom().withGroup(fromGroup).withKind(fromKind).withNamespace(fromNamespace).endFrom()
        .addNewTo().withGroup(toGroup).withKind("Service").withName(toName).endTo()
        .endSpec()
        .build();
  }

  private static boolean allows(ReferenceGrant g) {
    return ReferenceGrants.of(List.of(g)).allowsService("HTTPRoute", "mesh", "store", "cart");
  }

  @Test
  void aGrantMatchingEveryFieldAllows() {
    String gw = "gateway.networking.k8s.io";
    assertThat(allows(grant("store", gw, "HTTPRoute", "mesh", "", null))).isTrue();
    assertThat(allows(grant("store", gw, "HTTPRoute", "mesh", "", "cart"))).isTrue();
    assertThat(allows(grant("store", gw, "HTTPRoute", "mesh", "core", "cart"))).isTrue();
  }

  @Test
  void aGrantDifferingInAnyFieldDoesNot() {
    String gw = "gateway.networking.k8s.io";
    assertThat(allows(grant("mesh", gw, "HTTPRoute", "mesh", "", null))).as("lives elsewhere")
        .isFalse();
    assertThat(allows(grant("store", "", "HTTPRoute", "mesh", "", null))).as("from group")
        .isFalse();
    assertThat(allows(grant("store", gw, "GRPCRoute", "mesh", "", null))).as("from kind")
        .isFalse();
    assertThat(allows(grant("store", gw, "HTTPRoute", "shop", "", null))).as("from namespace")
        .isFalse();
    assertThat(allows(grant("store", gw, "HTTPRoute", "mesh", "apps", null))).as("to group")
        .isFalse();
    assertThat(allows(grant("store", gw, "HTTPRoute", "mesh", "", "orders"))).as("to name")
        .isFalse();
    assertThat(ReferenceGrants.NONE.allowsService("HTTPRoute", "mesh", "store", "cart")).isFalse();
  }
}
