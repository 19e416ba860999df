package io.jmesh.injector.server;

import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Namespaces from a fabric8 informer (one list, then a watch): a lookup answers from the cache;
 * a namespace the cache lacks (created a moment ago, or the cache not synced yet) costs one GET.
 * A label set on a namespace reaches the cache within the watch's delay, typically well under a
 * second; a pod created in that window is decided on the old labels.
 *
 * <p>RBAC: {@code get}, {@code list} and {@code watch} on {@code namespaces} (cluster scope).
 *
 * <p>Thread-safety: lookups from any thread; {@link #close} once.
 */
public final class InformerNamespaces implements NamespaceLookup, AutoCloseable {
  private static final Logger LOG = System.getLogger("io.jmesh.injector.namespaces");
  private final KubernetesClient client;
  private final SharedIndexInformer<Namespace> informer;
  private final AtomicLong gets = new AtomicLong();

  private InformerNamespaces(KubernetesClient client, SharedIndexInformer<Namespace> informer) {
    this.client = client;
    this.informer = informer;
  }

  /**
   * Starts the informer without waiting for its first list: {@link #ready} says when it has one.
   * The client stays the caller's to close.
   */
  public static InformerNamespaces start(KubernetesClient client) {
    Objects.requireNonNull(client, "client");
    SharedIndexInformer<Namespace> informer = client.namespaces().runnableInformer(0);
    // Keep trying through an API server that is down at the start or later (fabric8 would stop
    // the informer after a failed first list); lookups meanwhile fall back to a GET.
    informer.exceptionHandler(
        (started, e) -> {
          LOG.log(Level.WARNING, "namespace informer: " + e.getMessage() + "; retrying");
          return true;
        });
    informer.start();
    return new InformerNamespaces(client, informer);
  }

  @Override
  public ObjectMeta metadata(String namespace) throws UnavailableException {
    Namespace cached = informer.getStore().getByKey(namespace);
    if (cached != null) {
      return copy(cached);
    }
    gets.incrementAndGet();
    Namespace read;
    try {
      read = client.namespaces().withName(namespace).get();
    } catch (KubernetesClientException e) {
      throw new UnavailableException(
          "namespace "
              + namespace
              + ": cannot read it from the Kubernetes API at "
              + client.getMasterUrl()
              + ": "
              + e.getMessage()
              + rootCause(e),
          e);
    }
    return read == null ? null : copy(read);
  }

  /** The causes fabric8's message leaves out: " (caused by java.io.IOException, java.net...)". */
  private static String rootCause(Throwable e) {
    StringBuilder causes = new StringBuilder();
    int depth = 0;
    for (Throwable c = e.getCause(); c != null && depth < 5; c = c.getCause(), depth++) {
      causes.append(causes.length() == 0 ? " (caused by " : ", ").append(c);
    }
    return causes.length() == 0 ? "" : causes.append(')').toString();
  }

  @Override
  public boolean ready() {
    return informer.hasSynced();
  }

  /** How many lookups missed the cache and read the API (for tests and the log). */
  long gets() {
    return gets.get();
  }

  private static ObjectMeta copy(Namespace namespace) {
    ObjectMeta meta = namespace.getMetadata();
    // The injector reads names, labels and annotations only: copies, so nobody edits the cache.
    return new ObjectMetaBuilder()
        .withName(meta.getName())
        .withLabels(meta.getLabels() == null ? null : new java.util.HashMap<>(meta.getLabels()))
        .withAnnotations(
            meta.getAnnotations() == null ? null : new java.util.HashMap<>(meta.getAnnotations()))
        .build();
  }

  @Override
  public void close() {
    informer.close();
  }
}
