package io.jmesh.agent.tooling;

import io.jmesh.runtime.config.HeaderModifier;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A route's header edits in the bridge's shape ({@link io.jmesh.bridge.BridgeCall#requestHeaderEdits},
 * {@link io.jmesh.bridge.BridgeCall#responseHeaderEdits}):
 * names to remove, pairs to set, pairs to add. Converted once per distinct edit and shared, since
 * every call on the route asks for the same arrays. Thread-safe.
 */
final class HeaderEdits {
  // Keyed by value (a record). Bounded by clearing it when it grows past what a mesh config holds:
  // each new config brings its own edits, and the old ones would otherwise stay forever.
  private static final int MAX_CACHED = 1024;
  private static final Map<HeaderModifier, String[][]> CACHE = new ConcurrentHashMap<>();

  private HeaderEdits() {}

  /**
   * Test fixture hook ({@code AgentTestHooks}): puts {@code converted} in the cache for {@code
   * edits}, so that a test can hand the adapters edits they fail on, as an agent bug would.
   */
  static void replace(HeaderModifier edits, String[][] converted) {
    CACHE.put(edits, converted);
  }

  static String[][] of(HeaderModifier edits) {
    String[][] cached = CACHE.get(edits);
    if (cached != null) {
      return cached;
    }
    if (CACHE.size() >= MAX_CACHED) {
      CACHE.clear();
    }
    String[][] converted = {edits.remove().toArray(String[]::new), pairs(edits.set()), pairs(edits.add())};
    CACHE.put(edits, converted);
    return converted;
  }

  private static String[] pairs(List<HeaderModifier.Header> headers) {
    String[] out = new String[headers.size() * 2];
    for (int i = 0; i < headers.size(); i++) {
      out[2 * i] = headers.get(i).name();
      out[2 * i + 1] = headers.get(i).value();
    }
    return out;
  }
}
