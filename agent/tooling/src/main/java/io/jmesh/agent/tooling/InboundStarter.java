package io.jmesh.agent.tooling;

import io.jmesh.bridge.AgentLog;
import io.jmesh.runtime.MeshRuntime;
import io.jmesh.runtime.identity.MeshTls;
import io.jmesh.runtime.inbound.InboundStats;
import io.jmesh.runtime.inbound.InboundTerminator;
import io.jmesh.runtime.trace.Tracing;
import java.net.InetAddress;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.List;
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
    startCapture(config, service, meshTls, runtime, tracing);
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
    InboundTerminator.Mode mode = mode(config);
    InetSocketAddress listen = new InetSocketAddress(config.inboundAddress(), config.inboundPort());
    // The agent's own listener: inbound capture must leave it where it is.
    try (AgentBinds.Claim claim = AgentBinds.claim(List.of(listen))) {
      inbound =
          InboundTerminator.start(
              InboundTerminator.Options.of(
                      listen,
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

  private static InboundTerminator.Mode mode(AgentConfig config) {
    return config.inboundPermissive() ? InboundTerminator.Mode.PERMISSIVE : InboundTerminator.Mode.STRICT;
  }

  /**
   * Decides inbound capture ({@link BindCapture}): on when it is woven and this workload has a
   * mesh identity; one log line either way.
   */
  private static void startCapture(
      AgentConfig config, String service, MeshTls meshTls, MeshRuntime runtime, Tracing tracing) {
    BindCapture capture = BindCapture.current();
    if (capture == null) {
      return;
    }
    if (meshTls == null) {
      AgentLog.info(
          "inbound capture off: this workload has no mesh identity (set " + AgentConfig.BOOTSTRAP_TOKEN.env()
              + "); the application's ports are left as it binds them");
      capture.off();
      return;
    }
    CaptureRules.Settings settings = config.capture();
    List<InetAddress> workload;
    try {
      workload = CaptureRules.workloadAddresses(settings);
    } catch (SocketException | RuntimeException e) {
      AgentLog.warn("inbound capture off: cannot list this host's addresses (set "
          + AgentConfig.INBOUND_WORKLOAD_ADDRESSES.env() + "): " + e);
      capture.off();
      return;
    }
    if (workload.isEmpty()) {
      AgentLog.warn("inbound capture off: this workload has no address other than loopback (set "
          + AgentConfig.INBOUND_WORKLOAD_ADDRESSES.env() + ")");
      capture.off();
      return;
    }
    InboundTerminator.Mode mode = mode(config);
    capture.start(
        new CaptureRules(settings, workload),
        (addresses, port) -> listenCaptured(config, service, meshTls, runtime, tracing, mode, addresses, port));
    AgentLog.info(
        "inbound capture on: ports " + settings.ports()
            + (settings.skip().ranges().isEmpty() ? "" : " except " + settings.skip())
            + " bound on the wildcard or " + workload + " go to 127.0.0.1, the mesh listener ("
            + mode.name().toLowerCase(Locale.ROOT) + " mTLS) takes them on " + workload);
  }

  /** The mesh listener of one captured port: {@link BindCapture.Listeners#listen}. */
  private static AutoCloseable listenCaptured(
      AgentConfig config,
      String service,
      MeshTls meshTls,
      MeshRuntime runtime,
      Tracing tracing,
      InboundTerminator.Mode mode,
      List<InetAddress> addresses,
      int port) {
    List<InetSocketAddress> listen = new ArrayList<>();
    for (InetAddress a : addresses) {
      listen.add(new InetSocketAddress(a, port));
    }
    InetSocketAddress app = new InetSocketAddress(CaptureRules.APPLICATION_ADDRESS, port);
    InboundTerminator terminator = null;
    List<String> bound = new ArrayList<>();
    // The listener's own binds go through the same hook: claimed, so that they are left alone.
    try (AgentBinds.Claim claim = AgentBinds.claim(listen)) {
      for (InetSocketAddress address : listen) {
        try {
          if (terminator == null) {
            terminator =
                InboundTerminator.start(
                    InboundTerminator.Options.of(address, app).withMode(mode).withLimits(limits(config)),
                    meshTls,
                    () -> runtime.inboundPolicy(service),
                    new InboundStats(runtime.metrics().server(service)),
                    tracing);
          } else {
            terminator.listenAlso(address);
          }
          bound.add(address.getAddress().getHostAddress());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        } catch (RuntimeException e) {
          AgentLog.warn(
              "inbound capture: the mesh listener cannot listen on " + address + ": " + e
                  + "; the application's port " + port + " stays reachable on 127.0.0.1 only there");
        }
      }
    }
    if (terminator != null) {
      AgentLog.info(
          "inbound capture: the application's port " + port + " is on 127.0.0.1; mesh inbound listener on "
              + String.join(",", bound) + ":" + port + " (" + mode.name().toLowerCase(Locale.ROOT) + " mTLS)");
    }
    return terminator;
  }
}
