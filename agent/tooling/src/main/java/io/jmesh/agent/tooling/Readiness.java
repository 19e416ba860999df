package io.jmesh.agent.tooling;

import io.jmesh.runtime.MeshRuntime;
import io.jmesh.runtime.xds.XdsClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@code /ready} reports: the agent's start thread records each step here as it happens, and
 * the admin endpoint asks per request what is still missing. The endpoint opens before the runtime
 * starts, so that it can say what the agent is waiting for (the controller, the CA).
 *
 * <p>Thread-safety: each step is recorded once, by the start thread; any thread may read.
 */
final class Readiness {
  private final AgentConfig config;
  private volatile MeshRuntime runtime;
  private volatile XdsClient xds;
  private volatile boolean started;
  private volatile String failure;

  Readiness(AgentConfig config) {
    this.config = config;
  }

  /** The controller-mode xDS client exists (it may not have answered yet). */
  void xdsStarted(XdsClient client) {
    this.xds = client;
  }

  /** The runtime is built: {@code /config} and {@code /endpoints} can answer from now on. */
  void runtimeStarted(MeshRuntime r) {
    this.runtime = r;
  }

  /** The weaving rules are built and the classes loaded before the gate are woven. */
  void started() {
    this.started = true;
  }

  /** The agent gave up starting; the application runs unmeshed. */
  void failed(Throwable t) {
    this.failure = String.valueOf(t);
  }

  /** The runtime once built, else null. */
  MeshRuntime runtime() {
    return runtime;
  }

  /** What keeps the agent from being ready, one phrase each; empty when it is ready. */
  List<String> missing() {
    List<String> missing = new ArrayList<>();
    if (failure != null) {
      missing.add("the agent failed to start (" + failure + "); the application runs unmeshed");
      return missing;
    }
    if (!started) {
      missing.add("the agent is still starting");
    }
    if (!config.controllers().isEmpty()) {
      XdsClient client = xds;
      if (client == null || !client.awaitListeners(Duration.ZERO)) {
        missing.add("no config from the controller at " + String.join(",", config.controllers()) + " yet");
      }
    }
    if (config.bootstrapToken() != null && !config.controllers().isEmpty()) {
      MeshRuntime r = runtime;
      if (r == null || r.meshTls() == null) {
        missing.add("no mesh identity (a bootstrap token is set; see the log for why the identity did not start)");
      } else if (r.meshTls().identity().current() == null) {
        String error = r.meshTls().identity().lastError();
        missing.add("no certificate from the CA yet" + (error == null ? "" : " (last error: " + error + ")"));
      }
    }
    return missing;
  }
}
