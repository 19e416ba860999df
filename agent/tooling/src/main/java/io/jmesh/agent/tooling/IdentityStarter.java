package io.jmesh.agent.tooling;

import io.jmesh.bridge.AgentLog;
import io.jmesh.runtime.identity.ControllerTls;
import io.jmesh.runtime.identity.GrpcCertificateClient;
import io.jmesh.runtime.identity.IdentityManager;
import io.jmesh.runtime.identity.MeshTls;
import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.identity.TlsRefusals;
import io.jmesh.runtime.identity.TokenFile;
import io.jmesh.runtime.retry.Backoff;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Starts this workload's mesh identity in controller mode: a certificate from the controller's CA
 * for the SPIFFE id the settings name ({@code jmesh.trust.domain}, {@code jmesh.namespace}, {@code
 * jmesh.service.account}), renewed in the background; and holds the application's start, boundedly,
 * until the first certificate.
 *
 * <p>Called on the agent's start thread. Never throws: without an identity the application still
 * runs, and only mesh TLS fails (closed).
 */
final class IdentityStarter {
  private IdentityStarter() {}

  /**
   * Asks the CA for a first certificate, in the background, and returns this workload's mesh TLS,
   * or null when there is none: no bootstrap token, or settings the runtime refused.
   *
   * @param scheduler runs the CA's callbacks and the renewals; one daemon thread keeps no JVM alive
   * @param tls how the CA (the controller) is verified
   */
  static MeshTls start(AgentConfig config, ScheduledExecutorService scheduler, ControllerTls tls) {
    String token = config.bootstrapToken();
    if (token == null) {
      AgentLog.info(
          "mesh TLS is off: no bootstrap token is set (" + AgentConfig.BOOTSTRAP_TOKEN.env() + " or "
              + AgentConfig.BOOTSTRAP_TOKEN_FILE.env() + "), so this workload has no mesh identity");
      return null;
    }
    SpiffeId id = null;
    try {
      id = SpiffeId.of(config.trustDomain(), config.namespace(), config.serviceAccount());
      String ca = config.caAddress();
      int colon = ca.lastIndexOf(':');
      String host = ca.substring(0, colon);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1); // an IPv6 literal
      }
      int port = Integer.parseInt(ca.substring(colon + 1));
      // The xDS scheduler runs the CA's callbacks too: the manager hops onto it anyway, and one
      // daemon thread keeps no JVM alive.
      // A token from a file is read again at each CA request: the kubelet rotates a projected
      // service-account token before it expires, and renewals come long after the start.
      Path file = config.bootstrapTokenFile();
      Supplier<String> tokens = file == null ? () -> token : new TokenFile(file, token);
      GrpcCertificateClient client = new GrpcCertificateClient(host, port, tokens, scheduler, tls);
      IdentityManager identity =
          new IdentityManager(
              id,
              client,
              scheduler,
              Clock.systemUTC(),
              // A CA that is down is asked again soon, then less and less often, never in
              // lockstep with the other workloads that saw it go.
              Backoff.exponential(
                  Duration.ofSeconds(1), Duration.ofSeconds(60), 0.5, () -> ThreadLocalRandom.current().nextLong()),
              Duration.ofSeconds(config.identityLifetimeSeconds()));
      MeshTls meshTls = new MeshTls(identity, new TlsRefusals(), Clock.systemUTC());
      identity.start();
      AgentLog.info("identity " + id + ": asking the CA at " + client.target() + " for a certificate");
      return meshTls;
    } catch (RuntimeException e) {
      AgentLog.warn(
          "identity " + (id == null ? "" : id + " ") + "could not start: " + e.getMessage()
              + "; mesh TLS refuses connections, the application runs",
          e);
      return null;
    }
  }

  /**
   * Holds the application's start until the first certificate, at most {@code
   * jmesh.identity.wait.ms} from {@code startNanos}: a workload that serves before it has an
   * identity refuses every mesh connection. Bounded, because the application must start even
   * when the CA cannot be reached or refuses the token.
   */
  static void awaitFirst(AgentConfig config, IdentityManager identity, long startNanos) {
    long wait = config.identityWaitMillis();
    if (wait <= 0) {
      return;
    }
    long left = TimeUnit.MILLISECONDS.toNanos(wait) - (System.nanoTime() - startNanos);
    try {
      if (identity.awaitFirst(Duration.ofNanos(Math.max(0, left)))) {
        return;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    String error = identity.lastError();
    AgentLog.warn(
        "identity " + identity.id() + ": no certificate within " + wait + " ms ("
            + AgentConfig.IDENTITY_WAIT_MS.property() + ")"
            + (error == null ? ", no answer from the CA yet" : ", last error: " + error)
            + "; the application starts now, and mesh TLS refuses connections until a certificate arrives");
  }
}
