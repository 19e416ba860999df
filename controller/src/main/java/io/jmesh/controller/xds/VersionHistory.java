package io.jmesh.controller.xds;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * When each recent snapshot version was set in the cache, on the ticker's scale, so that an ACK
 * can be timed against it. Bounded: a version older than the last {@code capacity} is forgotten,
 * and ACKs of it are not timed (an agent that far behind would only skew the propagation timer).
 *
 * <p>Thread-safety: safe from any thread.
 */
final class VersionHistory {
  private final Map<String, Long> setAt;

  VersionHistory(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity: " + capacity + " (expected: >= 1)");
    }
    this.setAt =
        new LinkedHashMap<>() {
          @Override
          protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
            return size() > capacity;
          }
        };
  }

  /** Records that {@code version} was set at {@code nanos}; a version set again starts afresh. */
  synchronized void set(String version, long nanos) {
    setAt.remove(version); // re-insert at the young end
    setAt.put(version, nanos);
  }

  /** When {@code version} was last set, or -1 if it is unknown or forgotten. */
  synchronized long setAtNanos(String version) {
    Long nanos = setAt.get(version);
    return nanos == null ? -1 : nanos;
  }
}
