package io.jmesh.instrumentation.httpurlconnection.v1_0;

import io.jmesh.bridge.MeshBridge;
import io.jmesh.bridge.UrlConnectionHook;
import net.bytebuddy.asm.Advice;

/**
 * Opens the socket of a meshed HTTPS connection to the chosen endpoint; layers mesh TLS over the
 * socket of an HTTP attempt whose destination requires it.
 */
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
  static void exit(
      @Advice.This Object client,
      @Advice.Return(readOnly = false) java.net.Socket socket,
      @Advice.Thrown(readOnly = false) Throwable thrown) {
    UrlConnectionHook hook = MeshBridge.urlConnection();
    if (hook == null) {
      return;
    }
    if (thrown == null) {
      try {
        // An attempt over mesh TLS: the client gets the TLS socket, or doConnect throws.
        socket = hook.connected(client, socket);
      } catch (java.io.IOException meshTlsFailed) {
        thrown = meshTlsFailed;
      } catch (Throwable t) {
        MeshBridge.adviceError("http-url-connection-1.0", t);
      }
    }
    try {
      hook.socketConnected(client, thrown);
    } catch (Throwable t) {
      MeshBridge.adviceError("http-url-connection-1.0", t);
    }
  }
}
