package io.jmesh.bridge;

import java.net.URL;

/** Hooks woven into {@code sun.net.www} for {@code HttpURLConnection}. */
public interface UrlConnectionHook {
  /**
   * Called on entry to {@code sun.net.www.http.HttpClient.New(URL, Proxy, int, boolean,
   * HttpURLConnection)}: returns the URL of the endpoint to connect to (the connection keeps the
   * application's URL, so the Host header stays logical), or {@code url} unchanged.
   */
  URL connectTarget(URL url, Object proxy, Object connection) throws MeshRefusal;

  /**
   * Called on entry to {@code NetworkClient.doConnect(String, int)} of an HTTPS client: returns
   * {@code {host, port}} of the endpoint to open the socket to, or {@code null} to keep them.
   * TLS still verifies the application's host name.
   */
  Object[] socketTarget(Object client, String host, int port);
}
