package io.jmesh.instrumentation.javahttpclient.v11;

import java.net.Authenticator;
import java.net.CookieHandler;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLContext;

/**
 * The clients that send attempts over mesh TLS. The application's own client cannot: its TLS
 * context is its own, and its URL may be {@code http}. A mesh client has the destination's mesh
 * TLS context and prefers HTTP/2, so that its pool keeps one multiplexed connection per endpoint
 * (the JDK pools HTTP/2 by the address {@code getAddress()} returns). What the application's
 * client does to a request (its connect timeout, redirects, cookies, authentication) carries
 * over; its proxy does not, since mesh traffic goes straight to the peer.
 *
 * <p>Thread-safe. Clients hold no thread that keeps the JVM alive (the JDK's are daemons) and
 * stop once unreachable.
 */
final class MeshTlsClients {
  // A context is replaced only when a destination's identities or this workload's identity
  // change, so a handful of entries is normal; past this many the older ones are stale, and
  // dropping them all lets their clients (and connections) go.
  private static final int MAX_CLIENTS = 64;

  /** What makes two mesh clients different. */
  private record Key(
      SSLContext tls,
      Optional<Duration> connectTimeout,
      HttpClient.Redirect redirect,
      Optional<CookieHandler> cookies,
      Optional<Authenticator> authenticator) {}

  private final Map<Key, HttpClient> clients = new ConcurrentHashMap<>();

  private record Endpoint(HttpClient client, java.net.InetSocketAddress address) {}

  // Per mesh client and endpoint: completes once a first attempt has been answered there, i.e. a
  // connection (HTTP/2 when the peer agreed) is in the client's pool.
  private final Map<Endpoint, java.util.concurrent.CompletableFuture<Void>> opened = new ConcurrentHashMap<>();

  /**
   * Null when the caller is the first attempt of {@code client} to {@code address} and must call
   * {@link #connectionOpened} when it ends; otherwise the gate to wait for (done once open).
   */
  java.util.concurrent.CompletableFuture<Void> firstConnection(HttpClient client, java.net.InetSocketAddress address) {
    if (opened.size() >= MAX_CLIENTS * 16) {
      opened.clear(); // stale endpoints; at worst a few attempts open a connection each
    }
    java.util.concurrent.CompletableFuture<Void> mine = new java.util.concurrent.CompletableFuture<>();
    java.util.concurrent.CompletableFuture<Void> gate = opened.putIfAbsent(new Endpoint(client, address), mine);
    return gate;
  }

  /** Ends the first attempt's gate: the waiting attempts go; after a failure the next one is first. */
  void connectionOpened(HttpClient client, java.net.InetSocketAddress address, boolean answered) {
    Endpoint key = new Endpoint(client, address);
    java.util.concurrent.CompletableFuture<Void> gate = opened.get(key);
    if (gate == null) {
      return;
    }
    if (!answered) {
      opened.remove(key, gate);
    }
    gate.complete(null);
  }

  /** The mesh client for attempts of {@code app}'s calls over {@code tls}. */
  HttpClient clientFor(HttpClient app, SSLContext tls) {
    Key key = new Key(tls, app.connectTimeout(), app.followRedirects(), app.cookieHandler(), app.authenticator());
    HttpClient client = clients.get(key);
    if (client != null) {
      return client;
    }
    if (clients.size() >= MAX_CLIENTS) {
      clients.clear();
    }
    return clients.computeIfAbsent(key, MeshTlsClients::build);
  }

  private static HttpClient build(Key key) {
    HttpClient.Builder b =
        HttpClient.newBuilder()
            .sslContext(key.tls())
            // ALPN offers h2 (falling back to http/1.1), whatever the application asked for.
            .version(HttpClient.Version.HTTP_2)
            .followRedirects(key.redirect());
    key.connectTimeout().ifPresent(b::connectTimeout);
    key.cookies().ifPresent(b::cookieHandler);
    key.authenticator().ifPresent(b::authenticator);
    return b.build();
  }

  /**
   * The attempt's request as the mesh client sends it: {@code https} with the same logical host,
   * port, path and query, so that {@code Host}/{@code :authority} stay what the application
   * wrote while {@code getAddress()} points the connection at the endpoint's mesh port.
   */
  static HttpRequest overMeshTls(HttpRequest attempt) {
    return HttpRequest.newBuilder(attempt, (name, value) -> true)
        .uri(httpsUri(attempt.uri()))
        // Between meshed peers h2 is offered even when the application's request asked for
        // HTTP/1.1: the peer's terminator speaks HTTP/1.1 to the application in any case.
        .version(HttpClient.Version.HTTP_2)
        .build();
  }

  static URI httpsUri(URI uri) {
    if ("https".equalsIgnoreCase(uri.getScheme())) {
      return uri;
    }
    // The logical port stays explicit: :authority must not lose it when it was the http default.
    int port = uri.getPort() == -1 ? 80 : uri.getPort();
    try {
      return new URI(
          "https", uri.getRawUserInfo() == null ? null : uri.getUserInfo(), uri.getHost(), port,
          uri.getPath(), uri.getQuery(), uri.getFragment());
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("request URI " + uri + " has no https form", e);
    }
  }
}
