package io.jmesh.runtime.config;

import java.util.Map;

/**
 * One backend of a route: the endpoints of the service whose labels include every label of
 * {@code subset} (an empty subset selects all endpoints), taking {@code weight} parts of the
 * route's traffic. A subset that selects no endpoint is allowed; calls sent to it fail with {@link
 * io.jmesh.runtime.NoEndpointException}.
 */
public record Backend(Map<String, String> subset, int weight) {

  public Backend {
    subset = Map.copyOf(subset);
    if (weight < 0) {
      throw new IllegalArgumentException("weight: " + weight + " (expected: >= 0)");
    }
  }

  /** All endpoints of the service, weight 1. */
  public static Backend all() {
    return new Backend(Map.of(), 1);
  }
}
