package io.jmesh.agent.tooling;

import io.jmesh.bridge.MeshBridge;
import io.jmesh.runtime.MeshRuntime;
import io.jmesh.runtime.identity.MeshTls;
import io.jmesh.runtime.trace.Tracing;

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
   * For tests only (the instrumentation conformance suite, which runs the agent in its own JVM
   * without a controller): puts in force a runtime that holds {@code tls} as this workload's mesh
   * identity, with the agent's options and the snapshot in force, as if the agent had started
   * with an identity from the CA; closes the runtime it replaces. Hooks read {@link #calls()} per
   * call, so the next call uses it. Production code never calls this: an identity is obtained
   * once, at start, and renewed in place.
   *
   * @return the runtime now in force
   * @throws IllegalStateException when the agent has not started
   */
  public static synchronized MeshRuntime installIdentityForTests(MeshTls tls) {
    AgentContext old = context;
    if (old == null) {
      throw new IllegalStateException("the agent has not started (expected: Agent.context() != null)");
    }
    AgentConfig config = old.config();
    MeshRuntime runtime =
        MeshRuntime.builder()
            .options(new MeshRuntime.Options(config.namespace(), config.clusterDomain()))
            .snapshot(old.runtime().snapshot())
            .identity(tls)
            // The agent's registry (its /metrics), so that tests see what a workload records.
            .metrics(old.runtime().metrics())
            .build();
    AgentContext c = new AgentContext(runtime, config, old.tracing());
    MeshCalls m = new MeshCalls(runtime, c);
    set(c, m);
    MeshBridge.install(m);
    old.runtime().close();
    return runtime;
  }

  /**
   * For tests only (the instrumentation conformance suite): puts {@code tracing} in force for the
   * calls that start from now on, keeping the runtime, and returns the tracing it replaces (not
   * closed). Production code never calls this: tracing is set up once, at start, from OTEL_*.
   *
   * @throws IllegalStateException when the agent has not started
   */
  public static synchronized Tracing installTracingForTests(Tracing tracing) {
    AgentContext old = context;
    if (old == null) {
      throw new IllegalStateException("the agent has not started (expected: Agent.context() != null)");
    }
    AgentContext c = new AgentContext(old.runtime(), old.config(), tracing);
    MeshCalls m = new MeshCalls(old.runtime(), c);
    set(c, m);
    MeshBridge.install(m);
    return old.tracing();
  }
}
