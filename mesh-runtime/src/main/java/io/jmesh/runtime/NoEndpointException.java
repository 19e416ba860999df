package io.jmesh.runtime;

import java.io.IOException;

/** Thrown to the application when a mesh destination has no endpoint to send to. */
public final class NoEndpointException extends IOException {
  private static final long serialVersionUID = 1L;

  public NoEndpointException(String message) {
    super(message);
  }
}
