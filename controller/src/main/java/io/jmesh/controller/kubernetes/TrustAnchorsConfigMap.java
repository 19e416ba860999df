package io.jmesh.controller.kubernetes;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.HttpURLConnection;
import java.util.Objects;

/**
 * Publishes the CA's trust anchors (PEM) in the ConfigMap {@value #NAME}, key {@value #KEY}, for
 * agents to mount and name in {@code JMESH_TRUST_ANCHORS_FILE}. Written only when it differs, so
 * that N replicas starting with one CA write it once; a 409 from a replica writing at the same
 * time is answered by reading again.
 *
 * <p>Thread-safety: a blocking call for start-up, from one thread.
 */
public final class TrustAnchorsConfigMap {
  private static final Logger LOG = System.getLogger("io.jmesh.controller.ca");

  /** The ConfigMap's name (what {@code jmesh install} creates, empty, for the agents' mounts). */
  public static final String NAME = "jmesh-trust-anchors";

  /** The key holding the PEM anchors. */
  public static final String KEY = "trust-anchors.pem";

  private TrustAnchorsConfigMap() {}

  /**
   * Makes {@code namespace/jmesh-trust-anchors} hold {@code pem} under {@value #KEY}: created if
   * absent, updated if it holds something else, left alone if it holds that.
   *
   * @return true if it was written
   * @throws IOException naming the ConfigMap and the API server's answer
   */
  public static boolean publish(KubernetesClient client, String namespace, String pem)
      throws IOException {
    Objects.requireNonNull(pem, "pem");
    String location = "configmap " + namespace + "/" + NAME;
    // Two tries: a 409 means another replica wrote meanwhile; the second look sees its write.
    for (int attempt = 1; ; attempt++) {
      try {
        ConfigMap current = client.configMaps().inNamespace(namespace).withName(NAME).get();
        if (current != null
            && current.getData() != null
            && pem.equals(current.getData().get(KEY))) {
          return false;
        }
        if (current == null) {
          client
              .configMaps()
              .inNamespace(namespace)
              .resource(
                  new ConfigMapBuilder()
                      .withNewMetadata()
                      .withName(NAME)
                      .withNamespace(namespace)
                      .addToLabels("app.kubernetes.io/part-of", "jmesh")
                      .endMetadata()
                      .addToData(KEY, pem)
                      .build())
              .create();
        } else {
          // Update, not replace: the object read carries its resourceVersion, so a concurrent
          // write is a 409 instead of being lost.
          client
              .configMaps()
              .inNamespace(namespace)
              .resource(new ConfigMapBuilder(current).addToData(KEY, pem).build())
              .update();
        }
        LOG.log(Level.INFO, "trust anchors published in " + location + ", key " + KEY);
        return true;
      } catch (KubernetesClientException e) {
        if (e.getCode() == HttpURLConnection.HTTP_CONFLICT && attempt < 2) {
          continue;
        }
        throw new IOException(
            location + ": cannot publish the trust anchors: " + e.getCode() + " " + e.getMessage(),
            e);
      }
    }
  }
}
