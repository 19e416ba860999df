package io.jmesh.agent.tooling;

import io.jmesh.bridge.AgentLog;
import io.jmesh.runtime.MeshRuntime;
import io.jmesh.runtime.config.MeshConfigParser;
import io.jmesh.runtime.identity.ControllerTls;
import io.jmesh.runtime.identity.MeshTls;
import io.jmesh.runtime.telemetry.MeshMetrics;
import io.jmesh.runtime.trace.Tracing;
import io.jmesh.runtime.xds.XdsClient;
import java.io.IOException;
import java.net.InetAddress;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Builds the workload's {@link MeshRuntime} in the mode its settings choose: none (neither {@code
 * JMESH_CONTROLLER} nor {@code JMESH_CONFIG}: nothing is meshed), file mode (the YAML file, re-read
 * when it changes), or controller mode (xDS from the controller, with this workload's identity and
 * inbound listener). In controller mode it holds its caller, boundedly, until the controller's
 * first Listeners and the first certificate, so that the application's first calls are meshed.
 *
 * <p>Called once, on the agent's start thread. Throws only when the runtime itself cannot be
 * built; the identity and the inbound listener log why they did not start instead.
 */
final class RuntimeStarter {
  private RuntimeStarter() {}

  /** Bound on the wait for the prelude, which does local work only (no network wait). */
  private static final long PRELUDE_WAIT_MILLIS = 30_000;

  /**
   * @param nodeMetadata what the controller shows of this agent beyond its name
   * @param readiness learns of the xDS client as soon as it exists
   * @param prelude controller mode's early part, begun at the agent's start; null to run it here
   */
  static MeshRuntime start(
      AgentConfig config,
      MeshMetrics metrics,
      Tracing tracing,
      Map<String, String> nodeMetadata,
      Readiness readiness,
      ControllerPrelude prelude) {
    MeshRuntime.Options options = new MeshRuntime.Options(config.namespace(), config.clusterDomain());
    if (config.controllers().isEmpty() && config.configFile() == null) {
      AgentLog.warn(
          "no mesh config: set JMESH_CONTROLLER (controller mode) or JMESH_CONFIG (file mode);"
              + " every call goes on unmeshed");
      return MeshRuntime.builder().options(options).metrics(metrics).build();
    }
    if (!config.controllers().isEmpty()) {
      ControllerPrelude ready =
          prelude != null ? prelude.await(PRELUDE_WAIT_MILLIS) : ControllerPrelude.runHere(config).await(0);
      return startControllerMode(config, options, metrics, tracing, nodeMetadata, readiness, ready);
    }
    ScheduledExecutorService scheduler = configScheduler();
    if (config.bootstrapToken() != null) {
      AgentLog.warn(
          "mesh TLS is off: a bootstrap token is set but mesh identity needs controller mode"
              + " (JMESH_CONTROLLER); the token is ignored");
    }
    return MeshRuntime.builder()
        .options(options)
        .metrics(metrics)
        .configFile(config.configFile(), scheduler, config.configPollMillis())
        .build();
  }

  /**
   * In file mode, parses the config file once and drops the result, so that SnakeYAML and the
   * config classes load while the metrics registry builds on another thread; the runtime reads
   * the file again as it starts. Never throws: a bad file is reported by that read.
   */
  static void warmUpConfig(AgentConfig config) {
    if (!config.controllers().isEmpty() || config.configFile() == null) {
      return;
    }
    try {
      MeshConfigParser.parse(config.configFile(), config.namespace());
    } catch (Exception | LinkageError e) {
      AgentLog.debug("config warm-up: " + e);
    }
  }

  private static MeshRuntime startControllerMode(
      AgentConfig config,
      MeshRuntime.Options options,
      MeshMetrics metrics,
      Tracing tracing,
      Map<String, String> nodeMetadata,
      Readiness readiness,
      ControllerPrelude prelude) {
    if (config.configFile() != null) {
      AgentLog.warn(
          "both JMESH_CONTROLLER and JMESH_CONFIG are set: using the controller, ignoring "
              + config.configFile());
    }
    ScheduledExecutorService scheduler = prelude.scheduler();
    if (prelude.caTls() == null) {
      scheduler.shutdownNow();
      return MeshRuntime.builder().options(options).metrics(metrics).build();
    }
    long identityStart = prelude.startNanos();
    MeshTls meshTls = prelude.meshTls();
    ControllerTls xdsTls = prelude.xdsTls();
    XdsClient client =
        new XdsClient(
            new XdsClient.Options(
                config.controllers(),
                new XdsClient.NodeIdentity(nodeId(config), serviceName(config), config.namespace(), nodeMetadata),
                Duration.ofMillis(250),
                Duration.ofMillis(config.xdsReconnectMaxMillis()),
                xdsTls,
                config.xdsPrefetchServices()),
            scheduler,
            () -> ThreadLocalRandom.current().nextLong(),
            prelude.prepared());
    readiness.xdsStarted(client);
    if (meshTls != null && !xdsTls.isPlaintext()) {
      // The first stream may open before the first certificate and so present none: replace it
      // once the certificate is here, rather than hold the first Listeners until then.
      AtomicBoolean first = new AtomicBoolean(true);
      meshTls.identity().onCertificate(c -> {
        if (first.getAndSet(false)) {
          client.reconnect("the workload certificate " + c.id() + " arrived; the stream presents it (mTLS)");
        }
      });
    }
    MeshRuntime.Builder builder =
        MeshRuntime.builder()
            .options(options)
            .metrics(metrics)
            .discovery(client, Duration.ofMillis(config.xdsFirstUseTimeoutMillis()));
    if (meshTls != null) {
      builder.identity(meshTls);
    }
    MeshRuntime runtime;
    try {
      runtime = builder.build();
    } catch (RuntimeException | Error e) {
      if (meshTls != null) {
        meshTls.identity().close(); // no renewal for a runtime that does not exist
      }
      throw e;
    }
    // Until the Listeners arrive the agent cannot tell a mesh destination from any other host,
    // so the application's first calls would bypass the mesh: hold its start, boundedly (as
    // Istio's holdApplicationUntilProxyStarts holds containers until the sidecar is ready).
    long wait = config.xdsInitialWaitMillis();
    if (wait > 0 && !client.awaitListeners(Duration.ofMillis(wait))) {
      AgentLog.warn(
          "no answer from the controller at " + String.join(",", config.controllers())
              + " within " + wait + " ms (" + AgentConfig.XDS_INITIAL_WAIT_MS.property()
              + "); the application starts now and its calls go unmeshed until it answers");
    }
    InboundStarter.start(config, serviceName(config) + "." + config.namespace(), meshTls, runtime, tracing);
    if (meshTls != null) {
      IdentityStarter.awaitFirst(config, meshTls.identity(), identityStart);
    }
    return runtime;
  }

  /** The one thread that reads the config (file or xDS), renews the identity and runs their timers. */
  static ScheduledExecutorService configScheduler() {
    return Executors.newSingleThreadScheduledExecutor(
        r -> {
          Thread t = new Thread(r, "jmesh-config");
          t.setDaemon(true); // No agent thread keeps a JVM alive.
          return t;
        });
  }

  /** This workload's service as metrics and the controller name it: {@code unknown} when unset. */
  static String serviceName(AgentConfig config) {
    return config.service().isEmpty() ? "unknown" : config.service();
  }

  /**
   * Unique per JVM and readable in the controller's dump: {@code service.namespace~host~pid}, as
   * Istio names a sidecar {@code sidecar~ip~pod.namespace~domain}.
   */
  private static String nodeId(AgentConfig config) {
    // A pod's HOSTNAME is its name; elsewhere ask the resolver, which may be slow, once.
    String host = System.getenv("HOSTNAME");
    if (host == null || host.isBlank()) {
      try {
        host = InetAddress.getLocalHost().getHostName();
      } catch (IOException | RuntimeException e) {
        host = "localhost";
      }
    }
    return serviceName(config) + "." + config.namespace() + "~" + host + "~" + ProcessHandle.current().pid();
  }
}
