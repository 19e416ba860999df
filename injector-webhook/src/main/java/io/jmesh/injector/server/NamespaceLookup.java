package io.jmesh.injector.server;

import io.fabric8.kubernetes.api.model.ObjectMeta;

/**
 * The labels and annotations of a namespace, for the opt-in decision: an AdmissionReview carries
 * only the namespace's name.
 *
 * <p>Implementations are safe to call from several threads at once and may block (a read from
 * the API server); the server calls them off its I/O threads.
 */
public interface NamespaceLookup {
  /**
   * The namespace's metadata, or null when it does not exist.
   *
   * @throws UnavailableException when it cannot be read now (the API server unreachable, a 403)
   */
  ObjectMeta metadata(String namespace) throws UnavailableException;

  /** Whether lookups answer from a full cache (readiness). */
  boolean ready();

  /** No Kubernetes API: every namespace is unknown, so only a pod can opt in. */
  NamespaceLookup NONE =
      new NamespaceLookup() {
        @Override
        public ObjectMeta metadata(String namespace) {
          return null;
        }

        @Override
        public boolean ready() {
          return true;
        }
      };

  /** The namespace could not be read; the message names it and the cause. */
  final class UnavailableException extends Exception {
    private static final long serialVersionUID = 1L;

    public UnavailableException(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
