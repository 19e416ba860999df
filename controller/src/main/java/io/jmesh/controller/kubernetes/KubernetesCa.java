package io.jmesh.controller.kubernetes;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.jmesh.controller.ca.CertificateAuthority;
import io.jmesh.controller.ca.ServedCa;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;

/**
 * The controller's CA in Kubernetes, composed at start: the permission check ({@link
 * StartupAccessCheck}), the CA from its Secret ({@link CaSecret}), the anchors published in their
 * ConfigMap ({@link TrustAnchorsConfigMap}), and TokenReview authentication ({@link
 * TokenReviewAuthenticator}). Blocking; call once at start.
 */
public final class KubernetesCa {
  private KubernetesCa() {}

  /**
   * @param namespace the namespace of the Secret and the ConfigMap (the controller's)
   * @param secretName the Secret holding the CA
   * @throws StartupAccessCheck.MissingPermissionException naming each missing permission
   * @throws IOException if the Secret or ConfigMap cannot be read or written, or the Secret holds
   *     no good CA
   */
  public static ServedCa start(
      KubernetesClient client,
      String namespace,
      String secretName,
      String trustDomain,
      Duration maxLeafLifetime,
      Clock clock)
      throws IOException, StartupAccessCheck.MissingPermissionException {
    StartupAccessCheck.require(client, namespace);
    CertificateAuthority ca =
        CaSecret.loadOrCreate(client, namespace, secretName, trustDomain, maxLeafLifetime, clock);
    TrustAnchorsConfigMap.publish(client, namespace, ca.trustAnchorsPem());
    return new ServedCa(
        ca,
        new TokenReviewAuthenticator(client, trustDomain),
        "configmap " + namespace + "/" + TrustAnchorsConfigMap.NAME + " key "
            + TrustAnchorsConfigMap.KEY);
  }
}
