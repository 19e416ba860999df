package io.jmesh.controller;

import io.jmesh.controller.source.MeshSource;
import io.jmesh.controller.source.MeshViews;
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

  /** {@link #push(MeshSnapshot)} with what each namespace sees, as the Kubernetes source does. */
  void push(MeshSnapshot snapshot, MeshViews views) {
    current = snapshot;
    error = null;
    listener.onSnapshot(snapshot, views);
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
