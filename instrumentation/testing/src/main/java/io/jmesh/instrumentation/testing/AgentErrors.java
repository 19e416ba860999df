package io.jmesh.instrumentation.testing;

import io.jmesh.bridge.MeshBridge;
import java.util.Map;

/** What the in-JVM agent counted as its own errors, for the conformance suites. */
public final class AgentErrors {
  private AgentErrors() {}

  /** Response header edits that failed to apply so far, every client together. */
  public static long responseHeaderEdits() {
    return MeshBridge.errorCounts().entrySet().stream()
        .filter(e -> e.getKey().endsWith(MeshBridge.RESPONSE_HEADERS))
        .mapToLong(Map.Entry::getValue)
        .sum();
  }
}
