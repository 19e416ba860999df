package io.jmesh.controller.cli;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionVersion;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReview;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.jmesh.controller.install.ControllerPermission;
import io.jmesh.controller.install.ControllerRbac;
import io.jmesh.controller.install.JmeshCrds;
import io.jmesh.controller.install.Manifests;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * The Kubernetes part of {@code jmesh check --kubernetes}: the API answers, the jmesh and Gateway
 * API CRDs are there with the versions the controller reads, the controller's service account has
 * every permission it needs, its Deployment is ready, the trust-anchor ConfigMap exists (and its
 * copies in the namespaces with injected pods, {@link AnchorCopiesCheck}), the injector's
 * Deployment is ready and its webhook's caBundle holds the trust anchors, and no opted-in pod runs
 * without the agent ({@link UninjectedPodsCheck}). One line per check, with a hint on what to do
 * when it fails. Reads only; the access reviews it creates change nothing.
 */
final class KubernetesChecks {
  /** A CRD by name and the version the controller's informers read. */
  record Crd(String name, String version) {}

  /** The Gateway API CRDs the controller's informers read. */
  static final List<Crd> GATEWAY_CRDS =
      List.of(
          new Crd("httproutes.gateway.networking.k8s.io", "v1"),
          new Crd("grpcroutes.gateway.networking.k8s.io", "v1"),
          new Crd("referencegrants.gateway.networking.k8s.io", "v1beta1"));

  private final KubernetesClient client;
  private final String namespace;
  private final CheckLines lines;

  KubernetesChecks(KubernetesClient client, String namespace, CheckLines lines) {
    this.client = client;
    this.namespace = namespace;
    this.lines = lines;
  }

  /** Runs every check; returns false when the API could not be reached (the rest is skipped). */
  boolean run() {
    String install = "jmesh install --namespace " + namespace + " | kubectl apply -f -";
    Namespace ns;
    try {
      ns = client.namespaces().withName(namespace).get();
    } catch (KubernetesClientException e) {
      lines.fail("Kubernetes API " + client.getMasterUrl() + ": " + reason(e),
          "is the kube config right? (KUBECONFIG, kubectl config current-context)");
      return false;
    }
    lines.ok("Kubernetes API " + client.getMasterUrl() + " is reachable");
    if (ns == null) {
      lines.fail("namespace " + namespace + " does not exist", install);
    } else {
      lines.ok("namespace " + namespace + " exists");
    }

    for (JmeshCrds.Kind kind : JmeshCrds.KINDS) {
      crd(kind.crdName(), JmeshCrds.VERSION, install);
    }
    for (Crd gateway : GATEWAY_CRDS) {
      crd(gateway.name(), gateway.version(), "install Gateway API v1.1 or later, standard channel"
          + " (kubectl apply -f https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.2.1/standard-install.yaml)");
    }
    rbac(install);
    deployment(Manifests.CONTROLLER, "agents are served");
    String anchors = trustAnchors(install);
    AnchorCopiesCheck.run(client, namespace, anchors, lines);
    deployment(Manifests.INJECTOR, "pods are admitted");
    webhookCaBundle(anchors);
    new UninjectedPodsCheck(client, namespace, lines).run();
    return true;
  }

  private void crd(String name, String version, String hint) {
    CustomResourceDefinition crd;
    try {
      crd = client.apiextensions().v1().customResourceDefinitions().withName(name).get();
    } catch (KubernetesClientException e) {
      lines.fail("CRD " + name + ": " + reason(e), "may you read customresourcedefinitions?");
      return;
    }
    if (crd == null) {
      lines.fail("CRD " + name + " is not installed", hint);
      return;
    }
    List<String> served = crd.getSpec().getVersions().stream()
        .filter(v -> Boolean.TRUE.equals(v.getServed())).map(CustomResourceDefinitionVersion::getName).toList();
    if (!served.contains(version)) {
      lines.fail("CRD " + name + " serves " + served + " (expected: " + version + ")", hint);
    } else {
      lines.ok("CRD " + name + " serves " + version);
    }
  }

  /**
   * Asks the API server, one SubjectAccessReview per permission, whether the controller's service
   * account has it: that checks the RBAC in force for the controller, which a SelfSubjectAccessReview
   * (the rights of whoever runs this command) would not.
   */
  private void rbac(String install) {
    String user = "system:serviceaccount:" + namespace + ":" + Manifests.CONTROLLER;
    List<ControllerPermission> needed = ControllerRbac.permissions(namespace);
    List<String> denied = new ArrayList<>();
    for (ControllerPermission p : needed) {
      int slash = p.resource().indexOf('/');
      SubjectAccessReview review = new SubjectAccessReviewBuilder()
          .withNewSpec()
              .withUser(user)
              .withGroups("system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated")
              .withNewResourceAttributes()
                  .withGroup(p.group())
                  .withResource(slash < 0 ? p.resource() : p.resource().substring(0, slash))
                  .withSubresource(slash < 0 ? null : p.resource().substring(slash + 1))
                  .withVerb(p.verb())
                  .withNamespace(p.namespace())
                  .withName(p.name())
              .endResourceAttributes()
          .endSpec()
          .build();
      SubjectAccessReview answer;
      try {
        answer = client.resource(review).create();
      } catch (KubernetesClientException e) {
        lines.warn("cannot check the controller's RBAC: creating a SubjectAccessReview: " + reason(e),
            "run jmesh check as a user who may create subjectaccessreviews (authorization.k8s.io)");
        return;
      }
      if (answer == null || answer.getStatus() == null || !Boolean.TRUE.equals(answer.getStatus().getAllowed())) {
        denied.add(p.toString());
      }
    }
    if (denied.isEmpty()) {
      lines.ok("service account " + user + " has the " + needed.size() + " permissions the controller needs");
    } else {
      lines.fail("service account " + user + " may not " + String.join(", ", denied),
          "re-apply the RBAC of " + install + "; kubectl auth can-i <verb> <resource> --as=" + user);
    }
  }

  /** Whether Deployment {@code name} has all its replicas ready; {@code served} says what still works with some. */
  private void deployment(String name, String served) {
    String what = "deployment " + namespace + "/" + name;
    String logs = "kubectl -n " + namespace + " describe deployment " + name
        + "; kubectl -n " + namespace + " logs deployment/" + name;
    Deployment d;
    try {
      d = client.apps().deployments().inNamespace(namespace).withName(name).get();
    } catch (KubernetesClientException e) {
      lines.fail(what + ": " + reason(e), "may you read deployments in " + namespace + "?");
      return;
    }
    if (d == null) {
      lines.fail(what + " does not exist", "jmesh install --namespace " + namespace + " | kubectl apply -f -");
      return;
    }
    int wanted = d.getSpec().getReplicas() == null ? 1 : d.getSpec().getReplicas();
    int ready = d.getStatus() == null || d.getStatus().getReadyReplicas() == null ? 0 : d.getStatus().getReadyReplicas();
    if (ready == 0) {
      lines.fail(what + ": 0 of " + wanted + " replicas ready", logs);
    } else if (ready < wanted) {
      lines.warn(what + ": " + ready + " of " + wanted + " replicas ready (" + served + "; one loss from none)", logs);
    } else {
      lines.ok(what + ": " + ready + " of " + wanted + " replicas ready");
    }
  }

  /** Checks the trust-anchor ConfigMap; returns its PEM, or null when it holds none. */
  private String trustAnchors(String install) {
    String what = "configmap " + namespace + "/" + Manifests.TRUST_ANCHORS;
    ConfigMap cm;
    try {
      cm = client.configMaps().inNamespace(namespace).withName(Manifests.TRUST_ANCHORS).get();
    } catch (KubernetesClientException e) {
      lines.fail(what + ": " + reason(e), "may you read configmaps in " + namespace + "?");
      return null;
    }
    if (cm == null) {
      lines.fail(what + " does not exist (agents mount it as JMESH_TRUST_ANCHORS_FILE)", install);
      return null;
    }
    String pem = cm.getData() == null ? null : cm.getData().get(Manifests.TRUST_ANCHORS_KEY);
    if (pem == null || !pem.contains("-----BEGIN CERTIFICATE-----")) {
      lines.warn(what + " exists but holds no certificate under " + Manifests.TRUST_ANCHORS_KEY
          + " yet: agents cannot verify the controller",
          "the controller writes it once its CA runs; until then copy <ca-dir>/trust-anchors.pem into it");
      return null;
    }
    lines.ok(what + " holds the trust anchors");
    return pem;
  }

  /**
   * Whether every entry of the injector's webhook has a caBundle, and, when the anchors are known,
   * the anchors: the API server verifies the injector with it, and refuses opted-in pods without.
   */
  private void webhookCaBundle(String anchors) {
    String what = "mutatingwebhookconfiguration " + Manifests.INJECTOR;
    String hint = "the controller's leader writes it (--ca-secret); kubectl -n " + namespace
        + " logs deployment/" + Manifests.CONTROLLER + " | grep injector";
    MutatingWebhookConfiguration webhook;
    try {
      webhook = client.admissionRegistration().v1().mutatingWebhookConfigurations()
          .withName(Manifests.INJECTOR).get();
    } catch (KubernetesClientException e) {
      lines.fail(what + ": " + reason(e), "may you read mutatingwebhookconfigurations?");
      return;
    }
    if (webhook == null) {
      lines.fail(what + " does not exist", "jmesh install --namespace " + namespace + " | kubectl apply -f -");
      return;
    }
    String expected = anchors == null ? null
        : Base64.getEncoder().encodeToString(anchors.getBytes(StandardCharsets.US_ASCII));
    List<String> unset = new ArrayList<>();
    List<String> stale = new ArrayList<>();
    for (MutatingWebhook w : webhook.getWebhooks()) {
      String bundle = w.getClientConfig() == null ? null : w.getClientConfig().getCaBundle();
      if (bundle == null || bundle.isEmpty()) {
        unset.add(w.getName());
      } else if (expected != null && !expected.equals(bundle)) {
        stale.add(w.getName());
      }
    }
    if (!unset.isEmpty()) {
      lines.fail(what + ": caBundle not set in " + String.join(", ", unset)
          + " (the API server cannot verify the injector; opted-in pods are refused)", hint);
    } else if (!stale.isEmpty()) {
      lines.fail(what + ": caBundle of " + String.join(", ", stale) + " is not the trust anchors of configmap "
          + namespace + "/" + Manifests.TRUST_ANCHORS, hint);
    } else {
      lines.ok(what + ": caBundle set" + (expected == null ? "" : " to the trust anchors"));
    }
  }

  /** The API server's answer in one line: its status code and message. */
  private static String reason(KubernetesClientException e) {
    String message = e.getStatus() != null && e.getStatus().getMessage() != null
        ? e.getStatus().getMessage() : String.valueOf(e.getMessage());
    String line = message.lines().findFirst().orElse("");
    return (e.getCode() > 0 ? "HTTP " + e.getCode() + ": " : "") + line;
  }
}
