package io.jmesh.agent.tooling;

import io.jmesh.bridge.MeshBridge;

/**
 * The installed agent, for hooks that run in the agent class loader (JDK client hooks). Set once
 * by {@link AgentInstaller} before any type is woven.
 */
public final class Agent {
  private static volatile AgentContext context;
  private static volatile MeshCalls calls;

  private Agent() {}

  static void set(AgentContext c, MeshCalls m) {
    context = c;
    calls = m;
  }

  public static AgentContext context() {
    return context;
  }

  public static MeshCalls calls() {
    return calls;
  }

  /**
   * Puts {@code next} in force in place of the current context: hooks read {@link #calls()} per
   * call, so the next call uses it. Not part of the agent's API: production sets the context once,
   * at start; only the conformance suites' fixture {@code AgentTestHooks} (in this module's test
   * jar, same package) replaces it, to give the agent started without a controller a mesh
   * identity or a tracer of the test's own.
   */
  static synchronized void replace(AgentContext next) {
    MeshCalls m = new MeshCalls(next.runtime(), next);
    set(next, m);
    MeshBridge.install(m);
  }
}
