package io.jmesh.controller;

import io.jmesh.controller.source.MeshSource;
import io.jmesh.runtime.config.MeshSnapshot;
import java.util.Optional;

/** A source the test drives: each {@link #push} reaches the listener on the test's thread. */
final class ManualMeshSource implements MeshSource {
  private volatile Listener listener;
  private volatile MeshSnapshot current;
  private volatile String error;

  @Override
  public void start(Listener listener) {
    this.listener = listener;
  }

  void push(MeshSnapshot snapshot) {
    current = snapshot;
    error = null;
    listener.onSnapshot(snapshot);
  }

  void fail(String error) {
    this.error = error;
  }

  @Override
  public Optional<MeshSnapshot> current() {
    return Optional.ofNullable(current);
  }

  @Override
  public Optional<String> lastError() {
    return Optional.ofNullable(error);
  }

  @Override
  public String description() {
    return "manual source";
  }

  @Override
  public void close() {}
}
