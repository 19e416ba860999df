package io.jmesh.controller.install;

import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.HTTPGetActionBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.ProbeBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import java.util.List;
import java.util.Map;

/**
 * The controller's workload: its trust-anchor ConfigMap, Service, Deployment (2 replicas, restricted
 * pod security, probes on the admin port) and PodDisruptionBudget.
 */
final class ControllerWorkload {
  static final int REPLICAS = 2;

  /** The Secret holding the CA's keys, in the controller's namespace. */
  static final String CA_SECRET = "jmesh-ca";

  /**
   * The controller's command line in the pod: the Kubernetes source, the CA in a Secret of its own
   * namespace (TokenReview authentication; every replica signs with it), its Service's name in the
   * serving certificate, both ports on every interface (the Service reaches them; the admin port
   * answers the kubelet's probes).
   */
  static List<String> args(String ns) {
    return List.of(
        "--kubernetes",
        "--ca-secret", ns + "/" + CA_SECRET,
        "--tls-service-name", Manifests.CONTROLLER + "." + ns + ".svc",
        "--xds-address", "0.0.0.0:" + Manifests.XDS_PORT,
        "--admin-address", "0.0.0.0:" + Manifests.ADMIN_PORT);
  }

  private ControllerWorkload() {}

  static List<HasMetadata> objects(InstallOptions options) {
    String ns = options.namespace();
    return List.of(trustAnchors(ns), service(ns), deployment(options), disruptionBudget(ns));
  }

  /** The pods' labels, which the Service, the PDB and the Deployment select on. */
  static Map<String, String> selector() {
    return Map.of("app.kubernetes.io/name", Manifests.CONTROLLER);
  }

  private static Map<String, String> podLabels() {
    return RestrictedPods.podLabels(selector(), "controller");
  }

  /**
   * Created without data: the controller writes {@value Manifests#TRUST_ANCHORS_KEY} at start,
   * from its CA Secret. As {@code data} is absent from what is applied, re-applying never erases it.
   */
  private static HasMetadata trustAnchors(String ns) {
    return new ConfigMapBuilder()
        .withNewMetadata()
            .withName(Manifests.TRUST_ANCHORS)
            .withNamespace(ns)
            .withLabels(Manifests.labels())
            .addToAnnotations("jmesh.io/contents",
                "key " + Manifests.TRUST_ANCHORS_KEY + ", written by the controller: the PEM trust anchors"
                    + " agents verify the controller with (mount as JMESH_TRUST_ANCHORS_FILE)")
        .endMetadata()
        .build();
  }

  private static HasMetadata service(String ns) {
    return new ServiceBuilder()
        .withNewMetadata().withName(Manifests.CONTROLLER).withNamespace(ns).withLabels(podLabels()).endMetadata()
        .withNewSpec()
            .withType("ClusterIP")
            .withSelector(selector())
            .addNewPort().withName("grpc-xds").withPort(Manifests.XDS_PORT)
                .withTargetPort(new IntOrString("grpc-xds")).withAppProtocol("grpc").withProtocol("TCP").endPort()
            .addNewPort().withName("http-admin").withPort(Manifests.ADMIN_PORT)
                .withTargetPort(new IntOrString("http-admin")).withAppProtocol("http").withProtocol("TCP").endPort()
        .endSpec()
        .build();
  }

  private static HasMetadata deployment(InstallOptions options) {
    return new DeploymentBuilder()
        .withNewMetadata()
            .withName(Manifests.CONTROLLER).withNamespace(options.namespace()).withLabels(podLabels())
        .endMetadata()
        .withNewSpec()
            .withReplicas(REPLICAS)
            .withNewSelector().withMatchLabels(selector()).endSelector()
            // Never fewer ready replicas than asked during a rollout: agents move, they are not cut off.
            .withStrategy(RestrictedPods.surgeFirst())
            .withNewTemplate()
                .withNewMetadata().withLabels(podLabels()).endMetadata()
                .withNewSpec()
                    .withServiceAccountName(Manifests.CONTROLLER)
                    .withSecurityContext(RestrictedPods.podSecurityContext())
                    .withAffinity(RestrictedPods.spreadOverNodes(selector()))
                    .withContainers(container(options.image(), options.namespace()))
                    // The root file system is read-only; the JVM still wants a /tmp.
                    .addNewVolume().withName("tmp").withNewEmptyDir().withSizeLimit(new Quantity("64Mi")).endEmptyDir()
                    .endVolume()
                .endSpec()
            .endTemplate()
        .endSpec()
        .build();
  }

  private static Container container(String image, String ns) {
    return new ContainerBuilder()
        .withName("controller")
        .withImage(image)
        .withImagePullPolicy("IfNotPresent")
        .withArgs(args(ns))
        // A heap in proportion to the memory limit rather than to the node's memory.
        .addNewEnv().withName("JAVA_TOOL_OPTIONS").withValue("-XX:MaxRAMPercentage=75").endEnv()
        .addNewPort().withName("grpc-xds").withContainerPort(Manifests.XDS_PORT).withProtocol("TCP").endPort()
        .addNewPort().withName("http-admin").withContainerPort(Manifests.ADMIN_PORT).withProtocol("TCP").endPort()
        // /ready is 503 until the first snapshot: no traffic before there is something to serve.
        .withReadinessProbe(probe("/ready", 5, 3))
        // /live only says the admin server answers; restart after 30 s without an answer.
        .withLivenessProbe(probe("/live", 10, 3))
        .withNewResources()
            .addToRequests("cpu", new Quantity("100m"))
            .addToRequests("memory", new Quantity("256Mi"))
            .addToLimits("cpu", new Quantity("1"))
            .addToLimits("memory", new Quantity("512Mi"))
        .endResources()
        .withSecurityContext(RestrictedPods.containerSecurityContext())
        .addNewVolumeMount().withName("tmp").withMountPath("/tmp").endVolumeMount()
        .build();
  }

  private static Probe probe(String path, int periodSeconds, int failureThreshold) {
    return new ProbeBuilder()
        .withHttpGet(new HTTPGetActionBuilder().withPath(path).withPort(new IntOrString("http-admin")).build())
        .withInitialDelaySeconds(5)
        .withPeriodSeconds(periodSeconds)
        .withTimeoutSeconds(2)
        .withFailureThreshold(failureThreshold)
        .build();
  }

  private static HasMetadata disruptionBudget(String ns) {
    return RestrictedPods.disruptionBudget(Manifests.CONTROLLER, ns, podLabels(), selector());
  }
}
