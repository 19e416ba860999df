package io.jmesh.runtime.xds;

/**
 * An xDS resource the agent cannot apply. The message names the resource type and name, the
 * field path, the value and what was expected, for example {@code Cluster hello.default:
 * outlier_detection.interval: 0s (expected: > 0)}; it is sent back to the controller as the NACK's
 * {@code error_detail} as is.
 */
public final class XdsResourceException extends Exception {
  private static final long serialVersionUID = 1L;

  public XdsResourceException(String message) {
    super(message);
  }
}
