package io.jmesh.controller.install;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBuilder;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.PolicyRuleBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBuilder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The controller's least-privilege RBAC: a ServiceAccount, a ClusterRole for what it reads in
 * every namespace and the reviews it asks for, and a Role for what it keeps in its own namespace
 * (the CA's Secret, the leader Lease, the injector's Secret). ConfigMaps are cluster-wide: the
 * controller keeps the trust anchors' ConfigMap in every workload namespace. Every rule names its verbs and
 * resources: no {@code *}. The rules are written from {@link #permissions}, the list {@code jmesh
 * check} also verifies.
 */
public final class ControllerRbac {
  static final String CORE = "";
  static final String DISCOVERY = "discovery.k8s.io";
  static final String GATEWAY = "gateway.networking.k8s.io";
  static final String AUTHENTICATION = "authentication.k8s.io";
  static final String AUTHORIZATION = "authorization.k8s.io";
  static final String COORDINATION = "coordination.k8s.io";
  static final String ADMISSION = "admissionregistration.k8s.io";

  private ControllerRbac() {}

  /**
   * Everything the controller needs, in the order of its rules: its informers list and watch
   * (Services, Pods, Namespaces, EndpointSlices, HTTPRoutes, GRPCRoutes, ReferenceGrants, the jmesh
   * policies); it writes route and policy statuses; it authenticates workloads (TokenReview) and
   * checks its own rights at start
   * (SubjectAccessReview); it creates Events on opted-in pods that run without the agent; it
   * keeps the trust anchors' ConfigMap in every workload namespace (and publishes the original in
   * its own); in {@code namespace} only, it keeps the CA's key in a
   * Secret, elects a leader with a Lease and writes the injector's
   * certificate in a Secret; it keeps the caBundle of the injector's webhook (that one, by name).
   */
  public static List<ControllerPermission> permissions(String namespace) {
    List<ControllerPermission> p = new ArrayList<>();
    for (String verb : List.of("list", "watch")) {
      p.add(new ControllerPermission(CORE, "services", verb, null));
      p.add(new ControllerPermission(CORE, "pods", verb, null));
      // Namespaces: their opt-in labels (opted-in pods running without the agent) and where
      // the trust anchors' copies go.
      p.add(new ControllerPermission(CORE, "namespaces", verb, null));
      p.add(new ControllerPermission(DISCOVERY, "endpointslices", verb, null));
      p.add(new ControllerPermission(GATEWAY, "httproutes", verb, null));
      p.add(new ControllerPermission(GATEWAY, "grpcroutes", verb, null));
      p.add(new ControllerPermission(GATEWAY, "referencegrants", verb, null));
      for (JmeshCrds.Kind kind : JmeshCrds.KINDS) {
        p.add(new ControllerPermission(JmeshCrds.GROUP, kind.plural(), verb, null));
      }
    }
    for (String verb : List.of("update", "patch")) {
      p.add(new ControllerPermission(GATEWAY, "httproutes/status", verb, null));
      p.add(new ControllerPermission(GATEWAY, "grpcroutes/status", verb, null));
      for (JmeshCrds.Kind kind : JmeshCrds.KINDS) {
        p.add(new ControllerPermission(JmeshCrds.GROUP, kind.plural() + "/status", verb, null));
      }
    }
    // The trust anchors' copies in workload namespaces (TrustAnchorCopies), as istiod keeps
    // istio-ca-root-cert: configmaps to read, write and watch the copies. This also covers the
    // original in the controller's namespace.
    for (String verb : List.of("get", "list", "watch", "create", "update")) {
      p.add(new ControllerPermission(CORE, "configmaps", verb, null));
    }
    p.add(new ControllerPermission(AUTHENTICATION, "tokenreviews", "create", null));
    p.add(new ControllerPermission(AUTHORIZATION, "subjectaccessreviews", "create", null));
    // One Warning Event per opted-in pod without the agent, in the pod's namespace. Create only:
    // each is made once, with a name of its own, and never updated.
    p.add(new ControllerPermission(CORE, "events", "create", null));
    // The injector's webhook, by name only: the controller keeps its caBundle equal to the anchors.
    for (String verb : List.of("get", "patch")) {
      p.add(new ControllerPermission(ADMISSION, "mutatingwebhookconfigurations", verb, null, Manifests.INJECTOR));
    }
    // Its own namespace only: get to read back, create to bootstrap, update to rotate or renew.
    for (String verb : List.of("get", "create", "update")) {
      p.add(new ControllerPermission(CORE, "secrets", verb, namespace));
      p.add(new ControllerPermission(COORDINATION, "leases", verb, namespace));
    }
    // fabric8's LeaseLock renews and takes over with a PATCH (kubernetes-client 8.0).
    p.add(new ControllerPermission(COORDINATION, "leases", "patch", namespace));
    return List.copyOf(p);
  }

  static List<HasMetadata> objects(String namespace) {
    String name = Manifests.CONTROLLER;
    List<ControllerPermission> all = permissions(namespace);
    return List.of(
        new ServiceAccountBuilder()
            .withNewMetadata().withName(name).withNamespace(namespace).withLabels(Manifests.labels()).endMetadata()
            .build(),
        new ClusterRoleBuilder()
            .withNewMetadata().withName(name).withLabels(Manifests.labels()).endMetadata()
            .withRules(rules(all.stream().filter(p -> p.namespace() == null).toList()))
            .build(),
        new ClusterRoleBindingBuilder()
            .withNewMetadata().withName(name).withLabels(Manifests.labels()).endMetadata()
            .withNewRoleRef("rbac.authorization.k8s.io", "ClusterRole", name)
            .addNewSubject().withKind("ServiceAccount").withName(name).withNamespace(namespace).endSubject()
            .build(),
        new RoleBuilder()
            .withNewMetadata().withName(name).withNamespace(namespace).withLabels(Manifests.labels()).endMetadata()
            .withRules(rules(all.stream().filter(p -> namespace.equals(p.namespace())).toList()))
            .build(),
        new RoleBindingBuilder()
            .withNewMetadata().withName(name).withNamespace(namespace).withLabels(Manifests.labels()).endMetadata()
            .withNewRoleRef("rbac.authorization.k8s.io", "Role", name)
            .addNewSubject().withKind("ServiceAccount").withName(name).withNamespace(namespace).endSubject()
            .build());
  }

  /**
   * One rule per group and verb set: the resources that share both; a permission on one named
   * object gets a rule of its own with that {@code resourceNames}.
   */
  static List<PolicyRule> rules(List<ControllerPermission> permissions) {
    // group -> resource -> verbs, in first-seen order so the output is stable.
    Map<String, Map<String, List<String>>> verbs = new LinkedHashMap<>();
    // group/resource/name -> verbs, for the permissions on one object.
    Map<List<String>, List<String>> named = new LinkedHashMap<>();
    for (ControllerPermission p : permissions) {
      if (p.name() != null) {
        named.computeIfAbsent(List.of(p.group(), p.resource(), p.name()), k -> new ArrayList<>()).add(p.verb());
        continue;
      }
      verbs.computeIfAbsent(p.group(), g -> new LinkedHashMap<>())
          .computeIfAbsent(p.resource(), r -> new ArrayList<>())
          .add(p.verb());
    }
    List<PolicyRule> rules = new ArrayList<>();
    verbs.forEach((group, byResource) -> {
      Map<List<String>, List<String>> resourcesByVerbs = new LinkedHashMap<>();
      byResource.forEach((resource, v) ->
          resourcesByVerbs.computeIfAbsent(v, k -> new ArrayList<>()).add(resource));
      resourcesByVerbs.forEach((v, resources) -> rules.add(
          new PolicyRuleBuilder().withApiGroups(group).withResources(resources).withVerbs(v).build()));
    });
    named.forEach((key, v) -> rules.add(new PolicyRuleBuilder().withApiGroups(key.get(0))
        .withResources(key.get(1)).withResourceNames(key.get(2)).withVerbs(v).build()));
    return rules;
  }
}
