package io.jmesh.controller.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.jmesh.runtime.config.DestinationPolicy;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Reading one policy's spec: what the CRD schema would refuse on a real API server (which the mock
 * server and a server without the CRD's schema do not) and what no schema can check are refused
 * with the field, the value and the expectation, as the file parser refuses them.
 */
class PolicySpecsTest {

  private static GenericKubernetesResource policy(String kind, String spec) {
    return Serialization.unmarshal(
        "apiVersion: jmesh.io/v1alpha1\nkind: " + kind + "\nmetadata: {name: p, namespace: shop}\n"
            + "spec: {targetRefs: [{group: '', kind: Service, name: hello}], " + spec + "}\n",
        GenericKubernetesResource.class);
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource(delimiter = '|', value = {
    "FailureAccrualPolicy | consecutiveFailures: 7.5 | spec.consecutiveFailures: 7.5 (expected: an integer in 1..1000)",
    "FailureAccrualPolicy | jitter: 2 | spec.jitter: 2 (expected: a number in 0..1)",
    "FailureAccrualPolicy | maxPenalty: 500ms | spec.maxPenalty: 500ms (expected: at least spec.minPenalty, 1s (default))",
    "FailureAccrualPolicy | maxEjectionPercent: 101 | spec.maxEjectionPercent: 101 (expected: an integer in 0..100)",
    "RetryBudgetPolicy | ttl: soon | spec.ttl: soon (expected: a duration such as 250ms, 10s, 1m or 1h30m)",
    "RetryBudgetPolicy | ttl: 500ms | spec.ttl: 500ms (expected: a duration in 1s..60s)",
    "RetryBudgetPolicy | retries: 3 | spec.retries: an unknown field (expected: one of [minPerSecond, ratio, targetRefs, ttl])",
    "RateLimitPolicy | burst: 5 | spec.requestsPerSecond: absent (expected: an integer >= 1)",
    "RateLimitPolicy | requestsPerSecond: '10' | spec.requestsPerSecond: 10 (expected: an integer in 1..2147483647)",
    "AuthorizationPolicy | mode: strict | spec.mode: strict (expected: enforce or audit)",
    "AuthorizationPolicy | rules: [{name: a, action: allow}] | spec.rules[0]: a rule naming no caller (expected: at least one of identities, namespaces, serviceAccounts)",
    "AuthorizationPolicy | rules: [{name: a, action: allow, identities: [spiffe://x/y]}] | spec.rules[0].identities: spiffe://x/y (expected: a SPIFFE id",
    "AuthorizationPolicy | rules: [{name: a, action: allow, namespaces: [a]}, {name: a, action: deny, namespaces: [b]}] | spec.rules[1].name: a (expected: a rule name unique in the policy)",
    "AuthorizationPolicy | rules: [{name: a, action: allow, namespaces: [a], methods: [get]}] | spec.rules[0].methods: get (expected: an upper-case HTTP method",
  })
  void refusesNamingFieldValueAndExpectation(String kind, String spec, String message) {
    assertThatThrownBy(() -> PolicySpecs.read(PolicyKind.valueOf(kind), policy(kind, spec)))
        .isInstanceOf(PolicySpecs.InvalidPolicyException.class)
        .hasMessageStartingWith(message);
  }

  @Test
  void refusesATargetThatIsNoServiceOrInAnotherNamespace() {
    GenericKubernetesResource gateway = policy("RateLimitPolicy", "requestsPerSecond: 1");
    gateway.setAdditionalProperty("spec", Map.of(
        "targetRefs", List.of(Map.of(
            "group", "gateway.networking.k8s.io", "kind", "Gateway", "name", "edge")),
        "requestsPerSecond", 1));
    assertThatThrownBy(() -> PolicySpecs.read(PolicyKind.RateLimitPolicy, gateway))
        .hasMessage("spec.targetRefs[0]: group \"gateway.networking.k8s.io\", kind Gateway"
            + " (expected: group \"\", kind Service: jmesh policies attach to Services)");
  }

  @Test
  void leftOutFieldsTakeTheModelDefaults() throws Exception {
    PolicySpecs.Policy p =
        PolicySpecs.read(PolicyKind.FailureAccrualPolicy, policy("FailureAccrualPolicy", "consecutiveFailures: 3"));
    assertThat(p.spec())
        .isEqualTo(new PolicySpecs.FailureAccrualSpec(
            new DestinationPolicy.FailureAccrual(3, Duration.ofSeconds(1), Duration.ofSeconds(60), 0.5), 50));
    assertThat(p.targetRefs()).containsExactly(new PolicySpecs.TargetRef("hello"));
  }
}
