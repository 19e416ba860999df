package io.jmesh.instrumentation.httpurlconnection.v1_0;

import io.jmesh.bridge.BridgeCall;
import io.jmesh.bridge.MeshBridge;
import io.jmesh.bridge.UrlConnectionHook;
import java.net.HttpURLConnection;
import net.bytebuddy.asm.Advice;

/**
 * Adds the call's deadline and trace headers just before the request is written. By then the connection is
 * connected, and {@code setRequestProperty} refuses changes to a connected connection; the
 * connection's header table is a JDK-internal type that agent code cannot name. So the advice
 * lowers the two flags for the one call of the public setter and restores them at once: the
 * connection's lock is held (writeRequests requires it), so no other thread sees the change.
 */
final class WriteRequestsAdvice {
  private WriteRequestsAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  static void enter(
      @Advice.This HttpURLConnection connection,
      @Advice.FieldValue(value = "connected", readOnly = false) boolean connected,
      @Advice.FieldValue(value = "connecting", readOnly = false) boolean connecting) {
    UrlConnectionHook hook = MeshBridge.urlConnection();
    if (hook == null) {
      return;
    }
    try {
      String deadline = hook.deadlineHeaderValue(connection);
      String[] trace = hook.traceHeaders(connection);
      if (deadline != null || trace != null) {
        boolean wasConnected = connected;
        boolean wasConnecting = connecting;
        connected = false;
        connecting = false;
        try {
          if (deadline != null) {
            connection.setRequestProperty(BridgeCall.DEADLINE_HEADER, deadline);
          }
          if (trace != null) {
            for (int i = 0; i + 1 < trace.length; i += 2) {
              connection.setRequestProperty(trace[i], trace[i + 1]);
            }
          }
        } finally {
          connected = wasConnected;
          connecting = wasConnecting;
        }
      }
    } catch (Throwable t) {
      MeshBridge.adviceError(HttpUrlConnectionInstrumentationModule.NAME, t);
    }
  }
}
