package io.jmesh.controller.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.jmesh.controller.kubernetes.AnchorCopyPlan.Action;
import io.jmesh.controller.kubernetes.TrustAnchorCopies.Scope;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which namespaces get the anchors' copy, what it holds, and what is done with what is there. */
class AnchorCopyPlanTest {
  static final String OWN = "jmesh-system";
  static final String PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

  @Test
  void everyNamespaceButTheSystemOnesAndTheControllersOwnGetsACopy() {
    assertThat(AnchorCopyPlan.skipReason(ns("shop"), OWN, Scope.ALL)).isNull();
    assertThat(AnchorCopyPlan.skipReason(ns("default"), OWN, Scope.ALL)).isNull();
    // A namespace that opts out as a whole may still hold pods opted in by their own label.
    assertThat(AnchorCopyPlan.skipReason(labelled("legacy", "disabled"), OWN, Scope.ALL)).isNull();
    for (String system : new String[] {"kube-system", "kube-public", "kube-node-lease"}) {
      assertThat(AnchorCopyPlan.skipReason(ns(system), OWN, Scope.ALL)).isEqualTo("a system namespace");
    }
    assertThat(AnchorCopyPlan.skipReason(ns(OWN), OWN, Scope.ALL))
        .isEqualTo("the controller's own namespace, which holds the original");
    assertThat(AnchorCopyPlan.skipReason(null, OWN, Scope.ALL)).isEqualTo("deleted");
  }

  @Test
  void aNamespaceBeingDeletedGetsNone() {
    Namespace phase = new NamespaceBuilder(ns("old")).withNewStatus().withPhase("Terminating").endStatus().build();
    Namespace stamped = new NamespaceBuilder(ns("older"))
        .editMetadata().withDeletionTimestamp("2026-12-07T10:00:00Z").endMetadata().build();
    assertThat(AnchorCopyPlan.skipReason(phase, OWN, Scope.ALL)).isEqualTo("being deleted");
    assertThat(AnchorCopyPlan.skipReason(stamped, OWN, Scope.ALL)).isEqualTo("being deleted");
    Namespace active = new NamespaceBuilder(ns("new")).withNewStatus().withPhase("Active").endStatus().build();
    assertThat(AnchorCopyPlan.skipReason(active, OWN, Scope.ALL)).isNull();
  }

  @Test
  void injectionEnabledTakesOnlyNamespacesLabelledEnabled() {
    assertThat(AnchorCopyPlan.skipReason(labelled("shop", "enabled"), OWN, Scope.INJECTION_ENABLED)).isNull();
    assertThat(AnchorCopyPlan.skipReason(labelled("legacy", "disabled"), OWN, Scope.INJECTION_ENABLED))
        .startsWith("not labelled jmesh.io/inject=enabled");
    assertThat(AnchorCopyPlan.skipReason(ns("default"), OWN, Scope.INJECTION_ENABLED))
        .startsWith("not labelled jmesh.io/inject=enabled");
    // The system and own namespaces stay out even when labelled.
    assertThat(AnchorCopyPlan.skipReason(labelled("kube-system", "enabled"), OWN, Scope.INJECTION_ENABLED))
        .isEqualTo("a system namespace");
    assertThat(AnchorCopyPlan.skipReason(labelled(OWN, "enabled"), OWN, Scope.INJECTION_ENABLED))
        .isNotNull();
  }

  @Test
  void noneTakesNothing() {
    assertThat(AnchorCopyPlan.skipReason(labelled("shop", "enabled"), OWN, Scope.NONE))
        .startsWith("copies turned off");
  }

  @Test
  void theScopeIsParsedAsTheFlagIsWritten() {
    assertThat(Scope.parse("all")).isEqualTo(Scope.ALL);
    assertThat(Scope.parse("injection-enabled")).isEqualTo(Scope.INJECTION_ENABLED);
    assertThat(Scope.parse("none")).isEqualTo(Scope.NONE);
    assertThatThrownBy(() -> Scope.parse("ALL"))
        .hasMessage("--trust-anchors-namespaces: \"ALL\" (expected: all, injection-enabled or none)");
  }

  @Test
  void theCopyHoldsTheAnchorsUnderTheAgentsKeyAndSaysItIsOurs() {
    ConfigMap copy = AnchorCopyPlan.desired("shop", PEM);
    assertThat(copy.getMetadata().getName()).isEqualTo("jmesh-trust-anchors");
    assertThat(copy.getMetadata().getNamespace()).isEqualTo("shop");
    assertThat(copy.getMetadata().getLabels())
        .containsEntry("app.kubernetes.io/managed-by", "jmesh-controller")
        .containsEntry("app.kubernetes.io/part-of", "jmesh");
    // The key the injector's mount and JMESH_TRUST_ANCHORS_FILE name.
    assertThat(copy.getData()).isEqualTo(Map.of("trust-anchors.pem", PEM));
    assertThat(AnchorCopyPlan.managed(copy)).isTrue();
  }

  @Test
  void absentIsCreatedOursAndCurrentIsLeftOursAndStaleIsRewritten() {
    assertThat(AnchorCopyPlan.decide(null, PEM)).isEqualTo(Action.CREATE);
    ConfigMap ours = AnchorCopyPlan.desired("shop", PEM);
    assertThat(AnchorCopyPlan.decide(ours, PEM)).isEqualTo(Action.NONE);
    // A rotation adds a second anchor: the copy holding one is stale.
    assertThat(AnchorCopyPlan.decide(ours, PEM + PEM)).isEqualTo(Action.UPDATE);
    // A key added by hand is taken out again: the copy holds the anchors only.
    ConfigMap extraKey = new ConfigMapBuilder(ours).addToData("other", "x").build();
    assertThat(AnchorCopyPlan.decide(extraKey, PEM)).isEqualTo(Action.UPDATE);
    ConfigMap binary = new ConfigMapBuilder(ours).addToBinaryData("b", "AA==").build();
    assertThat(AnchorCopyPlan.decide(binary, PEM)).isEqualTo(Action.UPDATE);
  }

  @Test
  void aConfigMapWithoutOurLabelIsForeignWhateverItHolds() {
    ConfigMap handMade = new ConfigMapBuilder().withNewMetadata().withName("jmesh-trust-anchors")
        .withNamespace("shop").endMetadata().addToData("trust-anchors.pem", "old").build();
    assertThat(AnchorCopyPlan.decide(handMade, PEM)).isEqualTo(Action.FOREIGN);
    // Even when it holds the right anchors: it is someone else's to keep.
    handMade.getData().put("trust-anchors.pem", PEM);
    assertThat(AnchorCopyPlan.decide(handMade, PEM)).isEqualTo(Action.FOREIGN);
    // jmesh install's label on the original is not ours either.
    ConfigMap installed = new ConfigMapBuilder(handMade).editMetadata()
        .addToLabels("app.kubernetes.io/managed-by", "jmesh-install").endMetadata().build();
    assertThat(AnchorCopyPlan.decide(installed, PEM)).isEqualTo(Action.FOREIGN);
  }

  @Test
  void aRewriteKeepsTheVersionReadAndOthersLabels() {
    ConfigMap stale = new ConfigMapBuilder(AnchorCopyPlan.desired("shop", "old"))
        .editMetadata().withResourceVersion("42").addToLabels("team", "shop").endMetadata()
        .addToData("other", "x").build();
    ConfigMap rewritten = AnchorCopyPlan.rewrite(stale, PEM);
    assertThat(rewritten.getMetadata().getResourceVersion()).isEqualTo("42");
    assertThat(rewritten.getMetadata().getLabels()).containsEntry("team", "shop")
        .containsEntry("app.kubernetes.io/managed-by", "jmesh-controller");
    assertThat(rewritten.getData()).isEqualTo(Map.of("trust-anchors.pem", PEM));
    assertThat(AnchorCopyPlan.decide(rewritten, PEM)).isEqualTo(Action.NONE);
  }

  private static Namespace ns(String name) {
    return new NamespaceBuilder().withNewMetadata().withName(name).endMetadata().build();
  }

  private static Namespace labelled(String name, String inject) {
    return new NamespaceBuilder(ns(name)).editMetadata().addToLabels("jmesh.io/inject", inject).endMetadata().build();
  }
}
