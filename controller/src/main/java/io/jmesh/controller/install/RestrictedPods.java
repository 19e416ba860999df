package io.jmesh.controller.install;

import io.fabric8.kubernetes.api.model.Affinity;
import io.fabric8.kubernetes.api.model.AffinityBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSecurityContextBuilder;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.SecurityContextBuilder;
import io.fabric8.kubernetes.api.model.apps.DeploymentStrategy;
import io.fabric8.kubernetes.api.model.apps.DeploymentStrategyBuilder;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudgetBuilder;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the controller's and the injector's pods share: the restricted Pod Security Standard, two
 * replicas spread over nodes, rollouts that never lower the ready count, and a disruption budget
 * that keeps one.
 */
final class RestrictedPods {
  /** The uid and gid the containers run as (distroless's {@code nonroot}). */
  static final long USER = 65532L;

  private RestrictedPods() {}

  static PodSecurityContext podSecurityContext() {
    return new PodSecurityContextBuilder()
        .withRunAsNonRoot(true)
        .withRunAsUser(USER)
        .withRunAsGroup(USER)
        .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile()
        .build();
  }

  static SecurityContext containerSecurityContext() {
    return new SecurityContextBuilder()
        .withRunAsNonRoot(true)
        .withAllowPrivilegeEscalation(false)
        .withReadOnlyRootFilesystem(true)
        .withNewCapabilities().withDrop("ALL").endCapabilities()
        .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile()
        .build();
  }

  /** Replicas on different nodes where there are several: one node's loss keeps one. */
  static Affinity spreadOverNodes(Map<String, String> selector) {
    return new AffinityBuilder().withNewPodAntiAffinity()
        .addNewPreferredDuringSchedulingIgnoredDuringExecution()
            .withWeight(100)
            .withNewPodAffinityTerm()
                .withTopologyKey("kubernetes.io/hostname")
                .withNewLabelSelector().withMatchLabels(selector).endLabelSelector()
            .endPodAffinityTerm()
        .endPreferredDuringSchedulingIgnoredDuringExecution()
        .endPodAntiAffinity().build();
  }

  /** The pods' labels: the selector's, jmesh's, and {@code app.kubernetes.io/component}. */
  static Map<String, String> podLabels(Map<String, String> selector, String component) {
    Map<String, String> labels = new LinkedHashMap<>(selector);
    labels.putAll(Manifests.labels());
    labels.put("app.kubernetes.io/component", component);
    return labels;
  }

  /** Never fewer ready replicas than asked during a rollout. */
  static DeploymentStrategy surgeFirst() {
    return new DeploymentStrategyBuilder().withType("RollingUpdate")
        .withNewRollingUpdate().withMaxUnavailable(new IntOrString(0)).withMaxSurge(new IntOrString(1))
        .endRollingUpdate()
        .build();
  }

  /** A voluntary disruption (a node drain) keeps at least one pod. */
  static HasMetadata disruptionBudget(String name, String ns, Map<String, String> labels, Map<String, String> selector) {
    return new PodDisruptionBudgetBuilder()
        .withNewMetadata().withName(name).withNamespace(ns).withLabels(labels).endMetadata()
        .withNewSpec()
            .withMinAvailable(new IntOrString(1))
            .withNewSelector().withMatchLabels(selector).endSelector()
        .endSpec()
        .build();
  }
}
