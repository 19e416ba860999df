package io.jmesh.agent.tooling;

import io.jmesh.bridge.AgentLog;
import io.jmesh.runtime.MeshRuntime;
import io.jmesh.runtime.identity.MeshTls;
import io.jmesh.runtime.inbound.InboundStats;
import io.jmesh.runtime.inbound.InboundTerminator;
import io.jmesh.runtime.trace.Tracing;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Locale;

/**
 * Opens the workload's mesh inbound listener when {@code jmesh.inbound.port} is set: mTLS with
 * this workload's identity, each request checked against the authorization policy of this
 * workload's service as the controller sends it (all authenticated callers until it says
 * otherwise, Linkerd's default), forwarding to {@code jmesh.app.port} on loopback.
 *
 * <p>Called once, on the agent's start thread. Never throws: without a listener the application
 * runs, and its peers' calls fail (closed).
 */
final class InboundStarter {
  /** The listener, while there is one, for the JVM's life; its threads are daemons. */
  private static volatile InboundTerminator inbound;

  private InboundStarter() {}

  /** The listener's limits: the settings the agent has for them, the terminator's defaults else. */
  static InboundTerminator.Limits limits(AgentConfig config) {
    return InboundTerminator.Limits.defaults()
        .withMaxConcurrentStreams(config.inboundMaxConcurrentStreams())
        .withMaxPendingRequests(config.inboundMaxPendingRequests())
        .withRequestHeaderTimeout(Duration.ofMillis(config.inboundRequestHeaderTimeoutMillis()))
        .withIdleTimeout(Duration.ofMillis(config.inboundIdleTimeoutMillis()));
  }

  /**
   * @param service this workload's qualified service ({@code service.namespace}), whose policy
   *     applies and under whose name the listener records
   */
  static void start(AgentConfig config, String service, MeshTls meshTls, MeshRuntime runtime, Tracing tracing) {
    if (config.inboundPort() == 0) {
      return;
    }
    if (meshTls == null) {
      AgentLog.warn(
          "no mesh inbound listener on port " + config.inboundPort() + ": this workload has no mesh"
              + " identity (set " + AgentConfig.BOOTSTRAP_TOKEN.env() + ")");
      return;
    }
    if (config.appPort() == 0) {
      AgentLog.warn(
          "no mesh inbound listener on port " + config.inboundPort() + ": "
              + AgentConfig.APP_PORT.env() + " is not set (expected: the application's own port)");
      return;
    }
    InboundTerminator.Mode mode =
        config.inboundPermissive() ? InboundTerminator.Mode.PERMISSIVE : InboundTerminator.Mode.STRICT;
    try {
      inbound =
          InboundTerminator.start(
              InboundTerminator.Options.of(
                      new InetSocketAddress(config.inboundAddress(), config.inboundPort()),
                      new InetSocketAddress(InetAddress.getLoopbackAddress(), config.appPort()))
                  .withMode(mode)
                  .withLimits(limits(config))
                  .withProbePaths(config.inboundProbePaths()),
              meshTls,
              () -> runtime.inboundPolicy(service), // read per request: a new policy applies at once
              new InboundStats(runtime.metrics().server(service)),
              tracing);
      AgentLog.info(
          "mesh inbound listener on " + config.inboundAddress() + ":" + inbound.port() + " ("
              + mode.name().toLowerCase(Locale.ROOT) + " mTLS) -> application on 127.0.0.1:"
              + config.appPort());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      AgentLog.warn(
          "no mesh inbound listener: cannot listen on " + config.inboundAddress() + ":"
              + config.inboundPort() + ": " + e);
    }
  }
}
