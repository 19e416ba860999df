package io.jmesh.controller.xds;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * When each recent source version was set in the cache, on the ticker's scale, so that an ACK
 * can be timed against it. A type keeps an older version while its resources do not change
 * (TypedSnapshot), so the versions still served are kept whatever their age; of the others, a
 * version older than the last {@code capacity} is forgotten, and ACKs of it are not timed (an
 * agent that far behind would only skew the propagation timer).
 *
 * <p>Thread-safety: safe from any thread.
 */
final class VersionHistory {
  private final int capacity;
  private final Map<String, Long> setAt = new LinkedHashMap<>(); // oldest first

  VersionHistory(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity: " + capacity + " (expected: >= 1)");
    }
    this.capacity = capacity;
  }

  /** Records that {@code version} was set at {@code nanos}; a version set again starts afresh. */
  synchronized void set(String version, long nanos) {
    set(version, nanos, Set.of());
  }

  /**
   * Records that {@code version} was set at {@code nanos}, and forgets the oldest versions beyond
   * {@code capacity} that are not in {@code live} (the source versions some type is still served
   * with).
   */
  synchronized void set(String version, long nanos, Set<String> live) {
    setAt.remove(version); // re-insert at the young end
    setAt.put(version, nanos);
    Iterator<String> oldest = setAt.keySet().iterator();
    int excess = setAt.size() - capacity;
    while (excess > 0 && oldest.hasNext()) {
      String candidate = oldest.next();
      if (!candidate.equals(version) && !live.contains(candidate)) {
        oldest.remove();
        excess--;
      }
    }
  }

  /**
   * When the source version of {@code typeVersion} (a type's version; a namespace's carries
   * {@code /<namespace>}) was last set, or -1 if it is unknown or forgotten.
   */
  synchronized long setAtNanos(String typeVersion) {
    Long nanos = setAt.get(TypedSnapshot.sourceVersion(typeVersion));
    return nanos == null ? -1 : nanos;
  }
}
