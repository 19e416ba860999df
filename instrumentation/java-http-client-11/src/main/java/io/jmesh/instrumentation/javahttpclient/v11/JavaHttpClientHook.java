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
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.CompletableFuture;

/**
 * Drives one meshed {@code java.net.http} call: routes it, picks the endpoint, and runs the
 * client's own send as the attempt; the attempt's internal request copy is tied to the endpoint
 * so that {@code getAddress()} connects there.
 */
final class JavaHttpClientHook implements JdkHttpClientHook {
  /** The attempt this thread is starting, until the client's send returns. */
  private static final ThreadLocal<Attempt> ATTEMPT = new ThreadLocal<>();

  private final AgentContext context;
  private final WeakIdentityMap<Object, BridgeEndpoint> endpoints = new WeakIdentityMap<>();

  /** One attempt: what it sends, where, for which call, since when; and the attempt it nests in. */
  private record Attempt(
      Object request, BridgeEndpoint endpoint, BridgeCall call, long startNanos, Attempt previous) {}

  JavaHttpClientHook(AgentContext context) {
    this.context = context;
  }

  @Override
  public Object sendEnter(Object client, Object req) {
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
    Attempt attempt = new Attempt(request, endpoint, call, System.nanoTime(), ATTEMPT.get());
    ATTEMPT.set(attempt);
    return attempt;
  }

  @Override
  @SuppressWarnings("unchecked")
  public Object sendExit(Object token, Object future, Throwable thrown) {
    Attempt attempt = (Attempt) token;
    if (attempt.previous == null) {
      ATTEMPT.remove();
    } else {
      ATTEMPT.set(attempt.previous);
    }
    if (thrown != null || !(future instanceof CompletableFuture)) {
      attempt.call.attemptFinished(attempt.endpoint, false, System.nanoTime() - attempt.startNanos);
      return future;
    }
    ((CompletableFuture<HttpResponse<?>>) future)
        .whenComplete(
            (response, error) ->
                attempt.call.attemptFinished(
                    attempt.endpoint,
                    error == null && response.statusCode() < 500,
                    System.nanoTime() - attempt.startNanos));
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
