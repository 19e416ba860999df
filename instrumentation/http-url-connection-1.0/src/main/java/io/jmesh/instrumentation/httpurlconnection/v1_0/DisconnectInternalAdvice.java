package io.jmesh.instrumentation.httpurlconnection.v1_0;

import io.jmesh.bridge.MeshBridge;
import io.jmesh.bridge.UrlConnectionHook;
import net.bytebuddy.asm.Advice;

/**
 * Reports a meshed exchange that {@code getInputStream0()} leaves to start another one on the same
 * connection (a redirect, an authentication challenge): {@code disconnectInternal()} is the last
 * point where its status is still in {@code responseCode}.
 */
final class DisconnectInternalAdvice {
  private DisconnectInternalAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  static void enter(@Advice.This Object connection, @Advice.FieldValue("responseCode") int status) {
    if (status <= 0) {
      return; // No response: the exit of getInputStream0 (or the next connect) reports the failure.
    }
    UrlConnectionHook hook = MeshBridge.urlConnection();
    if (hook == null) {
      return;
    }
    try {
      hook.exchangeEnded(connection, status, null);
    } catch (Throwable t) {
      MeshBridge.adviceError(HttpUrlConnectionInstrumentationModule.NAME, t);
    }
  }
}
