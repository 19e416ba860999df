package io.jmesh.agent.tooling;

import io.jmesh.runtime.MeshRuntime;
import io.jmesh.runtime.trace.Tracing;

/**
 * What an instrumentation module gets at install: the runtime, the tracer and the agent's settings.
 */
public final class AgentContext {
  private final MeshRuntime runtime;
  private final AgentConfig config;
  private final Tracing tracing;

  AgentContext(MeshRuntime runtime, AgentConfig config) {
    this(runtime, config, Tracing.disabled());
  }

  AgentContext(MeshRuntime runtime, AgentConfig config, Tracing tracing) {
    this.runtime = runtime;
    this.config = config;
    this.tracing = tracing;
  }

  /** jmesh's tracer; {@link Tracing#enabled()} is false when traces are off. */
  public Tracing tracing() {
    return tracing;
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
