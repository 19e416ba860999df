package io.jmesh.controller.kubernetes;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.jmesh.controller.ca.CertificateAuthority;
import io.jmesh.controller.ca.ServedCa;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;

/**
 * The controller's CA in Kubernetes, composed at start: the permission check ({@link
 * StartupAccessCheck}), the election of the replica that creates the Secret ({@link
 * StatusLeader}, started here), the CA from its Secret ({@link CaSecret}: the leader creates it,
 * the others wait for it), the anchors published in their
 * ConfigMap ({@link TrustAnchorsConfigMap}), and TokenReview authentication ({@link
 * TokenReviewAuthenticator}). Blocking; call once at start.
 */
public final class KubernetesCa {
  private KubernetesCa() {}

  /**
   * @param namespace the namespace of the Secret and the ConfigMap (the controller's)
   * @param secretName the Secret holding the CA
   * @param leader the replicas' election, started here after the permission check (not closed
   *     here: the mesh source or the caller closes it)
   * @param wait how long a replica that does not lead waits for the leader's Secret
   * @throws StartupAccessCheck.MissingPermissionException naming each missing permission
   * @throws IOException if the Secret or ConfigMap cannot be read or written, the Secret holds no
   *     good CA, or the leader did not create it within {@code wait.timeout()}
   */
  public static ServedCa start(
      KubernetesClient client,
      String namespace,
      String secretName,
      String trustDomain,
      Duration maxLeafLifetime,
      Clock clock,
      StatusLeader leader,
      CaSecret.Wait wait)
      throws IOException, StartupAccessCheck.MissingPermissionException {
    StartupAccessCheck.require(client, namespace, leader.settings().namespace());
    leader.start();
    CertificateAuthority ca =
        CaSecret.loadOrCreate(
                client, namespace, secretName, trustDomain, maxLeafLifetime, clock, leader, wait)
            .ca();
    TrustAnchorsConfigMap.publish(client, namespace, ca.trustAnchorsPem());
    return new ServedCa(
        ca,
        new TokenReviewAuthenticator(client, trustDomain),
        "configmap " + namespace + "/" + TrustAnchorsConfigMap.NAME + " key "
            + TrustAnchorsConfigMap.KEY);
  }
}
