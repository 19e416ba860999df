package io.jmesh.runtime;

import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.config.Service;
import io.jmesh.runtime.identity.MeshTls;
import io.jmesh.runtime.identity.SpiffeId;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLContext;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Which destinations are reached over mesh TLS and the identities each must prove, per snapshot,
 * with one client TLS context per destination kept while its identities do not change.
 *
 * <p>Thread-safety: {@link #update} is called under the runtime's config lock; every other method
 * is lock-free and may be called from any thread.
 */
final class DestinationTls {
  private final MeshTls meshTls; // null: no mesh identity, mesh TLS is off
  private volatile Map<String, List<SpiffeId>> identities = Map.of();
  private final Map<String, Map.Entry<List<SpiffeId>, SSLContext>> contexts =
      new ConcurrentHashMap<>();

  DestinationTls(MeshTls meshTls) {
    this.meshTls = meshTls;
  }

  void update(MeshSnapshot snapshot) {
    Map<String, List<SpiffeId>> out = new HashMap<>();
    for (Service s : snapshot.services()) {
      if (s.meshTls()) {
        out.put(s.qualifiedName(), s.identities());
      }
    }
    identities = Map.copyOf(out);
  }

  boolean required(String destination) {
    return destination != null && identities.containsKey(destination);
  }

  SSLContext contextFor(String destination) {
    List<SpiffeId> ids = identities.get(destination);
    if (ids == null || meshTls == null) {
      return null;
    }
    Map.Entry<List<SpiffeId>, SSLContext> cached = contexts.get(destination);
    if (cached != null && cached.getKey().equals(ids)) {
      return cached.getValue();
    }
    // Atomically: calls that start together must share one context (an adapter pools its
    // connections per context, so two contexts would mean two connections to each endpoint).
    return contexts
        .compute(
            destination,
            (d, old) ->
                old != null && old.getKey().equals(ids)
                    ? old
                    : Map.entry(ids, meshTls.clientContext(d, new HashSet<>(ids))))
        .getValue();
  }

  X509ExtendedTrustManager trustFor(String destination) {
    List<SpiffeId> ids = destination == null ? null : identities.get(destination);
    if (ids == null || meshTls == null) {
      return null;
    }
    return meshTls.clientTrustManager(destination, new HashSet<>(ids));
  }
}
