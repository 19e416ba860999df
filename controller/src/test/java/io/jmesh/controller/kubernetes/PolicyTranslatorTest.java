package io.jmesh.controller.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmesh.controller.kubernetes.KubernetesTranslator.Translation;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * jmesh policies, fixture by fixture: the Services of {@code objects.yaml} with their policies
 * must be the model the file source parses from {@code mesh.yaml} (the same {@code policy:} and
 * {@code authorization:}), and each policy must get the {@code Accepted} condition of {@code
 * status.yaml}, its message containing the text given there.
 */
class PolicyTranslatorTest {
  @ParameterizedTest
  @ValueSource(strings = {
    "policy-retry-budget", "policy-failure-accrual", "policy-rate-limit", "policy-authorization",
    "policy-conflict", "policy-missing-target", "policy-invalid"
  })
  void fixtureGivesTheModelOfItsMeshFileAndItsConditions(String fixture) {
    Translation t = Fixtures.translate(fixture);
    assertThat(t.services()).containsExactlyElementsOf(Fixtures.meshFile(fixture));

    @SuppressWarnings("unchecked")
    List<Map<String, String>> policies = (List<Map<String, String>>) Fixtures.status(fixture).get("policies");
    assertThat(t.policyStatuses()).hasSize(policies.size());
    for (Map<String, String> want : policies) {
      RouteStatus.Condition got =
          t.policyStatuses().entrySet().stream()
              .filter(e -> e.getKey().toString().equals(want.get("policy")))
              .map(Map.Entry::getValue)
              .findFirst()
              .orElseThrow(() -> new AssertionError("no status for " + want.get("policy")));
      assertThat(got.type() + " " + got.status() + " " + got.reason())
          .as(want.get("policy") + ": " + got.message())
          .isEqualTo("Accepted " + want.get("Accepted"));
      assertThat(got.message()).as(want.get("policy")).contains(want.get("message"));
    }
    // Routes are untouched by policies.
    assertThat(t.statuses()).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {"policy-conflict", "policy-invalid", "policy-authorization"})
  void translationIsPure(String fixture) {
    ClusterState state = Fixtures.state(Fixtures.objects(fixture + "/objects.yaml"));
    assertThat(KubernetesTranslator.translate(state, "cluster.local"))
        .isEqualTo(KubernetesTranslator.translate(state, "cluster.local"));
  }
}
