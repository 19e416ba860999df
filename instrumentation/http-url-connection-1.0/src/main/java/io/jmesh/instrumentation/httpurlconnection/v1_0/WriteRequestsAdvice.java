package io.jmesh.instrumentation.httpurlconnection.v1_0;

import io.jmesh.bridge.BridgeCall;
import io.jmesh.bridge.MeshBridge;
import io.jmesh.bridge.UrlConnectionHook;
import java.net.HttpURLConnection;
import net.bytebuddy.asm.Advice;

/**
 * Adds the call's deadline and trace headers, and the route's header edits and Host, just before
 * the request is written. By then the connection is
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
      @Advice.FieldValue(value = "connecting", readOnly = false) boolean connecting,
      @Advice.FieldValue("requests") Object requests,
      @Advice.FieldValue("setRequests") boolean setRequests) {
    UrlConnectionHook hook = MeshBridge.urlConnection();
    if (hook == null) {
      return;
    }
    try {
      String deadline = hook.deadlineHeaderValue(connection);
      String[] trace = hook.traceHeaders(connection);
      // The route's edits go into the request's header table once, before the JDK completes it
      // (setRequests false): a retry of the same request keeps the table, so an added value
      // is not added twice. The table's type is JDK-internal; this code runs inside the JDK's
      // own class (advice is inlined), so reflection on it is same-module access.
      String[][] edits = setRequests ? null : hook.requestHeaderEdits(connection);
      String host = setRequests ? null : hook.rewrittenHost(connection);
      if (edits != null || host != null) {
        java.lang.reflect.Method remove = requests.getClass().getMethod("remove", String.class);
        java.lang.reflect.Method set = requests.getClass().getMethod("set", String.class, String.class);
        java.lang.reflect.Method add = requests.getClass().getMethod("add", String.class, String.class);
        if (edits != null) {
          for (String name : edits[0]) {
            remove.invoke(requests, name);
          }
          for (int i = 0; i + 1 < edits[1].length; i += 2) {
            remove.invoke(requests, edits[1][i]); // the table's set replaces only the first value
            add.invoke(requests, edits[1][i], edits[1][i + 1]);
          }
          for (int i = 0; i + 1 < edits[2].length; i += 2) {
            add.invoke(requests, edits[2][i], edits[2][i + 1]);
          }
        }
        if (host != null) {
          // The JDK keeps a Host already in the table (it writes its own only when none is there).
          set.invoke(requests, "Host", host);
        }
      }
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
