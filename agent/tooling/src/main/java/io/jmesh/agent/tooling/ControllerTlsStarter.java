package io.jmesh.agent.tooling;

import io.jmesh.bridge.AgentLog;
import io.jmesh.runtime.identity.ControllerTls;
import java.io.IOException;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * Decides how this agent reaches the controller: TLS verified with the trust anchors of {@code
 * jmesh.trust.anchors.file} (the only source of trust for that channel; nothing the controller
 * sends can change it), or plaintext when {@code jmesh.controller.insecure.plaintext} asks for it
 * and no anchors are given. Without either it refuses: a channel nobody verifies would let anyone
 * on the path rewrite routes and hand out identities.
 *
 * <p>Called on the agent's start thread. Never throws; a refusal is logged once, naming the
 * settings that fix it.
 */
final class ControllerTlsStarter {
  private ControllerTlsStarter() {}

  /**
   * How to reach the controller, with {@code clientKeys} presented on TLS connections (null for
   * none); or null when the agent must not connect at all (logged).
   */
  static ControllerTls controllerTls(AgentConfig config, X509ExtendedKeyManager clientKeys) {
    if (config.trustAnchorsFile() == null) {
      if (config.controllerInsecurePlaintext()) {
        return ControllerTls.insecurePlaintext();
      }
      AgentLog.warn(
          "controller mode refused: " + AgentConfig.CONTROLLER.env() + " is set but no trust"
              + " anchors verify the controller (expected: " + AgentConfig.TRUST_ANCHORS_FILE.env()
              + " or -D" + AgentConfig.TRUST_ANCHORS_FILE.property() + " naming the controller's"
              + " trust-anchors.pem, or " + AgentConfig.CONTROLLER_INSECURE_PLAINTEXT.env()
              + "=true for a local demo without TLS); not connecting, every call goes on unmeshed");
      return null;
    }
    try {
      return ControllerTls.fromAnchorsFile(
          config.trustAnchorsFile(), config.controllerTlsName(), clientKeys);
    } catch (IOException | RuntimeException e) {
      AgentLog.warn(
          "controller mode refused: setting " + AgentConfig.TRUST_ANCHORS_FILE.property() + ": "
              + e.getMessage() + "; not connecting, every call goes on unmeshed");
      return null;
    }
  }

  /** Logs, once, how the controller is reached when that is plaintext. */
  static void warnIfPlaintext(AgentConfig config, ControllerTls tls) {
    if (tls.isPlaintext()) {
      AgentLog.warn(
          "INSECURE: plaintext to the controller at " + String.join(",", config.controllers())
              + " (" + AgentConfig.CONTROLLER_INSECURE_PLAINTEXT.env() + "=true): anyone on the path"
              + " can rewrite this agent's routes and endpoints, read its bootstrap token and"
              + " hand it another mesh's trust anchors. For local demos only.");
    }
  }
}
