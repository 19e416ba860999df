package io.jmesh.bridge;

import java.io.IOException;
import java.net.URL;

/**
 * Hooks woven into {@code sun.net.www} for {@code HttpURLConnection}. Parameters are typed {@code
 * Object} where the bootstrap loader's view of the JDK type would not help. An {@link IOException}
 * thrown by a hook is the mesh's answer (a refusal, an expired deadline) and reaches the
 * application; any other {@link Throwable} is an agent error, which woven code reports with {@link
 * MeshBridge#adviceError} before letting the call go on unmeshed.
 */
public interface UrlConnectionHook {
  /**
   * Called on entry to {@code sun.net.www.http.HttpClient.New(URL, Proxy, int, boolean,
   * HttpURLConnection)}: returns the URL of the endpoint to connect to (the connection keeps the
   * application's URL, so the Host header stays logical), or {@code url} unchanged. A meshed
   * connection's attempt is pending from here until {@link #connectFailed} or {@link
   * #exchangeEnded} reports it.
   *
   * @throws IOException a {@link MeshRefusal} when the mesh refused the call, a {@link
   *     java.net.SocketTimeoutException} when its deadline expired before the attempt
   */
  URL connectTarget(URL url, Object proxy, Object connection) throws IOException;

  /**
   * Called on exit of the same {@code HttpClient.New} when it threw (no socket, so nothing was
   * sent): reports the pending attempt and returns the URL of another endpoint to run {@code New}
   * again with, or {@code null} to let {@code error} reach the application. May block for the
   * retry's back-off.
   */
  URL connectFailed(Object connection, Throwable error);

  /**
   * Called when an exchange of {@code connection} may have ended: on exit of {@code
   * HttpURLConnection.getInputStream0()} and on entry to its {@code disconnectInternal()}.
   * {@code status} is the connection's response code ({@code -1} for none yet), {@code error} what
   * the method threw or {@code null}. Reports the pending attempt, if any, once; returns the
   * throwable to throw instead of {@code error} (the same one, or a timeout naming the call's
   * deadline).
   */
  Throwable exchangeEnded(Object connection, int status, Throwable error);

  /**
   * Called on entry to {@code HttpURLConnection.writeRequests()}: the value of {@link
   * BridgeCall#DEADLINE_HEADER} to send with the pending attempt, or {@code null}.
   */
  String deadlineHeaderValue(Object connection);

  /**
   * Called on entry to {@code HttpURLConnection.writeRequests()}: {@link BridgeCall#traceHeaders()}
   * of the pending attempt, or {@code null}.
   */
  default String[] traceHeaders(Object connection) {
    return null;
  }

  /**
   * Called on entry to {@code HttpURLConnection.writeRequests()}: {@link
   * BridgeCall#requestHeaderEdits()} of the pending exchange, or {@code null}.
   */
  default String[][] requestHeaderEdits(Object connection) {
    return null;
  }

  /**
   * Called on entry to {@code HttpURLConnection.writeRequests()}: the {@code Host} to send when
   * the route rewrites the host name ({@link BridgeCall#authority()}), or {@code null} to keep the
   * application's.
   */
  default String rewrittenHost(Object connection) {
    return null;
  }

  /**
   * Called on exit of {@code HttpURLConnection.getInputStream0()} with a response code, before
   * {@link #exchangeEnded} reports the exchange: {@link BridgeCall#responseHeaderEdits()} of the
   * pending exchange, or {@code null} (none pending: a nested call, or not meshed).
   */
  default String[][] responseHeaderEdits(Object connection) {
    return null;
  }

  /**
   * Called on entry to {@code NetworkClient.doConnect(String, int)} of an HTTPS client: returns
   * {@code {host, port}} of the endpoint to open the socket to, or {@code null} to keep them.
   * TLS still verifies the application's host name.
   */
  Object[] socketTarget(Object client, String host, int port);

  /**
   * Called on exit of the same {@code doConnect} on the same thread, after {@link #socketTarget}
   * chose an endpoint: reports the connect as that endpoint's attempt ({@code thrown} is {@code
   * null} when the socket opened), so that a per-connection pick is never left counted in flight.
   */
  void socketConnected(Object client, Throwable thrown);

  /**
   * Called on entry to {@code HttpClient.New}, after {@link #connectTarget}: whether the pending
   * attempt of this thread needs a connection of its own (over mesh TLS) rather than one from the
   * keep-alive cache, which cannot tell a plaintext connection from a mesh-TLS one to the same
   * address.
   */
  default boolean needsNewConnection() {
    return false;
  }

  /**
   * Called on exit of {@code NetworkClient.doConnect(String, int)} when it returned {@code
   * socket}: the socket the client is to use instead (the same one, or a TLS socket layered over
   * it after a finished handshake, for an attempt over mesh TLS).
   *
   * @throws IOException when the mesh-TLS handshake failed or could not be made; the socket is
   *     closed, and woven code throws this from {@code doConnect}, so nothing is sent in plaintext
   */
  default java.net.Socket connected(Object client, java.net.Socket socket) throws IOException {
    return socket;
  }
}
