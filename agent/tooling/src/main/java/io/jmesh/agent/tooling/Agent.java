package io.jmesh.agent.tooling;

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
}
