package io.jmesh.controller.kubernetes;

import io.fabric8.kubernetes.api.model.ObjectReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Tells which Pod events can change what jmesh serves, so that the others start no translation
 * of the whole cluster. The translation reads a pod only through an EndpointSlice that points to
 * it ({@link EndpointIndex}), and then only its labels, whether it runs the agent and its service
 * account. So a pod event matters when some slice points to the pod and, for an update, one of
 * those changed. Most pod events in a cluster are neither: status updates of running pods, and in
 * a rollout the creation of pods no slice holds yet and the deletion of pods the slices dropped.
 *
 * <p>Why no event is lost: an informer updates its cache before it calls the handlers, and a slice
 * event counts the pods the slice points to before it asks for a translation. A pod event ignored
 * because no slice pointed to it yet is followed by the event of the slice that comes to point to
 * it, whose translation reads the pod as the cache has it; a slice event that has counted the pod
 * makes the pod's own events count too. Counts may only overstate what the slices hold (an extra
 * translation), never understate it.
 *
 * <p>Thread-safety: slice events come on the slice informer's thread, pod events on the pod
 * informer's; any thread may ask.
 */
final class EventFilter {
  // namespace/name of a pod → how many slices (as last seen) point to it.
  private final ConcurrentHashMap<String, Integer> pointedTo = new ConcurrentHashMap<>();

  /** Records a slice added ({@code old} null), changed, or deleted ({@code now} null). */
  void slice(EndpointSlice old, EndpointSlice now) {
    // Count the new pods before forgetting the old: never an instant where a pod both hold is
    // counted as held by none.
    count(now, 1);
    count(old, -1);
  }

  /** Whether adding or deleting {@code pod} can change the translation. */
  boolean podMatters(Pod pod) {
    return pointedTo.containsKey(key(pod));
  }

  /** Whether {@code old} becoming {@code now} can change the translation. */
  boolean podUpdateMatters(Pod old, Pod now) {
    return podMatters(now) && !EndpointIndex.sameEndpointFacts(old, now);
  }

  /** How many pods some slice points to, for tests. */
  int pointedTo() {
    return pointedTo.size();
  }

  private void count(EndpointSlice slice, int delta) {
    if (slice == null || slice.getEndpoints() == null) {
      return;
    }
    String namespace = slice.getMetadata().getNamespace();
    for (Endpoint endpoint : slice.getEndpoints()) {
      ObjectReference ref = endpoint.getTargetRef();
      if (ref != null && "Pod".equals(ref.getKind()) && ref.getName() != null) {
        String ns = ref.getNamespace() == null ? namespace : ref.getNamespace();
        pointedTo.merge(EndpointIndex.key(ns, ref.getName()), delta, EventFilter::sum);
      }
    }
  }

  /** The sum, or null (the entry leaves) when no slice points to the pod any more. */
  private static Integer sum(Integer a, Integer b) {
    int s = a + b;
    return s > 0 ? s : null;
  }

  private static String key(Pod pod) {
    return EndpointIndex.key(pod.getMetadata().getNamespace(), pod.getMetadata().getName());
  }
}
