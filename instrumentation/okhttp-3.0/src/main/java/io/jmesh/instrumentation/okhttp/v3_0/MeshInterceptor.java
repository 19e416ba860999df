package io.jmesh.instrumentation.okhttp.v3_0;

import io.jmesh.bridge.BridgeCall;
import io.jmesh.bridge.BridgeCalls;
import io.jmesh.bridge.BridgeEndpoint;
import io.jmesh.bridge.MeshBridge;
import io.jmesh.bridge.MeshRefusal;
import java.io.IOException;
import okhttp3.HttpUrl;
import okhttp3.Interceptor;
import okhttp3.Request;
import okhttp3.Response;

/**
 * Routes a request to a mesh destination: sends each attempt to the chosen endpoint with the
 * logical authority as Host, and gives the application back a response whose request is its own.
 * Injected into the class loader that holds OkHttp; talks to the runtime through the bridge only.
 */
public final class MeshInterceptor implements Interceptor {
  static final String PLACE = "okhttp-3.0";

  @Override
  public Response intercept(Chain chain) throws IOException {
    Request request = chain.request();
    BridgeCall call;
    BridgeEndpoint endpoint = null;
    Request attempt = null;
    try {
      BridgeCalls calls = MeshBridge.calls();
      HttpUrl url = request.url();
      // HTTPS stays the application's own for now: OkHttp verifies the certificate against the
      // URL's host, which must stay logical; mesh mTLS (issue 5) takes over meshed TLS.
      call =
          calls == null || url.isHttps()
              ? null
              : calls.route(
                  url.scheme(), url.host(), url.port(), request.method(), url.encodedPath(), request::header);
      if (call != null) {
        endpoint = call.nextEndpoint();
        if (endpoint == null) {
          throw new MeshRefusal(call.noEndpointMessage());
        }
        attempt =
            request
                .newBuilder()
                .url(url.newBuilder().host(endpoint.host()).port(endpoint.port()).build())
                .header("Host", call.authority())
                .build();
      }
    } catch (MeshRefusal refusal) {
      throw refusal;
    } catch (Throwable t) {
      MeshBridge.adviceError(PLACE, t);
      call = null;
    }
    if (call == null) {
      return chain.proceed(request); // Not meshed, or the agent failed: the call goes on as is.
    }
    long start = System.nanoTime();
    Response response;
    try {
      response = chain.proceed(attempt);
    } catch (IOException | RuntimeException e) {
      call.attemptFinished(endpoint, false, System.nanoTime() - start);
      throw e;
    }
    call.attemptFinished(endpoint, response.code() < 500, System.nanoTime() - start);
    return response.newBuilder().request(request).build();
  }

  @Override
  public String toString() {
    return "jmesh MeshInterceptor";
  }
}
