package io.jmesh.agent.tooling;

import io.jmesh.bridge.AgentLog;
import io.jmesh.runtime.identity.ControllerTls;
import io.jmesh.runtime.identity.MeshTls;
import io.jmesh.runtime.xds.XdsClient;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The part of controller mode that needs neither the admin endpoint nor ByteBuddy, started at the
 * very start of the agent on its own daemon thread {@code jmesh-xds-start}, in parallel with the
 * weaving set-up: how the controller is reached ({@link ControllerTlsStarter}), the request for
 * the first certificate ({@link IdentityStarter}: key, CSR, CA call), and a channel to the first
 * controller address that is connecting while gRPC, Netty and the Envoy classes that decode
 * Listeners load ({@link XdsClient.Prepared}). {@link RuntimeStarter} takes the result with {@link
 * #await} and opens the xDS stream on that channel.
 *
 * <p>Measured on 2 busy cores (issue 20): this work took about 2 s after about 1 s of ByteBuddy
 * set-up on the same thread; now the two overlap.
 */
final class ControllerPrelude {
  private final AgentConfig config;
  private final CountDownLatch done = new CountDownLatch(1);
  private final long startNanos = System.nanoTime();

  // Written by the prelude's thread before done counts down; read after await.
  private ScheduledExecutorService scheduler;
  private ControllerTls caTls; // null: controller mode refused (logged)
  private MeshTls meshTls; // null: no identity
  private ControllerTls xdsTls;
  private XdsClient.Prepared prepared; // null: the client makes its channel itself
  private Throwable failure;

  private ControllerPrelude(AgentConfig config) {
    this.config = config;
  }

  /** Starts the prelude on its own thread; null outside controller mode. */
  static ControllerPrelude begin(AgentConfig config) {
    if (config.controllers().isEmpty()) {
      return null;
    }
    ControllerPrelude prelude = new ControllerPrelude(config);
    Thread thread = new Thread(prelude::run, "jmesh-xds-start");
    thread.setDaemon(true); // No agent thread keeps a JVM alive.
    thread.start();
    return prelude;
  }

  /** Runs the prelude on the caller's thread (when nothing began it earlier). */
  static ControllerPrelude runHere(AgentConfig config) {
    ControllerPrelude prelude = new ControllerPrelude(config);
    prelude.run();
    return prelude;
  }

  private void run() {
    try {
      scheduler = RuntimeStarter.configScheduler();
      // The CA's channel needs no client certificate: the token proves the workload.
      caTls = ControllerTlsStarter.controllerTls(config, null);
      if (caTls == null) {
        return;
      }
      ControllerTlsStarter.warnIfPlaintext(config, caTls);
      meshTls = IdentityStarter.start(config, scheduler, caTls);
      // The xDS channel presents the workload's certificate once it has one (mTLS).
      xdsTls =
          meshTls == null || caTls.isPlaintext()
              ? caTls
              : ControllerTlsStarter.controllerTls(config, meshTls.keyManager());
      if (xdsTls == null) {
        xdsTls = caTls; // the file was readable a moment ago; present no certificate then
      }
      long identityDone = System.nanoTime();
      try {
        prepared = XdsClient.Prepared.connect(config.controllers().get(0), xdsTls, scheduler);
      } catch (RuntimeException e) {
        // The client makes its own channel then, and reports what is wrong with the address.
        AgentLog.debug("xDS: no early channel: " + e);
      }
      AgentLog.debug(
          "xDS channel prepared in " + (System.nanoTime() - startNanos) / 1_000_000 + " ms (trust anchors and"
              + " identity " + (identityDone - startNanos) / 1_000_000 + " ms"
              + (prepared == null ? "" : ", " + prepared.timings()) + ")");
    } catch (Throwable t) {
      failure = t;
    } finally {
      done.countDown();
    }
  }

  /**
   * Waits for the prelude, at most {@code timeoutMillis}.
   *
   * @throws IllegalStateException when it failed or did not finish in time: the agent then runs
   *     unmeshed, as for any failed start
   */
  ControllerPrelude await(long timeoutMillis) {
    try {
      if (!done.await(timeoutMillis, TimeUnit.MILLISECONDS)) {
        throw new IllegalStateException(
            "controller mode: the xDS start (thread jmesh-xds-start) did not finish within "
                + timeoutMillis + " ms (expected: well under a second)");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("controller mode: interrupted while waiting for the xDS start", e);
    }
    if (failure != null) {
      if (prepared != null) {
        prepared.close();
      }
      throw new IllegalStateException("controller mode: the xDS start failed: " + failure, failure);
    }
    return this;
  }

  /** When the prelude began: the identity's wait counts from here. */
  long startNanos() {
    return startNanos;
  }

  ScheduledExecutorService scheduler() {
    return scheduler;
  }

  ControllerTls caTls() {
    return caTls;
  }

  MeshTls meshTls() {
    return meshTls;
  }

  ControllerTls xdsTls() {
    return xdsTls;
  }

  XdsClient.Prepared prepared() {
    return prepared;
  }
}
