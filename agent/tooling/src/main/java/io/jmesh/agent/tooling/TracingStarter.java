package io.jmesh.agent.tooling;

import io.jmesh.bridge.AgentLog;
import io.jmesh.runtime.time.Ticker;
import io.jmesh.runtime.trace.TraceSettings;
import io.jmesh.runtime.trace.Tracing;

/**
 * Starts jmesh's tracer from the standard {@code OTEL_*} settings (see agent/README.md, Traces),
 * or none when {@code jmesh.traces} is false or they ask for no export.
 *
 * <p>Called once, on the agent's start thread. Never throws: without a tracer calls go on
 * untraced.
 */
final class TracingStarter {
  private TracingStarter() {}

  static Tracing start(AgentConfig config) {
    if (!config.traces()) {
      return Tracing.disabled();
    }
    try {
      TraceSettings settings =
          TraceSettings.fromSystem(config.service().isEmpty() ? "unknown_service:java" : config.service());
      Tracing tracing = Tracing.start(settings, Ticker.system());
      if (tracing.enabled()) {
        // The last batch of a JVM that exits would be lost: export it on the way out (bounded
        // by Tracing.close()).
        Runtime.getRuntime().addShutdownHook(new Thread(tracing::close, "jmesh-traces-flush"));
      }
      return tracing;
    } catch (RuntimeException | LinkageError e) {
      AgentLog.warn("traces: could not start; calls go on untraced", e);
      return Tracing.disabled();
    }
  }
}
