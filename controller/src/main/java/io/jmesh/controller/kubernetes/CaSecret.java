package io.jmesh.controller.kubernetes;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.jmesh.controller.ca.CertificateAuthority;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.HttpURLConnection;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The CA's keys in a Kubernetes Secret, so that every replica signs with the same CA. At start a
 * replica reads the Secret; if it is absent, it makes a new CA and creates the Secret. When two
 * replicas start together both may find it absent: the API server accepts one create and answers
 * the other 409 Conflict, and the loser reads and uses the winner's CA (it never overwrites it).
 *
 * <p>The Secret's keys are the file names of a CA directory ({@code anchor.pem}, {@code
 * anchor-key.pem}, {@code issuer.pem}, {@code issuer-key.pem}, optional {@code trust-bundle.pem}),
 * checked as a directory is (controller README, "Files in the CA directory").
 *
 * <p>Thread-safety: {@link #loadOrCreate} is a blocking call for start-up, from one thread.
 */
public final class CaSecret {
  private static final Logger LOG = System.getLogger("io.jmesh.controller.ca");

  private CaSecret() {}

  /**
   * Loads the CA of Secret {@code namespace/name}, or makes one and creates the Secret.
   *
   * @throws IOException if the Secret cannot be read or created, or does not hold a good CA; the
   *     message names the Secret, the key and what is wrong
   */
  public static CertificateAuthority loadOrCreate(
      KubernetesClient client,
      String namespace,
      String name,
      String trustDomain,
      Duration maxLeafLifetime,
      Clock clock)
      throws IOException {
    String location = "secret " + namespace + "/" + name;
    Secret existing = get(client, namespace, name, location);
    if (existing == null) {
      Map<String, String> pems = CertificateAuthority.newCaPems(trustDomain, clock);
      Map<String, String> data = new LinkedHashMap<>();
      pems.forEach(
          (key, pem) ->
              data.put(
                  key,
                  Base64.getEncoder().encodeToString(pem.getBytes(StandardCharsets.US_ASCII))));
      Secret secret =
          new SecretBuilder()
              .withNewMetadata()
              .withName(name)
              .withNamespace(namespace)
              .addToLabels("app.kubernetes.io/part-of", "jmesh")
              .addToAnnotations(
                  "jmesh.io/contents",
                  "the jmesh CA: trust anchor and issuer with their keys (controller README,"
                      + " Kubernetes identity)")
              .endMetadata()
              .withType("Opaque")
              .withData(data)
              .build();
      try {
        client.secrets().inNamespace(namespace).resource(secret).create();
        CertificateAuthority ca =
            CertificateAuthority.fromPems(location, pems, trustDomain, maxLeafLifetime, clock);
        LOG.log(
            Level.INFO,
            "certificate authority: made a new trust anchor and issuer for trust domain "
                + trustDomain
                + " in "
                + location
                + "; the anchor is valid until "
                + ca.anchors().get(0).getNotAfter().toInstant());
        return ca;
      } catch (KubernetesClientException e) {
        if (e.getCode() != HttpURLConnection.HTTP_CONFLICT) {
          throw new IOException(
              location + ": cannot create: " + e.getCode() + " " + e.getMessage(), e);
        }
        // Another replica created it first: sign with its CA, never a second one.
        LOG.log(Level.INFO, location + ": created by another replica meanwhile; loading it");
        existing = get(client, namespace, name, location);
        if (existing == null) {
          throw new IOException(
              location + ": create answered 409 Conflict but the Secret cannot be read back");
        }
      }
    }
    CertificateAuthority ca =
        CertificateAuthority.fromPems(
            location, decode(existing, location), trustDomain, maxLeafLifetime, clock);
    LOG.log(
        Level.INFO,
        "certificate authority: loaded from "
            + location
            + ": issuer "
            + ca.issuer().getSubjectX500Principal()
            + " valid until "
            + ca.issuer().getNotAfter().toInstant());
    return ca;
  }

  private static Secret get(KubernetesClient client, String namespace, String name, String location)
      throws IOException {
    try {
      return client.secrets().inNamespace(namespace).withName(name).get();
    } catch (KubernetesClientException e) {
      throw new IOException(location + ": cannot read: " + e.getCode() + " " + e.getMessage(), e);
    }
  }

  private static Map<String, String> decode(Secret secret, String location) throws IOException {
    Map<String, String> pems = new LinkedHashMap<>();
    if (secret.getStringData() != null) {
      pems.putAll(secret.getStringData());
    }
    if (secret.getData() != null) {
      for (Map.Entry<String, String> e : secret.getData().entrySet()) {
        try {
          pems.put(
              e.getKey(),
              new String(Base64.getMimeDecoder().decode(e.getValue()), StandardCharsets.US_ASCII));
        } catch (IllegalArgumentException bad) {
          throw new IOException(
              location + " key " + e.getKey() + ": not base64 (expected: PEM, base64-encoded)",
              bad);
        }
      }
    }
    return pems;
  }
}
