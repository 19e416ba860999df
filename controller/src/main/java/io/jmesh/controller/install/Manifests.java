package io.jmesh.controller.install;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@code jmesh install} prints: every object of the control plane, built with fabric8's
 * model builders and serialized to one multi-document YAML stream for {@code kubectl apply -f -}.
 * Cluster-scoped objects and those others depend on come first (namespace, CRDs, RBAC), the
 * workload last. Pure: the same options give the same bytes (the golden-file test holds it).
 */
public final class Manifests {
  /** The name of the controller's ServiceAccount, RBAC objects, Deployment, PDB and Service. */
  public static final String CONTROLLER = "jmesh-controller";
  /** The ConfigMap agents mount as {@code JMESH_TRUST_ANCHORS_FILE}. */
  public static final String TRUST_ANCHORS = "jmesh-trust-anchors";
  /** Its key (the file name in the mounted directory), as the controller writes it in --ca-dir. */
  public static final String TRUST_ANCHORS_KEY = "trust-anchors.pem";
  /** The name of the injector's ServiceAccount, RBAC, Deployment, PDB, Service and webhook. */
  public static final String INJECTOR = "jmesh-injector";
  /** The Secret the controller writes for the injector: tls.crt, tls.key, ca.crt. */
  public static final String INJECTOR_TLS_SECRET = "jmesh-injector-tls";
  public static final int XDS_PORT = 18000;
  public static final int ADMIN_PORT = 18001;

  private Manifests() {}

  /** Every object, in apply order. */
  public static List<HasMetadata> objects(InstallOptions options) {
    List<HasMetadata> all = new ArrayList<>();
    all.add(new NamespaceBuilder()
        .withNewMetadata()
            .withName(options.namespace())
            .withLabels(labels())
            // The controller's pods meet the restricted Pod Security Standard: hold the namespace to it.
            .addToLabels("pod-security.kubernetes.io/enforce", "restricted")
        .endMetadata()
        .build());
    all.addAll(JmeshCrds.objects());
    all.addAll(ControllerRbac.objects(options.namespace()));
    all.addAll(ControllerWorkload.objects(options));
    // Last: the webhook sends pods to the injector only once its Deployment and Service exist.
    all.addAll(InjectorWorkload.objects(options));
    return all;
  }

  /** The objects as one YAML stream, each document starting with {@code ---}. */
  public static String yaml(List<HasMetadata> objects) {
    KubernetesSerialization serialization = new KubernetesSerialization();
    StringBuilder out = new StringBuilder();
    for (HasMetadata o : objects) {
      String doc = serialization.asYaml(o);
      out.append(doc.startsWith("---") ? "" : "---\n").append(doc);
      if (!doc.endsWith("\n")) {
        out.append('\n');
      }
    }
    return out.toString();
  }

  /** The labels every object carries ({@code kubectl get all -l app.kubernetes.io/part-of=jmesh}). */
  static Map<String, String> labels() {
    Map<String, String> labels = new LinkedHashMap<>();
    labels.put("app.kubernetes.io/part-of", "jmesh");
    labels.put("app.kubernetes.io/managed-by", "jmesh-install");
    return labels;
  }
}
