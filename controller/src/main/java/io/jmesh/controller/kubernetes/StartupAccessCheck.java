package io.jmesh.controller.kubernetes;

import io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectAccessReview;
import io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectAccessReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.ArrayList;
import java.util.List;

/**
 * At start, asks the API server with SelfSubjectAccessReviews whether the controller may do what
 * its Kubernetes CA will do: create TokenReviews (every certificate request), get and create the
 * CA's Secret, get, create and update the trust-anchor ConfigMap, and get, create, update and
 * patch the Lease whose holder creates the Secret (fabric8 8.0 renews with a PATCH). A missing
 * permission would
 * otherwise show only as every workload refused a certificate; here it stops the start, naming
 * each permission missing. SelfSubjectAccessReviews need no RBAC rule: every authenticated user
 * may ask about itself.
 */
public final class StartupAccessCheck {
  /** A permission asked about: {@code namespace} null for cluster-wide. */
  record Permission(String group, String resource, String verb, String namespace) {
    @Override
    public String toString() {
      return verb
          + " "
          + (group.isEmpty() ? "" : group + "/")
          + resource
          + (namespace == null ? "" : " in namespace " + namespace);
    }
  }

  /** The controller may not do something it needs; the message names every such permission. */
  public static final class MissingPermissionException extends Exception {
    private static final long serialVersionUID = 1L;

    MissingPermissionException(String message) {
      super(message);
    }
  }

  private StartupAccessCheck() {}

  static List<Permission> needed(String namespace, String leaseNamespace) {
    List<Permission> needed = new ArrayList<>();
    needed.add(new Permission("authentication.k8s.io", "tokenreviews", "create", null));
    for (String verb : List.of("get", "create")) {
      needed.add(new Permission("", "secrets", verb, namespace));
    }
    for (String verb : List.of("get", "create", "update")) {
      needed.add(new Permission("", "configmaps", verb, namespace));
    }
    // Without the Lease no replica leads, and none would ever create the Secret.
    for (String verb : List.of("get", "create", "update", "patch")) {
      needed.add(new Permission("coordination.k8s.io", "leases", verb, leaseNamespace));
    }
    return needed;
  }

  /**
   * @param namespace the namespace of the CA's Secret and the trust-anchor ConfigMap
   * @param leaseNamespace the namespace of the Lease of the replica that creates the Secret
   * @throws MissingPermissionException naming each permission denied or that could not be checked
   */
  public static void require(KubernetesClient client, String namespace, String leaseNamespace)
      throws MissingPermissionException {
    List<String> missing = new ArrayList<>();
    for (Permission p : needed(namespace, leaseNamespace)) {
      SelfSubjectAccessReview review =
          new SelfSubjectAccessReviewBuilder()
              .withNewSpec()
              .withNewResourceAttributes()
              .withGroup(p.group())
              .withResource(p.resource())
              .withVerb(p.verb())
              .withNamespace(p.namespace())
              .endResourceAttributes()
              .endSpec()
              .build();
      try {
        SelfSubjectAccessReview answer =
            client.authorization().v1().selfSubjectAccessReview().create(review);
        boolean allowed =
            answer != null
                && answer.getStatus() != null
                && Boolean.TRUE.equals(answer.getStatus().getAllowed());
        if (!allowed) {
          String reason =
              answer == null || answer.getStatus() == null ? null : answer.getStatus().getReason();
          missing.add(p + (reason == null || reason.isEmpty() ? "" : " (" + reason + ")"));
        }
      } catch (KubernetesClientException e) {
        missing.add(
            p + " (the SelfSubjectAccessReview failed: " + e.getCode() + " " + e.getMessage() + ")");
      }
    }
    if (!missing.isEmpty()) {
      throw new MissingPermissionException(
          "Kubernetes RBAC: the controller may not "
              + String.join(", ", missing)
              + " (expected: allowed, as the RBAC of jmesh install grants; check with kubectl auth"
              + " can-i <verb> <resource> -n "
              + namespace
              + " --as=system:serviceaccount:"
              + namespace
              + ":jmesh-controller)");
    }
  }
}
