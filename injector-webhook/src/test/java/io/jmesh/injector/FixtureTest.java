package io.jmesh.injector;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Every fixture case through the whole path: AdmissionReview in, JSON Patch out, the patch applied
 * with zjsonpatch to the pod as it came, the result compared with the expected pod.
 */
class FixtureTest {

  static Stream<Fixtures.Case> cases() {
    return Fixtures.all().stream();
  }

  @Test
  void thereAreAtLeast35Cases() {
    assertThat(Fixtures.all()).hasSizeGreaterThanOrEqualTo(35);
    assertThat(Fixtures.injected()).hasSizeGreaterThanOrEqualTo(30);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void eachCaseGivesItsExpectedPod(Fixtures.Case c) {
    Fixtures.Reviewed r = Fixtures.review(c.settings(), c.namespace(), c.pod());
    String outcome = r.response().getAuditAnnotations().get(PodAdmission.AUDIT_KEY);
    if (c.injected()) {
      assertThat(r.response().getAllowed()).isTrue();
      assertThat(outcome).isEqualTo("injected");
      assertThat(r.response().getPatchType()).isEqualTo("JSONPatch");
      if (Fixtures.UPDATE) {
        Fixtures.writeYaml(c.expectedFile(), r.patched());
      }
      assertThat(r.patched()).isEqualTo(Fixtures.readYaml(c.expectedFile()));
      return;
    }
    String[] expect = c.expect().split(":", 2);
    assertThat(outcome).as(c.description()).isEqualTo(expect[1]);
    assertThat(r.patch()).isNull();
    assertThat(r.response().getPatchType()).isNull();
    if (expect[0].equals("skipped")) {
      assertThat(r.response().getAllowed()).isTrue();
    } else {
      assertThat(expect[0]).isEqualTo("denied");
      assertThat(r.response().getAllowed()).isFalse();
      assertThat(r.response().getStatus().getCode()).isEqualTo(400);
      assertThat(r.response().getStatus().getMessage()).startsWith("jmesh injector: " + expect[1] + ": pod ");
    }
  }

  @Test
  void everyPatchedPodFedBackGivesAnEmptyPatch() {
    List<Fixtures.Case> injected = Fixtures.injected();
    for (Fixtures.Case c : injected) {
      JsonNode out = Fixtures.review(c.settings(), c.namespace(), c.pod()).patched();

      Fixtures.Reviewed again = Fixtures.review(c.settings(), c.namespace(), out);

      assertThat(again.patch()).as(c.name()).isNull();
      assertThat(again.response().getAllowed()).isTrue();
      assertThat(again.response().getAuditAnnotations())
          .as(c.name())
          .containsEntry(PodAdmission.AUDIT_KEY, "already_injected");
    }
  }

  @Test
  void theMutationItselfIsIdempotentWithoutTheMarker() {
    // Not only the jmesh.io/injected short-cut: with the marker taken off, the pod the injector
    // made goes through every step again and only the marker comes back.
    for (Fixtures.Case c : Fixtures.injected()) {
      JsonNode out = Fixtures.review(c.settings(), c.namespace(), c.pod()).patched();
      ObjectNode unmarked = (ObjectNode) out.deepCopy();
      ((ObjectNode) unmarked.get("metadata").get("annotations")).remove(Annotations.INJECTED);

      Fixtures.Reviewed again = Fixtures.review(c.settings(), c.namespace(), unmarked);

      assertThat(again.patched()).as(c.name()).isEqualTo(out);
      assertThat(again.patch()).as(c.name()).hasSize(1);
      assertThat(again.patch().get(0).get("path").asString())
          .isEqualTo("/metadata/annotations/jmesh.io~1injected");
    }
  }

  @Test
  void everyPatchedPodPassesTheRestrictedChecks() {
    int fullyRestricted = 0;
    for (Fixtures.Case c : Fixtures.injected()) {
      Pod in = c.inputPod();
      Pod out = Fixtures.JSON.treeToValue(Fixtures.review(c.settings(), c.namespace(), c.pod()).patched(), Pod.class);
      List<String> added = RestrictedPodSecurity.checkAdditions(in, out);
      if (c.settings().agentSource() == InjectorSettings.AgentSource.IMAGE_VOLUME) {
        // The documented exception: the restricted profile's volume list has no image volumes.
        assertThat(added).as(c.name()).containsExactly(
            "volume jmesh-agent: type image (expected: one of " + RestrictedPodSecurity.ALLOWED_VOLUMES + ")");
        continue;
      }
      assertThat(added).as(c.name()).isEmpty();
      if (RestrictedPodSecurity.check(in).isEmpty()) {
        fullyRestricted++;
        assertThat(RestrictedPodSecurity.check(out)).as(c.name()).isEmpty();
      }
    }
    // The whole-pod half must not be vacuous.
    assertThat(fullyRestricted).isGreaterThanOrEqualTo(3);
  }
}
