package io.jmesh.agent.tooling;

import io.jmesh.runtime.MeshRuntime;

/** What an instrumentation module gets at install: the runtime and the agent's settings. */
public final class AgentContext {
  private final MeshRuntime runtime;
  private final AgentConfig config;

  AgentContext(MeshRuntime runtime, AgentConfig config) {
    this.runtime = runtime;
    this.config = config;
  }

  public MeshRuntime runtime() {
    return runtime;
  }

  public AgentConfig config() {
    return config;
  }

  /**
   * Throws when {@code jmesh.debug.inject.fault} names {@code place} (or {@code all}): lets tests
   * prove that an error inside the agent never breaks the application's call.
   */
  public void maybeInjectFault(String place) {
    config.maybeInjectFault(place);
  }
}
