package io.jmesh.bridge;

import java.io.IOException;

/**
 * The mesh refused a call on purpose (no endpoint, and later: circuit open, deadline passed,
 * denied). Unlike an agent error, which lets the call go on unmeshed, a refusal reaches the
 * application as this {@link IOException}, whose message says what to fix.
 */
public class MeshRefusal extends IOException {
  private static final long serialVersionUID = 1L;

  public MeshRefusal(String message) {
    super(message);
  }
}
