package io.jmesh.instrumentation.httpurlconnection.v1_0;

import io.jmesh.bridge.MeshBridge;
import io.jmesh.bridge.UrlConnectionHook;
import java.lang.reflect.Method;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.implementation.bytecode.assign.Assigner;

/**
 * Reports a meshed exchange when {@code getInputStream0()} returns or throws: by then the response
 * headers are read and {@code responseCode} is set, or the exchange failed. The JDK calls the
 * method again from inside itself (through {@code getResponseCode()} and {@code getHeaderField});
 * those calls return early with no status and no error, and the hook ignores them.
 *
 * <p>An exchange that got a response also gets the route's response header edits here, before
 * the application can read a header: the connection's response table (a JDK-internal {@code
 * sun.net.www.MessageHeader}, reached by reflection, which is same-module access since the advice
 * is inlined into the JDK's own class) is copied, the copy edited, and only a fully edited copy
 * replaces it; the cached map of {@code getHeaderFields()} is dropped so that it is built from the
 * copy. On any error the table stays as received.
 */
final class GetInputStreamAdvice {
  private GetInputStreamAdvice() {}

  @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
  static void exit(
      @Advice.This Object connection,
      @Advice.FieldValue("responseCode") int status,
      @Advice.Thrown(readOnly = false) Throwable thrown,
      @Advice.FieldValue(value = "responses", readOnly = false, typing = Assigner.Typing.DYNAMIC) Object responses,
      @Advice.FieldValue(value = "filteredHeaders", readOnly = false, typing = Assigner.Typing.DYNAMIC)
          Object filteredHeaders) {
    UrlConnectionHook hook = MeshBridge.urlConnection();
    if (hook == null) {
      return;
    }
    String[][] edits = null;
    try {
      // Asked before the exchange is reported: reporting it forgets the exchange and its route.
      edits = status > 0 ? hook.responseHeaderEdits(connection) : null;
    } catch (Throwable t) {
      MeshBridge.responseHeadersNotEdited(HttpUrlConnectionInstrumentationModule.NAME, t);
    }
    try {
      thrown = hook.exchangeEnded(connection, status, thrown);
    } catch (Throwable t) {
      MeshBridge.adviceError(HttpUrlConnectionInstrumentationModule.NAME, t);
    }
    if (edits != null) {
      try {
        Class<?> table = responses.getClass();
        Method keyAt = table.getMethod("getKey", int.class);
        Method valueAt = table.getMethod("getValue", int.class);
        Method indexOf = table.getMethod("getKey", String.class);
        Method remove = table.getMethod("remove", String.class);
        Method add = table.getMethod("add", String.class, String.class);
        Object edited = table.getConstructor().newInstance();
        // The status line first (its key is null), then every header in order; a parsed table
        // holds no null value, so the first null is its end.
        for (int i = 0; ; i++) {
          String value = (String) valueAt.invoke(responses, i);
          if (value == null) {
            break;
          }
          add.invoke(edited, keyAt.invoke(responses, i), value);
        }
        for (String name : edits[0]) {
          remove.invoke(edited, name);
        }
        for (int i = 0; i + 1 < edits[1].length; i += 2) {
          remove.invoke(edited, edits[1][i]); // the table's set replaces only the last value
          add.invoke(edited, edits[1][i], edits[1][i + 1]);
        }
        for (int i = 0; i + 1 < edits[2].length; i += 2) {
          // Under the spelling the response used, so that getHeaderFields() keeps one entry.
          int at = (Integer) indexOf.invoke(edited, edits[2][i]);
          add.invoke(edited, at < 0 ? edits[2][i] : keyAt.invoke(edited, at), edits[2][i + 1]);
        }
        responses = edited;
        filteredHeaders = null;
      } catch (Throwable t) {
        MeshBridge.responseHeadersNotEdited(HttpUrlConnectionInstrumentationModule.NAME, t);
      }
    }
  }
}
