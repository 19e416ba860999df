package io.jmesh.instrumentation.httpurlconnection;

import io.jmesh.agent.tooling.Agent;
import io.jmesh.agent.tooling.AgentContext;
import io.jmesh.agent.tooling.MeshCalls;
import io.jmesh.bridge.BridgeCall;
import io.jmesh.bridge.BridgeEndpoint;
import io.jmesh.bridge.MeshRefusal;
import io.jmesh.bridge.UrlConnectionHook;
import java.net.HttpURLConnection;
import java.net.MalformedURLException;
import java.net.Proxy;
import java.net.URL;

/** Routes {@code HttpURLConnection} requests; see {@link HttpUrlConnectionInstrumentationModule}. */
final class UrlConnectionHookImpl implements UrlConnectionHook {
  private static final String HTTPS_CLIENT = "sun.net.www.protocol.https.HttpsClient";

  private final AgentContext context;

  UrlConnectionHookImpl(AgentContext context) {
    this.context = context;
  }

  @Override
  @SuppressWarnings("deprecation") // new URL(protocol, host, port, file): keeps file exactly.
  public URL connectTarget(URL url, Object proxy, Object connection) throws MeshRefusal {
    if (!"http".equalsIgnoreCase(url.getProtocol())) {
      return url;
    }
    if (proxy instanceof Proxy && ((Proxy) proxy).type() != Proxy.Type.DIRECT) {
      return url; // The application chose a proxy: leave it in charge.
    }
    String host = url.getHost();
    int port = url.getPort() == -1 ? 80 : url.getPort();
    MeshCalls calls = Agent.calls();
    if (calls == null || !calls.isMeshDestination(host, port)) {
      return url;
    }
    context.maybeInjectFault(HttpUrlConnectionInstrumentationModule.NAME);
    HttpURLConnection conn = connection instanceof HttpURLConnection ? (HttpURLConnection) connection : null;
    BridgeCall call =
        calls.route(
            "http",
            host,
            port,
            conn == null ? "GET" : conn.getRequestMethod(),
            url.getPath(),
            name -> conn == null ? null : conn.getRequestProperty(name));
    if (call == null) {
      return url;
    }
    BridgeEndpoint endpoint = call.nextEndpoint();
    if (endpoint == null) {
      throw new MeshRefusal(call.noEndpointMessage());
    }
    try {
      return new URL("http", endpoint.host(), endpoint.port(), url.getFile());
    } catch (MalformedURLException e) {
      throw new IllegalStateException("endpoint " + endpoint + " gives no valid URL", e);
    }
  }

  @Override
  public Object[] socketTarget(Object client, String host, int port) {
    if (!HTTPS_CLIENT.equals(client.getClass().getName())) {
      return null;
    }
    MeshCalls calls = Agent.calls();
    if (calls == null || host == null || !calls.isMeshDestination(host, port)) {
      return null;
    }
    context.maybeInjectFault(HttpUrlConnectionInstrumentationModule.NAME);
    // Per connection: no request is known yet, so routes see only the destination.
    BridgeCall call = calls.route("https", host, port, "GET", "/", name -> null);
    if (call == null) {
      return null;
    }
    BridgeEndpoint endpoint = call.nextEndpoint();
    return endpoint == null ? null : new Object[] {endpoint.host(), endpoint.port()};
  }
}
