package io.jmesh.instrumentation.httpurlconnection.v1_0;

import io.jmesh.bridge.MeshBridge;
import io.jmesh.bridge.UrlConnectionHook;
import java.io.IOException;
import java.net.URL;
import java.net.URLConnection;
import net.bytebuddy.asm.Advice;

/**
 * Points a new HTTP client of a meshed connection at the chosen endpoint and, when the socket
 * cannot be opened there, runs {@code New} again on another endpoint: nothing was sent, so even a
 * POST may go elsewhere.
 */
final class HttpClientNewAdvice {
  private HttpClientNewAdvice() {}

  // No "suppress": the mesh's answer (an IOException) must reach the application; every other
  // error is caught here.
  @Advice.OnMethodEnter
  static void enter(
      @Advice.Argument(value = 0, readOnly = false) URL url,
      @Advice.Argument(1) Object proxy,
      @Advice.Argument(value = 2, readOnly = false) int connectTimeout,
      @Advice.Argument(value = 3, readOnly = false) boolean useCache,
      @Advice.Argument(4) Object connection)
      throws IOException {
    try {
      UrlConnectionHook hook = MeshBridge.urlConnection();
      if (hook != null) {
        URL target = hook.connectTarget(url, proxy, connection);
        if (target != url) {
          url = target;
          // The hook bounds the connection's timeouts by the attempt's; New got the old value.
          connectTimeout = ((URLConnection) connection).getConnectTimeout();
          if (hook.needsNewConnection()) {
            useCache = false;
          }
        }
      }
    } catch (IOException meshAnswer) {
      throw meshAnswer;
    } catch (Throwable t) {
      MeshBridge.adviceError(HttpUrlConnectionInstrumentationModule.NAME, t);
    }
  }

  // repeatOn runs the method body again (not the enter advice) with the arguments as changed
  // here; backupArguments = false so that the body sees the endpoint set by the enter advice.
  @Advice.OnMethodExit(
      onThrowable = Throwable.class,
      repeatOn = Advice.OnNonDefaultValue.class,
      backupArguments = false,
      suppress = Throwable.class)
  static boolean exit(
      @Advice.Argument(value = 0, readOnly = false) URL url,
      @Advice.Argument(value = 2, readOnly = false) int connectTimeout,
      @Advice.Argument(4) Object connection,
      @Advice.Thrown Throwable thrown) {
    if (thrown == null || connection == null) {
      return false;
    }
    try {
      UrlConnectionHook hook = MeshBridge.urlConnection();
      URL next = hook == null ? null : hook.connectFailed(connection, thrown);
      if (next != null) {
        url = next;
        connectTimeout = ((URLConnection) connection).getConnectTimeout();
        return true;
      }
    } catch (Throwable t) {
      MeshBridge.adviceError(HttpUrlConnectionInstrumentationModule.NAME, t);
    }
    return false;
  }
}
