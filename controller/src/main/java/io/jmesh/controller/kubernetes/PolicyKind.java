package io.jmesh.controller.kubernetes;

import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.jmesh.controller.install.JmeshCrds;

/**
 * The jmesh policy kinds the source reads ({@link JmeshCrds#KINDS}), and where the API serves
 * them. A {@link ResourceDefinitionContext} names the plural, so the client needs no discovery
 * call to find it.
 */
enum PolicyKind {
  RetryBudgetPolicy,
  FailureAccrualPolicy,
  RateLimitPolicy,
  AuthorizationPolicy;

  /** The kind's REST context: {@code jmesh.io/v1alpha1}, namespaced, its CRD's plural. */
  ResourceDefinitionContext context() {
    JmeshCrds.Kind crd =
        JmeshCrds.KINDS.stream()
            .filter(k -> k.kind().equals(name()))
            .findFirst()
            .orElseThrow(() -> new AssertionError("no CRD for " + name()));
    return new ResourceDefinitionContext.Builder()
        .withGroup(JmeshCrds.GROUP)
        .withVersion(JmeshCrds.VERSION)
        .withKind(crd.kind())
        .withPlural(crd.plural())
        .withNamespaced(true)
        .build();
  }
}
