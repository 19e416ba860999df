package io.jmesh.instrumentation.httpurlconnection.v1_0;

import io.jmesh.bridge.MeshBridge;
import io.jmesh.bridge.UrlConnectionHook;
import net.bytebuddy.asm.Advice;

/**
 * Reports a meshed exchange when {@code getInputStream0()} returns or throws: by then the response
 * headers are read and {@code responseCode} is set, or the exchange failed. The JDK calls the
 * method again from inside itself (through {@code getResponseCode()} and {@code getHeaderField});
 * those calls return early with no status and no error, and the hook ignores them.
 */
final class GetInputStreamAdvice {
  private GetInputStreamAdvice() {}

  @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
  static void exit(
      @Advice.This Object connection,
      @Advice.FieldValue("responseCode") int status,
      @Advice.Thrown(readOnly = false) Throwable thrown) {
    UrlConnectionHook hook = MeshBridge.urlConnection();
    if (hook == null) {
      return;
    }
    try {
      thrown = hook.exchangeEnded(connection, status, thrown);
    } catch (Throwable t) {
      MeshBridge.adviceError(HttpUrlConnectionInstrumentationModule.NAME, t);
    }
  }
}
