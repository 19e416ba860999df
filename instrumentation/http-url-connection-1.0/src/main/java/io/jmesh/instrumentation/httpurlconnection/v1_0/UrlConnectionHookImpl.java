package io.jmesh.instrumentation.httpurlconnection.v1_0;

import io.jmesh.agent.tooling.Agent;
import io.jmesh.agent.tooling.AgentContext;
import io.jmesh.agent.tooling.MeshCalls;
import io.jmesh.agent.tooling.WeakIdentityMap;
import io.jmesh.bridge.BridgeCall;
import io.jmesh.bridge.BridgeEndpoint;
import io.jmesh.bridge.MeshRefusal;
import io.jmesh.bridge.UrlConnectionHook;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.HttpURLConnection;
import java.net.MalformedURLException;
import java.net.Proxy;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URL;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * Routes {@code HttpURLConnection} requests and reports their attempts; see {@link
 * HttpUrlConnectionInstrumentationModule}.
 *
 * <p>Each meshed HTTP exchange is one {@link BridgeCall} whose one pending attempt hangs off the
 * application's connection object until an exit point reports it. Removing it from the map is
 * what makes the report happen exactly once: the runtime counts the endpoint's requests in flight
 * from {@code nextEndpoint()} to {@code attemptFinished}, and a lost report would skew its
 * latency-aware balancer for good. Thread-safety: a connection is driven by one thread at a time
 * (the JDK holds its lock), so an attempt is never touched concurrently.
 */
final class UrlConnectionHookImpl implements UrlConnectionHook {
  private static final String HTTPS_CLIENT = "sun.net.www.protocol.https.HttpsClient";

  private final AgentContext context;
  private final WeakIdentityMap<Object, Attempt> attempts = new WeakIdentityMap<>();

  UrlConnectionHookImpl(AgentContext context) {
    this.context = context;
  }

  /** The pending attempt of one connection, and what to restore on it afterwards. */
  private static final class Attempt {
    final BridgeCall call;
    final String file;
    final int appReadTimeout;
    final int appConnectTimeout;
    BridgeEndpoint endpoint;
    long startNanos;

    Attempt(BridgeCall call, String file, HttpURLConnection conn) {
      this.call = call;
      this.file = file;
      this.appReadTimeout = conn.getReadTimeout();
      this.appConnectTimeout = conn.getConnectTimeout();
    }

    /** Reports the attempt; the answer (a retry's delay) is ignored: see {@link #connectFailed}. */
    void report(int status, Throwable error) {
      call.attemptFinished(endpoint, status, error, System.nanoTime() - startNanos);
    }

    /** Ends the call and hands the application its own timeouts back. */
    void end(HttpURLConnection conn) {
      call.finish();
      conn.setReadTimeout(appReadTimeout);
      conn.setConnectTimeout(appConnectTimeout);
    }
  }

  @Override
  public URL connectTarget(URL url, Object proxy, Object connection) throws IOException {
    // Whatever an earlier New on this thread left behind (it threw before connecting) is stale.
    MESH_TLS_CONNECT.remove();
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
    if (!(connection instanceof HttpURLConnection)) {
      return url; // Only the JDK's own connection passes one; without it nothing can be reported.
    }
    HttpURLConnection conn = (HttpURLConnection) connection;
    Attempt stale = attempts.remove(conn);
    if (stale != null) {
      // The JDK opens a new client for the same exchange after a failed write: the previous
      // attempt ended without a response.
      stale.report(0, new IOException("the exchange ended before a response; the JDK connects again"));
      stale.end(conn);
    }
    BridgeCall call =
        calls.route(
            "http", host, port, conn.getRequestMethod(), url.getPath(), conn::getRequestProperty);
    if (call == null) {
      return url;
    }
    boolean admitted = false;
    try {
      // This client sends the request once, inside getInputStream, and cannot send it again:
      // say "not replayable" so that the runtime never takes a retry from the budget that would
      // go unused. Connect failures are still retried (nothing was sent; see connectFailed).
      int refused = call.admit(false, -1);
      if (refused != 0) {
        // This client cannot be handed a response: the refusal becomes an IOException.
        throw new MeshRefusal(call.refusalReason());
      }
      awaitAdmission(call);
      Attempt attempt = new Attempt(call, url.getFile(), conn);
      URL target = startAttempt(attempt, conn);
      admitted = true;
      return target;
    } finally {
      if (!admitted) {
        call.finish();
      }
    }
  }

  /** Holds the first attempt back for an injected delay, then until the call has a slot. */
  private static void awaitAdmission(BridgeCall call) throws IOException {
    long bound = call.attemptTimeoutNanos();
    long delay = call.admissionDelayNanos();
    if (delay > 0) {
      // This client is blocking: the application's thread waits, bounded by the attempt's time.
      sleep(bound < 0 ? delay : Math.min(delay, bound));
    }
    CompletableFuture<Void> slot = call.admissionSlot();
    if (slot == null) {
      return;
    }
    try {
      if (bound < 0) {
        slot.get();
      } else {
        slot.get(bound, TimeUnit.NANOSECONDS);
      }
    } catch (TimeoutException e) {
      throw timeout(call, "jmesh: " + call.authority() + ": no place among the requests in flight within the attempt's timeout of " + TimeUnit.NANOSECONDS.toMillis(bound) + " ms");
    } catch (ExecutionException e) {
      throw new MeshRefusal("jmesh: " + call.authority() + ": overloaded: gave up waiting for a place among the requests in flight (" + e.getCause() + ")");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("jmesh: " + call.authority() + ": interrupted while waiting for a place among the requests in flight");
    }
  }

  /** Picks the attempt's endpoint, bounds the connection's timeouts by the attempt's, records it. */
  private URL startAttempt(Attempt attempt, HttpURLConnection conn) throws IOException {
    BridgeCall call = attempt.call;
    long timeout = call.attemptTimeoutNanos();
    if (timeout == 0) {
      throw new SocketTimeoutException(call.deadlineMessage());
    }
    BridgeEndpoint endpoint = call.nextEndpoint();
    if (endpoint == null) {
      throw new MeshRefusal(call.noEndpointMessage());
    }
    if (timeout > 0) {
      // Rounded up, so that the read times out only once the deadline has passed.
      int millis = (int) Math.min(Integer.MAX_VALUE, (timeout + 999_999) / 1_000_000);
      if (attempt.appReadTimeout == 0 || millis < attempt.appReadTimeout) {
        conn.setReadTimeout(millis);
      }
      if (attempt.appConnectTimeout == 0 || millis < attempt.appConnectTimeout) {
        conn.setConnectTimeout(millis);
      }
    }
    attempt.endpoint = endpoint;
    attempt.startNanos = System.nanoTime();
    attempts.put(conn, attempt);
    if (endpoint.meshTls() != null) {
      MESH_TLS_CONNECT.set(new MeshTlsConnect(endpoint, conn.getConnectTimeout()));
    } else {
      MESH_TLS_CONNECT.remove();
    }
    try {
      return endpointUrl(endpoint, attempt.file);
    } catch (RuntimeException e) {
      attempts.remove(conn);
      attempt.report(0, e);
      attempt.end(conn);
      throw e;
    }
  }

  @SuppressWarnings("deprecation") // new URL(protocol, host, port, file): keeps file exactly.
  private static URL endpointUrl(BridgeEndpoint endpoint, String file) {
    try {
      return new URL("http", endpoint.host(), endpoint.port(), file);
    } catch (MalformedURLException e) {
      throw new IllegalStateException("endpoint " + endpoint + " gives no valid URL", e);
    }
  }

  /** The mesh-TLS attempt whose socket this thread's HttpClient.New is about to open. */
  private record MeshTlsConnect(BridgeEndpoint endpoint, int connectTimeoutMillis) {}

  private static final ThreadLocal<MeshTlsConnect> MESH_TLS_CONNECT = new ThreadLocal<>();

  // The plain HTTP client class; HttpsClient (a subclass) does the application's own TLS.
  private static final String HTTP_CLIENT = "sun.net.www.http.HttpClient";

  @Override
  public boolean needsNewConnection() {
    // The keep-alive cache is keyed by the endpoint's address only: a cached connection might be
    // plaintext, so an attempt over mesh TLS always connects (and pays a handshake) anew.
    return MESH_TLS_CONNECT.get() != null;
  }

  @Override
  public Socket connected(Object client, Socket socket) throws IOException {
    MeshTlsConnect pending = MESH_TLS_CONNECT.get();
    if (pending == null || !HTTP_CLIENT.equals(client.getClass().getName())) {
      return socket;
    }
    MESH_TLS_CONNECT.remove();
    BridgeEndpoint endpoint = pending.endpoint();
    try {
      // A request's headers and body leave as separate TLS records: without TCP_NODELAY the body
      // would wait for the peer's delayed ACK. Mesh connections always turn Nagle off.
      socket.setTcpNoDelay(true);
      SSLSocket tls =
          (SSLSocket) endpoint.meshTls().getSocketFactory().createSocket(socket, endpoint.host(), endpoint.port(), true);
      SSLParameters params = tls.getSSLParameters();
      // This client speaks HTTP/1.1 only: say so, so that the peer does not wait to sniff.
      params.setApplicationProtocols(new String[] {"http/1.1"});
      tls.setSSLParameters(params);
      int readTimeout = socket.getSoTimeout();
      if (readTimeout == 0 && pending.connectTimeoutMillis() > 0) {
        // The handshake is part of connecting: bound it as the application bounds a connect.
        tls.setSoTimeout(pending.connectTimeoutMillis());
      }
      tls.startHandshake();
      tls.setSoTimeout(readTimeout);
      return tls;
    } catch (IOException e) {
      socket.close();
      throw e;
    } catch (RuntimeException | Error e) {
      // Fails closed: no plaintext in place of mesh TLS, even on an agent error.
      socket.close();
      throw new SSLException("jmesh: mesh TLS to " + endpoint + " could not be set up", e);
    }
  }

  @Override
  public URL connectFailed(Object connection, Throwable error) {
    MESH_TLS_CONNECT.remove();
    Attempt attempt = attempts.remove(connection);
    if (attempt == null) {
      return null;
    }
    HttpURLConnection conn = (HttpURLConnection) connection;
    BridgeCall call = attempt.call;
    boolean retrying = false;
    try {
      // No socket, so nothing was sent: the only retry this client allows, done by running
      // HttpClient.New again. The runtime's answer says whether and when.
      long delay =
          call.attemptFinished(attempt.endpoint, 0, error, System.nanoTime() - attempt.startNanos);
      if (delay < 0) {
        return null;
      }
      long bound = call.attemptTimeoutNanos();
      if (delay > 0 && bound != 0) {
        sleep(bound < 0 ? delay : Math.min(delay, bound));
      }
      URL next = startAttempt(attempt, conn);
      retrying = true;
      return next;
    } catch (IOException | RuntimeException e) {
      // No endpoint left, the deadline passed, or we were interrupted: the application gets the
      // connect failure it would have had.
      return null;
    } finally {
      if (!retrying) {
        attempt.end(conn);
      }
    }
  }

  @Override
  public Throwable exchangeEnded(Object connection, int status, Throwable error) {
    if (status <= 0 && error == null) {
      return null; // A nested call that returned early: the exchange goes on.
    }
    Attempt attempt = attempts.remove(connection);
    if (attempt == null) {
      return error;
    }
    HttpURLConnection conn = (HttpURLConnection) connection;
    try {
      attempt.report(status > 0 ? status : 0, status > 0 ? null : error);
      if (status <= 0 && error instanceof InterruptedIOException && attempt.call.deadlineExpired()) {
        // The read timed out because the route's timeout ran out: say so.
        SocketTimeoutException deadline = new SocketTimeoutException(attempt.call.deadlineMessage());
        deadline.initCause(error);
        return deadline;
      }
      return error;
    } finally {
      attempt.end(conn);
    }
  }

  @Override
  public String deadlineHeaderValue(Object connection) {
    Attempt attempt = attempts.get(connection);
    return attempt == null ? null : attempt.call.deadlineHeaderValue();
  }

  @Override
  public String[] traceHeaders(Object connection) {
    Attempt attempt = attempts.get(connection);
    return attempt == null ? null : attempt.call.traceHeaders();
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
    if (endpoint == null) {
      return null;
    }
    CONNECTING.set(new Connecting(client, call, endpoint, System.nanoTime()));
    return new Object[] {endpoint.host(), endpoint.port()};
  }

  /** An HTTPS connect in progress on this thread: reported when doConnect returns. */
  private record Connecting(Object client, BridgeCall call, BridgeEndpoint endpoint, long startNanos) {}

  private static final ThreadLocal<Connecting> CONNECTING = new ThreadLocal<>();

  @Override
  public void socketConnected(Object client, Throwable thrown) {
    Connecting c = CONNECTING.get();
    if (c == null || c.client != client) {
      return;
    }
    CONNECTING.remove();
    // No request is seen on this path: the connect is the attempt. Its time is the TCP handshake,
    // a fair latency sample between endpoints of one destination; its failure feeds the breaker.
    try {
      c.call.attemptFinished(c.endpoint, thrown == null ? 200 : 0, thrown, System.nanoTime() - c.startNanos);
    } finally {
      c.call.finish();
    }
  }

  private static SocketTimeoutException timeout(BridgeCall call, String otherwise) {
    return new SocketTimeoutException(call.deadlineExpired() ? call.deadlineMessage() : otherwise);
  }

  /** Waits on the application's thread; an interrupt ends the wait and the call. */
  private static void sleep(long nanos) throws InterruptedIOException {
    try {
      TimeUnit.NANOSECONDS.sleep(nanos);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("jmesh: interrupted while holding a request back");
    }
  }
}
