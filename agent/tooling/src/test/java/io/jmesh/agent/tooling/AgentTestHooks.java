package io.jmesh.agent.tooling;

import io.jmesh.runtime.MeshRuntime;
import io.jmesh.runtime.identity.MeshTls;
import io.jmesh.runtime.trace.Tracing;

/**
 * Test fixture, shipped only in this module's test jar (never in {@code jmesh-agent.jar}): lets the
 * instrumentation conformance suites, which run the agent in development mode in their own JVM
 * without a controller, give it what a controller-mode start would have, through the
 * package-private {@link Agent#replace}. It works because the suites load the agent's classes and
 * this one with the same (system) class loader, so both are in one runtime package.
 *
 * <p>Thread-safety: each method replaces the agent's context atomically (under {@code Agent}'s
 * lock); calls already under way finish with the context they started with.
 */
public final class AgentTestHooks {
  private AgentTestHooks() {}

  /**
   * Puts in force a runtime that holds {@code tls} as this workload's mesh identity, with the
   * agent's options, metrics registry and the snapshot in force, as if the agent had started with
   * an identity from the CA; closes the runtime it replaces. The next call uses it.
   *
   * @return the runtime now in force
   * @throws IllegalStateException when the agent has not started
   */
  public static MeshRuntime installIdentity(MeshTls tls) {
    synchronized (Agent.class) {
      AgentContext old = started();
      AgentConfig config = old.config();
      MeshRuntime runtime =
          MeshRuntime.builder()
              .options(new MeshRuntime.Options(config.namespace(), config.clusterDomain()))
              .snapshot(old.runtime().snapshot())
              .identity(tls)
              // The agent's registry (its /metrics), so that tests see what a workload records.
              .metrics(old.runtime().metrics())
              .build();
      Agent.replace(new AgentContext(runtime, config, old.tracing()));
      old.runtime().close();
      return runtime;
    }
  }

  /**
   * Puts {@code tracing} in force for the calls that start from now on, keeping the runtime, and
   * returns the tracing it replaces (not closed).
   *
   * @throws IllegalStateException when the agent has not started
   */
  public static Tracing installTracing(Tracing tracing) {
    synchronized (Agent.class) {
      AgentContext old = started();
      Agent.replace(new AgentContext(old.runtime(), old.config(), tracing));
      return old.tracing();
    }
  }

  /**
   * Makes every route whose response header edits equal {@code edits} hand the client adapters
   * malformed edits (three null arrays) from now on, as an agent bug would, so that a suite can show
   * that such an error never breaks the application's call. Use edits no other test uses.
   */
  public static void breakResponseHeaderEdits(io.jmesh.runtime.config.HeaderModifier edits) {
    HeaderEdits.replace(edits, new String[3][]);
  }

  private static AgentContext started() {
    AgentContext c = Agent.context();
    if (c == null) {
      throw new IllegalStateException("the agent has not started (expected: Agent.context() != null)");
    }
    return c;
  }
}
