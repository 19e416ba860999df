package io.jmesh.instrumentation.httpurlconnection.v1_0;

import io.jmesh.agent.tooling.Agent;
import io.jmesh.agent.tooling.AgentContext;
import io.jmesh.agent.tooling.MeshCalls;
import io.jmesh.agent.tooling.WeakIdentityMap;
import io.jmesh.bridge.BridgeCall;
import io.jmesh.bridge.BridgeEndpoint;
import io.jmesh.bridge.MeshRefusal;
import io.jmesh.bridge.UrlConnectionHook;
import io.jmesh.runtime.Admission;
import io.jmesh.runtime.NoEndpointException;
import io.jmesh.runtime.call.BlockingCall;
import io.jmesh.runtime.call.CallDriver;
import io.jmesh.runtime.call.Outcomes;
import io.jmesh.runtime.deadline.DeadlineExceededException;
import io.jmesh.runtime.retry.AttemptOutcome;
import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.MalformedURLException;
import java.net.Proxy;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URL;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * Routes {@code HttpURLConnection} requests and drives them on the runtime's call driver in steps
 * ({@link BlockingCall#stepwise}); see {@link HttpUrlConnectionInstrumentationModule}.
 *
 * <p>This client's one attempt spans several of its methods (connect in {@code HttpClient.New},
 * the exchange in {@code getInputStream}), so no frame can wait for the whole call: {@code New}
 * asks the driver for the next attempt (admission, an injected delay, the wait for a slot and a
 * retry's backoff run there, on the application's thread, by the driver's rules), and the exit
 * points report that attempt on it. The pending exchange hangs off the application's connection
 * object until an exit point reports it; removing it from the map is what makes the report happen
 * exactly once: the runtime counts the endpoint's requests in flight from the pick to the report,
 * and a lost report would skew its latency-aware balancer for good. Thread-safety: a connection
 * is driven by one thread at a time (the JDK holds its lock), so an exchange is never touched
 * concurrently.
 */
final class UrlConnectionHookImpl implements UrlConnectionHook {
  private static final String HTTPS_CLIENT = "sun.net.www.protocol.https.HttpsClient";

  private final AgentContext context;
  private final WeakIdentityMap<Object, Exchange> exchanges = new WeakIdentityMap<>();

  UrlConnectionHookImpl(AgentContext context) {
    this.context = context;
  }

  /** The meshed exchange of one connection: its call, its pending attempt, the application's timeouts. */
  private static final class Exchange {
    final MeshCalls.Call call;
    final BlockingCall<Void> steps;
    final String file;
    final int appReadTimeout;
    final int appConnectTimeout;
    CallDriver.Attempt<Void> attempt;

    Exchange(MeshCalls.Call call, BlockingCall<Void> steps, String file, HttpURLConnection conn) {
      this.call = call;
      this.steps = steps;
      this.file = file;
      this.appReadTimeout = conn.getReadTimeout();
      this.appConnectTimeout = conn.getConnectTimeout();
    }

    /**
     * Ends the call if the driver has not (this client cannot send the request again, so no
     * retry follows an exchange) and hands the application its own timeouts back.
     */
    void end(HttpURLConnection conn, Throwable reason) {
      steps.end(reason != null ? reason : new IOException("jmesh: " + call.authority() + ": HttpURLConnection cannot send the request again"));
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
    Exchange stale = exchanges.remove(conn);
    if (stale != null) {
      // The JDK opens a new client for the same exchange after a failed write: the previous
      // attempt ended without a response.
      IOException ended = new IOException("the exchange ended before a response; the JDK connects again");
      stale.attempt.failed(ended);
      stale.end(conn, ended);
    }
    MeshCalls.Call call =
        calls.route(
            "http", host, port, conn.getRequestMethod(), url.getFile(), conn::getRequestProperty);
    if (call == null) {
      return url;
    }
    if (call.refusedWithoutIdentity()) {
      call.finish();
      throw new MeshRefusal(call.refusalReason());
    }
    // This client sends the request once, inside getInputStream, and cannot send it again:
    // say "not replayable" so that the runtime never takes a retry from the budget that would
    // go unused. Connect failures are still retried (nothing was sent; see connectFailed).
    // The request line's path comes from the URL the JDK connects to: the route's rewrite goes there.
    String path = call.rewrittenPath();
    String file = path == null ? url.getFile() : url.getQuery() == null ? path : path + "?" + url.getQuery();
    Exchange exchange = new Exchange(call, call.stepwise(false, -1, () -> mirrorCopy(call, conn)), file, conn);
    boolean started = false;
    try {
      URL target = nextAttempt(exchange, conn);
      started = true;
      return target;
    } finally {
      if (!started) {
        exchange.end(conn, null);
      }
    }
  }

  /**
   * The route mirror's copy of {@code conn}'s request: its headers, and an empty body when it has
   * none. A body is streamed by the application after connecting, once, so a copy of a request
   * with a body is skipped (and counted).
   */
  private static io.jmesh.runtime.RequestCopy mirrorCopy(MeshCalls.Call call, HttpURLConnection conn) {
    java.util.List<String> headers = new java.util.ArrayList<>();
    try {
      conn.getRequestProperties().forEach((name, values) -> {
        if (name != null) {
          for (String v : values) {
            headers.add(name);
            headers.add(v);
          }
        }
      });
    } catch (IllegalStateException e) {
      // Already connected: the copy goes without the application's headers.
    }
    return call.mirrorCopy(headers.toArray(new String[0]), conn.getDoOutput() ? null : new byte[0]);
  }

  /**
   * Runs the call's steps on this thread until its next attempt (the driver's admission, delay,
   * wait or backoff), bounds the connection's timeouts by the attempt's, and returns the URL of
   * its endpoint.
   *
   * @throws IOException the call's end: a {@link MeshRefusal} (refused, no endpoint; this client
   *     cannot be handed a response), a {@link SocketTimeoutException} naming the deadline, or
   *     the last attempt's own error
   */
  private URL nextAttempt(Exchange exchange, HttpURLConnection conn) throws IOException {
    CallDriver.Attempt<Void> attempt;
    try {
      attempt = exchange.steps.nextAttempt();
    } catch (DeadlineExceededException e) {
      SocketTimeoutException timeout = new SocketTimeoutException(e.getMessage());
      timeout.initCause(e.getCause());
      throw timeout;
    } catch (NoEndpointException e) {
      throw new MeshRefusal(e.getMessage());
    }
    if (attempt == null) {
      Admission refusal = exchange.steps.refusal();
      throw new MeshRefusal(
          refusal != null ? refusal.reason() : "jmesh: " + exchange.call.authority() + ": the call ended before an attempt");
    }
    BridgeEndpoint endpoint;
    try {
      endpoint = exchange.call.endpoint(attempt);
    } catch (MeshRefusal e) {
      attempt.failed(AttemptOutcome.otherError(), e); // never plaintext: the call ends
      throw e;
    }
    long timeout = attempt.timeoutNanos();
    if (timeout > 0) {
      // Rounded up, so that the read times out only once the deadline has passed.
      int millis = (int) Math.min(Integer.MAX_VALUE, (timeout + 999_999) / 1_000_000);
      if (exchange.appReadTimeout == 0 || millis < exchange.appReadTimeout) {
        conn.setReadTimeout(millis);
      }
      if (exchange.appConnectTimeout == 0 || millis < exchange.appConnectTimeout) {
        conn.setConnectTimeout(millis);
      }
    }
    exchange.attempt = attempt;
    exchanges.put(conn, exchange);
    if (endpoint.meshTls() != null) {
      MESH_TLS_CONNECT.set(new MeshTlsConnect(endpoint, conn.getConnectTimeout()));
    } else {
      MESH_TLS_CONNECT.remove();
    }
    try {
      return endpointUrl(endpoint, exchange.file);
    } catch (RuntimeException e) {
      exchanges.remove(conn);
      attempt.failed(AttemptOutcome.otherError(), e);
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
    Exchange exchange = exchanges.remove(connection);
    if (exchange == null) {
      return null;
    }
    HttpURLConnection conn = (HttpURLConnection) connection;
    boolean retrying = false;
    try {
      // No socket, so nothing was sent: the only retry this client allows, done by running
      // HttpClient.New again on the driver's next attempt, after its backoff.
      exchange.attempt.failed(error);
      URL next = nextAttempt(exchange, conn);
      retrying = true;
      return next;
    } catch (IOException | RuntimeException e) {
      // No retry, no endpoint left, the deadline passed, or we were interrupted: the application
      // gets the connect failure it would have had.
      return null;
    } finally {
      if (!retrying) {
        exchange.end(conn, error);
      }
    }
  }

  @Override
  public Throwable exchangeEnded(Object connection, int status, Throwable error) {
    if (status <= 0 && error == null) {
      return null; // A nested call that returned early: the exchange goes on.
    }
    Exchange exchange = exchanges.remove(connection);
    if (exchange == null) {
      return error;
    }
    HttpURLConnection conn = (HttpURLConnection) connection;
    try {
      if (status > 0) {
        exchange.attempt.succeeded(null, Outcomes.of(status), status);
      } else {
        exchange.attempt.failed(error);
      }
    } finally {
      exchange.end(conn, error);
    }
    if (status <= 0 && exchange.steps.failure() instanceof DeadlineExceededException deadline) {
      // The attempt failed once the route's deadline had passed: say so, as the driver does.
      SocketTimeoutException timeout = new SocketTimeoutException(deadline.getMessage());
      timeout.initCause(error);
      return timeout;
    }
    return error;
  }

  @Override
  public String deadlineHeaderValue(Object connection) {
    Exchange exchange = exchanges.get(connection);
    return exchange == null ? null : exchange.attempt.deadlineHeaderValue();
  }

  @Override
  public String[] traceHeaders(Object connection) {
    Exchange exchange = exchanges.get(connection);
    return exchange == null ? null : exchange.call.traceHeaders();
  }

  @Override
  public String[][] requestHeaderEdits(Object connection) {
    Exchange exchange = exchanges.get(connection);
    return exchange == null ? null : exchange.call.requestHeaderEdits();
  }

  @Override
  public String[][] responseHeaderEdits(Object connection) {
    Exchange exchange = exchanges.get(connection);
    return exchange == null ? null : exchange.call.responseHeaderEdits();
  }

  @Override
  public String rewrittenHost(Object connection) {
    Exchange exchange = exchanges.get(connection);
    return exchange == null || !exchange.call.rewritesHost() ? null : exchange.call.authority();
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
    MeshCalls.Call call = calls.route("https", host, port, "GET", "/", name -> null);
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
  private record Connecting(Object client, MeshCalls.Call call, BridgeEndpoint endpoint, long startNanos) {}

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
}
