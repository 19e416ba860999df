package io.jmesh.instrumentation.httpurlconnection;

import io.jmesh.bridge.MeshBridge;
import io.jmesh.bridge.MeshRefusal;
import io.jmesh.bridge.UrlConnectionHook;
import java.net.URL;
import net.bytebuddy.asm.Advice;

/** Points a new HTTP client of a meshed connection at the chosen endpoint. */
final class HttpClientNewAdvice {
  private HttpClientNewAdvice() {}

  // No "suppress": a MeshRefusal must reach the application; every other error is caught here.
  @Advice.OnMethodEnter
  static void enter(
      @Advice.Argument(value = 0, readOnly = false) URL url,
      @Advice.Argument(1) Object proxy,
      @Advice.Argument(4) Object connection)
      throws MeshRefusal {
    try {
      UrlConnectionHook hook = MeshBridge.urlConnection();
      if (hook != null) {
        url = hook.connectTarget(url, proxy, connection);
      }
    } catch (MeshRefusal refusal) {
      throw refusal;
    } catch (Throwable t) {
      MeshBridge.adviceError("http-url-connection-1.0", t);
    }
  }
}
