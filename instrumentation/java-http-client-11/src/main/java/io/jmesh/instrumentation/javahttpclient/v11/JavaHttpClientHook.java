package io.jmesh.instrumentation.javahttpclient.v11;

import io.jmesh.agent.tooling.Agent;
import io.jmesh.agent.tooling.AgentContext;
import io.jmesh.agent.tooling.MeshCalls;
import io.jmesh.agent.tooling.WeakIdentityMap;
import io.jmesh.bridge.BridgeCall;
import io.jmesh.bridge.BridgeEndpoint;
import io.jmesh.bridge.JdkHttpClientHook;
import io.jmesh.bridge.MeshBridge;
import io.jmesh.bridge.MeshRefusal;
import io.jmesh.runtime.call.Timer;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublisher;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandler;
import java.net.http.HttpResponse.PushPromiseHandler;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * Meshes {@code java.net.http} calls: routes a request to a mesh destination and starts it on the
 * runtime's call driver (admission, faults, retries, deadline, recording) with a {@link
 * MeshedSend}, which sends each attempt the driver asks for through the client's own {@code
 * sendAsync}.
 * An attempt's internal request copy is tied to its endpoint so that {@code getAddress()}
 * connects there; the request keeps its URI, so Host and TLS names stay logical.
 */
final class JavaHttpClientHook implements JdkHttpClientHook {
  /** The attempt this thread is handing to the client, until the client's send returns. */
  private static final ThreadLocal<Attempt> ATTEMPT = new ThreadLocal<>();

  // The JDK's own request type: the WebSocket handshake sends one, whose state a copy would lose.
  private static final String REQUEST_IMPL = "jdk.internal.net.http.HttpRequestImpl";

  // BodyPublishers.fromPublisher: the application's own Flow.Publisher, perhaps good for one
  // subscription only; every other JDK publisher with a known length can be subscribed again.
  private static final String PUBLISHER_ADAPTER = "jdk.internal.net.http.RequestPublishers$PublisherAdapter";

  private final AgentContext context;
  private final WeakIdentityMap<Object, BridgeEndpoint> endpoints = new WeakIdentityMap<>();
  private final MeshTlsClients meshClients = new MeshTlsClients();

  /**
   * One attempt being handed to the client: the request it sends and its endpoint ({@code null}
   * when it goes out as the client would send it); and the attempt it nests in.
   */
  private record Attempt(HttpRequest request, BridgeEndpoint endpoint, Attempt previous) {}

  JavaHttpClientHook(AgentContext context) {
    this.context = context;
  }

  @Override
  public Object sendEnter(Object client, Object req, Object handler, Object pushHandler, Object executor) {
    HttpRequest request = (HttpRequest) req;
    Attempt attempt = ATTEMPT.get();
    if (attempt != null && attempt.request == request) {
      // One attempt of a call this hook drives: the client sends it unchanged.
      return null;
    }
    URI uri = request.uri();
    String host = uri.getHost();
    int port = port(uri);
    MeshCalls calls = Agent.calls();
    if (host == null || calls == null || !calls.isMeshDestination(host, port)) {
      return null;
    }
    MeshCalls.Call call = null;
    try {
      context.maybeInjectFault(JavaHttpClientInstrumentationModule.NAME);
      call =
          calls.route(
              uri.getScheme(),
              host,
              port,
              request.method(),
              // With the query: routes may match on its parameters.
              uri.getRawQuery() == null ? uri.getRawPath() : uri.getRawPath() + "?" + uri.getRawQuery(),
              name -> request.headers().firstValue(name).orElse(null));
      if (call == null) {
        return null;
      }
      return start(call, (HttpClient) client, request, handler, pushHandler, (Executor) executor);
    } catch (Throwable t) {
      // Nothing was sent yet: the application's call goes on as the client would make it.
      if (call != null) {
        call.finish();
      }
      MeshBridge.adviceError(JavaHttpClientInstrumentationModule.NAME, t);
      return null;
    }
  }

  @SuppressWarnings("unchecked")
  private <T> CompletableFuture<HttpResponse<T>> start(
      MeshCalls.Call call,
      HttpClient client,
      HttpRequest request,
      Object handler,
      Object pushHandler,
      Executor executor) {
    BodyHandler<T> bodyHandler = (BodyHandler<T>) handler;
    PushPromiseHandler<T> push = (PushPromiseHandler<T>) pushHandler;
    if (request.getClass().getName().equals(REQUEST_IMPL)) {
      return sendOnce(call, client, request, bodyHandler, push, executor);
    }
    BodyPublisher body = request.bodyPublisher().orElse(null);
    long length = body == null ? 0 : body.contentLength();
    boolean replayable = body == null || length >= 0 && !body.getClass().getName().equals(PUBLISHER_ADAPTER);
    if (call.refusedWithoutIdentity()) {
      CompletableFuture<HttpResponse<T>> refused =
          RefusalResponse.of(request, bodyHandler, 503, call.refusalKind(), call.refusalReason());
      call.finish();
      return refused;
    }
    MeshedSend.Sender<T> sender =
        (copy, endpoint, h) -> sendAttempt(client, copy, endpoint, h, push, executor);
    return new MeshedSend<>(request, bodyHandler, sender, call::endpoint, call::traceHeaders, System::nanoTime,
            call.requestHeaderEdits(), call.rewritesHost() ? call.authority() : null, call.rewrittenPath(),
            call::responseHeaderEdits)
        .mirrorCopies(call::mirrorCopy)
        .start(s -> call.start(replayable, length, s, s, Timer.delayed()));
  }

  /**
   * The JDK's own request (a WebSocket handshake), which a copy per attempt would strip of its
   * state: one attempt as routed, reported, without admission, timeouts or retries (the bridge's
   * call allows a client that cannot retry to skip them).
   */
  private <T> CompletableFuture<HttpResponse<T>> sendOnce(
      MeshCalls.Call call,
      HttpClient client,
      HttpRequest request,
      BodyHandler<T> handler,
      PushPromiseHandler<T> push,
      Executor executor) {
    BridgeEndpoint endpoint = call.nextEndpoint();
    if (endpoint == null) {
      call.finish();
      return CompletableFuture.failedFuture(new MeshRefusal(call.noEndpointMessage()));
    }
    long start = System.nanoTime();
    CompletableFuture<HttpResponse<T>> exchange = sendAttempt(client, request, endpoint, handler, push, executor);
    CompletableFuture<HttpResponse<T>> result = new CompletableFuture<>();
    exchange.whenComplete(
        (r, e) -> {
          Throwable error = e == null ? null : MeshedSend.unwrap(e);
          try {
            call.attemptFinished(endpoint, r == null ? 0 : r.statusCode(), error, System.nanoTime() - start);
          } catch (Throwable t) {
            MeshBridge.adviceError(JavaHttpClientInstrumentationModule.NAME, t);
          } finally {
            call.finish();
          }
          if (error == null) {
            result.complete(r);
          } else {
            result.completeExceptionally(error);
          }
        });
    result.whenComplete(
        (r, e) -> {
          if (result.isCancelled()) {
            exchange.cancel(true);
          }
        });
    return result;
  }

  /** Hands one attempt to the client, marked so that {@link #sendEnter} lets it through. */
  @SuppressWarnings("unchecked")
  private <T> CompletableFuture<HttpResponse<T>> sendAttempt(
      HttpClient client,
      HttpRequest request,
      BridgeEndpoint endpoint,
      BodyHandler<T> handler,
      PushPromiseHandler<T> push,
      Executor executor) {
    javax.net.ssl.SSLContext meshTls = endpoint == null ? null : endpoint.meshTls();
    if (meshTls != null) {
      if (request.getClass().getName().equals(REQUEST_IMPL)) {
        // The JDK's own request (a WebSocket handshake) loses its state in a copy, and only a copy
        // can be sent over mesh TLS: refuse it rather than send it in plaintext.
        return CompletableFuture.failedFuture(
            new MeshRefusal(
                "jmesh: " + request.uri() + ": a WebSocket handshake cannot go over mesh TLS, which"
                    + " its destination requires (expected: a plain HttpClient request)"));
      }
      // The application's client has its own TLS (or none): the mesh client sends it instead.
      HttpClient mesh = meshClients.clientFor(client, meshTls);
      HttpRequest copy = MeshTlsClients.overMeshTls(request);
      // Attempts that start together before the first connection to this endpoint is up would
      // each open their own (the JDK pools an HTTP/2 connection only once it is established):
      // let the first one through, and the others follow when it has answered.
      java.net.InetSocketAddress address = endpoint.socketAddress();
      CompletableFuture<Void> opened = meshClients.firstConnection(mesh, address);
      if (opened == null) {
        CompletableFuture<HttpResponse<T>> first = send(mesh, copy, endpoint, handler, push, executor, true);
        first.whenComplete((r, e) -> meshClients.connectionOpened(mesh, address, e == null));
        return first;
      }
      if (!opened.isDone()) {
        return opened.thenCompose(ignored -> send(mesh, copy, endpoint, handler, push, executor, true));
      }
      return send(mesh, copy, endpoint, handler, push, executor, true);
    }
    return send(client, request, endpoint, handler, push, executor, false);
  }

  @SuppressWarnings("unchecked")
  private <T> CompletableFuture<HttpResponse<T>> send(
      HttpClient client,
      HttpRequest request,
      BridgeEndpoint endpoint,
      BodyHandler<T> handler,
      PushPromiseHandler<T> push,
      Executor executor,
      boolean meshClient) {
    Attempt previous = ATTEMPT.get();
    ATTEMPT.set(new Attempt(request, endpoint, previous));
    try {
      MethodHandle internal = internalSend;
      Object impl = meshClient ? implOf(client) : client;
      if (internal != null && impl != null) {
        // The application's executor as it gave it: null for a synchronous send, which then
        // completes on the client's own thread like an unmeshed one.
        return (CompletableFuture<HttpResponse<T>>) internal.invoke(impl, request, handler, push, executor);
      }
      // The public method passes the client's executor, as the application's sendAsync does.
      return client.sendAsync(request, handler, push);
    } catch (RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("HttpClientImpl.sendAsync failed", t);
    } finally {
      if (previous == null) {
        ATTEMPT.remove();
      } else {
        ATTEMPT.set(previous);
      }
    }
  }

  // HttpClientImpl.sendAsync(request, handler, push, executor); null until the first lookup.
  private volatile MethodHandle internalSend;
  // HttpClientFacade.impl: a client from HttpClient.newBuilder() is a facade, and internalSend
  // needs what is behind it (the mesh clients'). Null until the first lookup, or if it failed.
  private volatile MethodHandle facadeImpl;
  private volatile boolean lookupTried;

  /** The HttpClientImpl behind a mesh client, or null to send through its public method. */
  private Object implOf(HttpClient client) throws Throwable {
    MethodHandle getter = facadeImpl;
    if (getter == null || !getter.type().parameterType(0).isInstance(client)) {
      return null;
    }
    return getter.invoke(client);
  }

  @Override
  public boolean needsLookup() {
    return !lookupTried;
  }

  @Override
  public void lookup(Object lookup) {
    lookupTried = true;
    try {
      MethodHandles.Lookup l = (MethodHandles.Lookup) lookup;
      internalSend =
          l.findVirtual(
              l.lookupClass(),
              "sendAsync",
              MethodType.methodType(
                  CompletableFuture.class,
                  HttpRequest.class,
                  BodyHandler.class,
                  PushPromiseHandler.class,
                  Executor.class));
    } catch (ReflectiveOperationException | RuntimeException e) {
      // Attempts then go through the public sendAsync: correct, one pool hop slower.
      MeshBridge.adviceError(JavaHttpClientInstrumentationModule.NAME, e);
      return;
    }
    try {
      // Same package as HttpClientImpl, so its lookup reads the facade's package-private field.
      MethodHandles.Lookup l = (MethodHandles.Lookup) lookup;
      facadeImpl = l.findGetter(l.findClass("jdk.internal.net.http.HttpClientFacade"), "impl", l.lookupClass());
    } catch (ReflectiveOperationException | RuntimeException e) {
      // Mesh TLS attempts then go through the mesh client's public sendAsync.
      MeshBridge.adviceError(JavaHttpClientInstrumentationModule.NAME, e);
    }
  }

  @Override
  public void requestCopied(Object applicationRequest, Object requestImpl) {
    Attempt attempt = ATTEMPT.get();
    if (attempt != null && attempt.request == applicationRequest && attempt.endpoint != null) {
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
    MeshCalls.Call call =
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
    if (endpoint.meshTls() != null && !"https".equalsIgnoreCase(uri.getScheme())) {
      // Not an attempt of the mesh client (whose requests are https): a plain request to a
      // destination that requires mesh TLS. Fail closed rather than let it connect in plaintext.
      call.finish();
      throw new java.io.UncheckedIOException(
          new MeshRefusal(
              "jmesh: " + call.authority() + " requires mesh TLS, and this request ("
                  + request.method() + " " + uri + ", made by the client on its own, such as a"
                  + " redirect) cannot be sent over it"));
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
    if (endpoint.meshTls() != null) {
      // Mesh TLS checks the peer's SPIFFE identity, not a name. And the JDK pools HTTP/2 by this
      // address's host string and port: the endpoint's own keeps one connection per endpoint,
      // where the logical name would put every endpoint of a destination on one connection.
      return address;
    }
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
