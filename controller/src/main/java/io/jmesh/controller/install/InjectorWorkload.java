package io.jmesh.controller.install;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.HTTPGetActionBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.ProbeBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.TCPSocketActionBuilder;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookBuilder;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfigurationBuilder;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBuilder;
import io.fabric8.kubernetes.api.model.rbac.PolicyRuleBuilder;
import java.util.List;
import java.util.Map;

/**
 * The injector webhook's objects: its ServiceAccount and ClusterRole (namespaces: get, list, watch;
 * nothing else, as its informer only reads namespaces), the Deployment (2 replicas, restricted pod
 * security, readiness on its {@code /ready}, the Secret {@value #TLS_SECRET} mounted at its
 * {@code --tls-dir}), the Service (443 to its port), a PodDisruptionBudget, and the
 * MutatingWebhookConfiguration.
 *
 * <p>Selectors see labels only. The webhook has two entries: pods of namespaces labelled
 * {@code jmesh.io/inject=enabled} (unless the pod is labelled {@code disabled}), and pods labelled
 * {@code jmesh.io/inject=enabled} in any other namespace. {@code kube-system} and jmesh's own
 * namespace are never sent. Annotations are honoured by the injector only within that scope (a pod
 * annotated {@code disabled} in a labelled namespace is skipped); an annotation alone opts nothing
 * in, since the API server never sends such a pod.
 */
final class InjectorWorkload {
  /** The name of the injector's ServiceAccount, ClusterRole, Deployment, PDB, Service and webhook. */
  static final String NAME = Manifests.INJECTOR;
  /** The Secret the controller writes and the injector mounts. */
  static final String TLS_SECRET = Manifests.INJECTOR_TLS_SECRET;
  /** The injector's {@code --tls-dir} default, where the Secret is mounted. */
  static final String TLS_DIR = "/var/run/jmesh/injector-tls";
  static final int PORT = 8443;
  static final int REPLICAS = 2;
  static final String INJECT = "jmesh.io/inject";
  /**
   * Above the injector's 10 s {@code --read-timeout} would leave the API server waiting on a hung
   * injector for the longest a pod creation may wait; 10 s is the API server's default and the
   * injector answers within it or with its own 408.
   */
  static final int TIMEOUT_SECONDS = 10;

  private InjectorWorkload() {}

  static List<HasMetadata> objects(InstallOptions options) {
    String ns = options.namespace();
    return List.of(
        serviceAccount(ns), clusterRole(), clusterRoleBinding(ns), service(ns), deployment(options),
        disruptionBudget(ns), webhook(ns));
  }

  static Map<String, String> selector() {
    return Map.of("app.kubernetes.io/name", NAME);
  }

  private static Map<String, String> podLabels() {
    return RestrictedPods.podLabels(selector(), "injector");
  }

  private static HasMetadata serviceAccount(String ns) {
    return new ServiceAccountBuilder()
        .withNewMetadata().withName(NAME).withNamespace(ns).withLabels(Manifests.labels()).endMetadata()
        .build();
  }

  /** What the injector's namespace informer needs (one list, then a watch; a GET on a miss). */
  private static HasMetadata clusterRole() {
    return new ClusterRoleBuilder()
        .withNewMetadata().withName(NAME).withLabels(Manifests.labels()).endMetadata()
        .withRules(new PolicyRuleBuilder().withApiGroups("").withResources("namespaces")
            .withVerbs("get", "list", "watch").build())
        .build();
  }

  private static HasMetadata clusterRoleBinding(String ns) {
    return new ClusterRoleBindingBuilder()
        .withNewMetadata().withName(NAME).withLabels(Manifests.labels()).endMetadata()
        .withNewRoleRef("rbac.authorization.k8s.io", "ClusterRole", NAME)
        .addNewSubject().withKind("ServiceAccount").withName(NAME).withNamespace(ns).endSubject()
        .build();
  }

  private static HasMetadata service(String ns) {
    return new ServiceBuilder()
        .withNewMetadata().withName(NAME).withNamespace(ns).withLabels(podLabels()).endMetadata()
        .withNewSpec()
            .withType("ClusterIP")
            .withSelector(selector())
            .addNewPort().withName("https-webhook").withPort(443)
                .withTargetPort(new IntOrString("https-webhook")).withAppProtocol("https").withProtocol("TCP").endPort()
        .endSpec()
        .build();
  }

  /** The injector's flags: every setting that depends on the install, the rest at its defaults. */
  static List<String> args(InstallOptions options) {
    String ns = options.namespace();
    return List.of(
        "--address", "0.0.0.0:" + PORT,
        "--tls-dir", TLS_DIR,
        "--agent-image", options.agentImage(),
        "--controller-address", Manifests.CONTROLLER + "." + ns + ".svc:" + Manifests.XDS_PORT,
        "--trust-anchors-configmap", Manifests.TRUST_ANCHORS);
  }

  private static HasMetadata deployment(InstallOptions options) {
    String ns = options.namespace();
    return new DeploymentBuilder()
        .withNewMetadata().withName(NAME).withNamespace(ns).withLabels(podLabels()).endMetadata()
        .withNewSpec()
            .withReplicas(REPLICAS)
            .withNewSelector().withMatchLabels(selector()).endSelector()
            // failurePolicy Fail: with no ready injector no opted-in pod is created, so never fewer.
            .withStrategy(RestrictedPods.surgeFirst())
            .withNewTemplate()
                .withNewMetadata().withLabels(podLabels()).endMetadata()
                .withNewSpec()
                    .withServiceAccountName(NAME)
                    .withSecurityContext(RestrictedPods.podSecurityContext())
                    .withAffinity(RestrictedPods.spreadOverNodes(selector()))
                    .withContainers(container(options))
                    .addNewVolume().withName("tls").withNewSecret().withSecretName(TLS_SECRET).endSecret()
                    .endVolume()
                    .addNewVolume().withName("tmp").withNewEmptyDir().withSizeLimit(new Quantity("64Mi")).endEmptyDir()
                    .endVolume()
                .endSpec()
            .endTemplate()
        .endSpec()
        .build();
  }

  private static Container container(InstallOptions options) {
    return new ContainerBuilder()
        .withName("injector")
        .withImage(options.injectorImage())
        .withImagePullPolicy("IfNotPresent")
        .withArgs(args(options))
        .addNewEnv().withName("JAVA_TOOL_OPTIONS").withValue("-XX:MaxRAMPercentage=75").endEnv()
        .addNewPort().withName("https-webhook").withContainerPort(PORT).withProtocol("TCP").endPort()
        // /ready is 503 until the namespace cache has synced: no admission before it can decide.
        .withReadinessProbe(new ProbeBuilder()
            .withHttpGet(new HTTPGetActionBuilder().withPath("/ready").withPort(new IntOrString("https-webhook"))
                .withScheme("HTTPS").build())
            .withInitialDelaySeconds(5).withPeriodSeconds(5).withTimeoutSeconds(2).withFailureThreshold(3)
            .build())
        // Not /ready: an API server outage makes it 503, and a restart would not help. Restart only
        // when the port stops accepting.
        .withLivenessProbe(new ProbeBuilder()
            .withTcpSocket(new TCPSocketActionBuilder().withPort(new IntOrString("https-webhook")).build())
            .withInitialDelaySeconds(10).withPeriodSeconds(10).withTimeoutSeconds(2).withFailureThreshold(3)
            .build())
        .withNewResources()
            .addToRequests("cpu", new Quantity("50m"))
            .addToRequests("memory", new Quantity("128Mi"))
            .addToLimits("cpu", new Quantity("500m"))
            .addToLimits("memory", new Quantity("256Mi"))
        .endResources()
        .withSecurityContext(RestrictedPods.containerSecurityContext())
        .addNewVolumeMount().withName("tls").withMountPath(TLS_DIR).withReadOnly(true).endVolumeMount()
        .addNewVolumeMount().withName("tmp").withMountPath("/tmp").endVolumeMount()
        .build();
  }

  private static HasMetadata disruptionBudget(String ns) {
    return RestrictedPods.disruptionBudget(NAME, ns, podLabels(), selector());
  }

  /**
   * Two entries, so that neither a namespace's label nor a pod's is needed alone, and no pod is
   * sent twice: the second only takes namespaces the first does not. The caBundle is left out:
   * the controller writes it, and re-applying without it never erases it.
   */
  private static HasMetadata webhook(String ns) {
    return new MutatingWebhookConfigurationBuilder()
        .withNewMetadata().withName(NAME).withLabels(Manifests.labels()).endMetadata()
        .withWebhooks(
            entry("namespace.inject.jmesh.io", ns,
                expression(INJECT, "In", "enabled"), expression(INJECT, "NotIn", "disabled")),
            entry("pod.inject.jmesh.io", ns,
                expression(INJECT, "NotIn", "enabled"), expression(INJECT, "In", "enabled")))
        .build();
  }

  private static MutatingWebhook entry(String name, String ns, Expr namespaceRule, Expr podRule) {
    LabelSelector namespaces = new LabelSelectorBuilder()
        .addNewMatchExpression().withKey(namespaceRule.key).withOperator(namespaceRule.op)
            .withValues(namespaceRule.value).endMatchExpression()
        // Never the system's pods nor jmesh's own: a failing injector must not block either.
        .addNewMatchExpression().withKey("kubernetes.io/metadata.name").withOperator("NotIn")
            .withValues("kube-system", ns).endMatchExpression()
        .build();
    LabelSelector pods = new LabelSelectorBuilder()
        .addNewMatchExpression().withKey(podRule.key).withOperator(podRule.op).withValues(podRule.value)
            .endMatchExpression()
        .build();
    return new MutatingWebhookBuilder()
        .withName(name)
        .withAdmissionReviewVersions("v1")
        .withSideEffects("None")
        .withFailurePolicy("Fail")
        .withTimeoutSeconds(TIMEOUT_SECONDS)
        .withReinvocationPolicy("IfNeeded")
        .withMatchPolicy("Equivalent")
        .withNewClientConfig()
            .withNewService().withName(NAME).withNamespace(ns).withPath("/inject").withPort(443).endService()
        .endClientConfig()
        .addNewRule()
            .withApiGroups("").withApiVersions("v1").withResources("pods").withOperations("CREATE")
            .withScope("Namespaced")
        .endRule()
        .withNamespaceSelector(namespaces)
        .withObjectSelector(pods)
        .build();
  }

  private record Expr(String key, String op, String value) {}

  private static Expr expression(String key, String op, String value) {
    return new Expr(key, op, value);
  }
}
