package io.jmesh.instrumentation.javahttpclient.v11;

import io.jmesh.agent.tooling.Agent;
import io.jmesh.agent.tooling.AgentContext;
import io.jmesh.agent.tooling.MeshCalls;
import io.jmesh.agent.tooling.WeakIdentityMap;
import io.jmesh.bridge.BridgeCall;
import io.jmesh.bridge.BridgeEndpoint;
import io.jmesh.bridge.JdkHttpClientHook;
import io.jmesh.bridge.MeshRefusal;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.CompletableFuture;

/**
 * Drives one meshed {@code java.net.http} call: routes it, picks the endpoint, and runs the
 * client's own send as the attempt; the attempt's internal request copy is tied to the endpoint
 * so that {@code getAddress()} connects there.
 */
final class JavaHttpClientHook implements JdkHttpClientHook {
  /** The attempt this thread is starting; non-null marks the nested send as ours. */
  private static final ThreadLocal<Attempt> ATTEMPT = new ThreadLocal<>();

  private final AgentContext context;
  private final WeakIdentityMap<Object, BridgeEndpoint> endpoints = new WeakIdentityMap<>();

  private record Attempt(Object request, BridgeEndpoint endpoint) {}

  JavaHttpClientHook(AgentContext context) {
    this.context = context;
  }

  @Override
  @SuppressWarnings({"unchecked", "rawtypes"})
  public Object sendAsync(Object client, Object req, Object handler, Object pushPromiseHandler) {
    if (ATTEMPT.get() != null) {
      return null; // The attempt we started ourselves: run the client's own code.
    }
    HttpRequest request = (HttpRequest) req;
    URI uri = request.uri();
    String host = uri.getHost();
    int port = port(uri);
    MeshCalls calls = Agent.calls();
    if (host == null || calls == null || !calls.isMeshDestination(host, port)) {
      return null;
    }
    context.maybeInjectFault(JavaHttpClientInstrumentationModule.NAME);
    BridgeCall call =
        calls.route(
            uri.getScheme(),
            host,
            port,
            request.method(),
            uri.getRawPath(),
            name -> request.headers().firstValue(name).orElse(null));
    if (call == null) {
      return null;
    }
    BridgeEndpoint endpoint = call.nextEndpoint();
    if (endpoint == null) {
      return CompletableFuture.failedFuture(new MeshRefusal(call.noEndpointMessage()));
    }
    long start = System.nanoTime();
    CompletableFuture<HttpResponse<Object>> future;
    ATTEMPT.set(new Attempt(request, endpoint));
    try {
      HttpClient c = (HttpClient) client;
      future =
          pushPromiseHandler == null
              ? c.sendAsync(request, (HttpResponse.BodyHandler) handler)
              : c.sendAsync(
                  request,
                  (HttpResponse.BodyHandler) handler,
                  (HttpResponse.PushPromiseHandler) pushPromiseHandler);
    } finally {
      ATTEMPT.remove();
    }
    future.whenComplete(
        (response, error) ->
            call.attemptFinished(
                endpoint,
                error == null && response.statusCode() < 500,
                System.nanoTime() - start));
    return future;
  }

  @Override
  public void requestCopied(Object applicationRequest, Object requestImpl) {
    Attempt attempt = ATTEMPT.get();
    if (attempt != null && attempt.request == applicationRequest) {
      endpoints.put(requestImpl, attempt.endpoint);
    }
  }

  @Override
  public InetSocketAddress address(Object requestImpl) {
    BridgeEndpoint endpoint = endpoints.get(requestImpl);
    if (endpoint != null) {
      return connectAddress((HttpRequest) requestImpl, endpoint);
    }
    // A copy the client made on its own (a redirect, an authentication retry): route it afresh
    // if it still goes to a mesh destination.
    HttpRequest request = (HttpRequest) requestImpl;
    URI uri = request.uri();
    MeshCalls calls = Agent.calls();
    if (uri == null || uri.getHost() == null || calls == null) {
      return null;
    }
    BridgeCall call =
        calls.route(
            uri.getScheme(),
            uri.getHost(),
            port(uri),
            request.method(),
            uri.getRawPath(),
            name -> request.headers().firstValue(name).orElse(null));
    if (call == null) {
      return null;
    }
    endpoint = call.nextEndpoint();
    if (endpoint == null) {
      return null;
    }
    endpoints.put(requestImpl, endpoint);
    return connectAddress(request, endpoint);
  }

  /**
   * The endpoint's address; for HTTPS, the same IP carrying the logical host name, because the
   * JDK takes the TLS server name (SNI) and the name it verifies the certificate against from
   * this address's host string. The application's TLS thus still checks the name it asked for.
   */
  private static InetSocketAddress connectAddress(HttpRequest request, BridgeEndpoint endpoint) {
    InetSocketAddress address = endpoint.socketAddress();
    URI uri = request.uri();
    if (uri == null || !"https".equalsIgnoreCase(uri.getScheme()) || address.isUnresolved()) {
      return address;
    }
    try {
      return new InetSocketAddress(
          InetAddress.getByAddress(uri.getHost(), address.getAddress().getAddress()), address.getPort());
    } catch (UnknownHostException e) {
      throw new IllegalStateException("endpoint " + endpoint + " has no usable IP address", e);
    }
  }

  private static int port(URI uri) {
    int port = uri.getPort();
    if (port != -1) {
      return port;
    }
    return "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
  }
}
