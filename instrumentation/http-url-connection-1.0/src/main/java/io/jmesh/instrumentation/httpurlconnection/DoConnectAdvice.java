package io.jmesh.instrumentation.httpurlconnection;

import io.jmesh.bridge.MeshBridge;
import io.jmesh.bridge.UrlConnectionHook;
import net.bytebuddy.asm.Advice;

/** Opens the socket of a meshed HTTPS connection to the chosen endpoint. */
final class DoConnectAdvice {
  private DoConnectAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  static void enter(
      @Advice.This Object client,
      @Advice.Argument(value = 0, readOnly = false) String host,
      @Advice.Argument(value = 1, readOnly = false) int port) {
    UrlConnectionHook hook = MeshBridge.urlConnection();
    if (hook == null) {
      return;
    }
    try {
      Object[] target = hook.socketTarget(client, host, port);
      if (target != null) {
        host = (String) target[0];
        port = (Integer) target[1];
      }
    } catch (Throwable t) {
      MeshBridge.adviceError("http-url-connection-1.0", t);
    }
  }

  @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
  static void exit(@Advice.This Object client, @Advice.Thrown Throwable thrown) {
    UrlConnectionHook hook = MeshBridge.urlConnection();
    if (hook == null) {
      return;
    }
    try {
      hook.socketConnected(client, thrown);
    } catch (Throwable t) {
      MeshBridge.adviceError("http-url-connection-1.0", t);
    }
  }
}
