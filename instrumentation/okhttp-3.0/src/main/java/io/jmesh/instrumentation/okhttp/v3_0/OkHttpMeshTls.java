package io.jmesh.instrumentation.okhttp.v3_0;

import io.jmesh.bridge.BridgeEndpoint;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.Socket;
import java.net.SocketAddress;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.SocketFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.X509TrustManager;
import okhttp3.CertificatePinner;
import okhttp3.ConnectionSpec;
import okhttp3.HttpUrl;
import okhttp3.OkHttpClient;
import okhttp3.Protocol;

/**
 * The clients that send an application client's attempts over mesh TLS, one per application
 * client, endpoint and TLS context, derived from the application's client ({@code newBuilder()}:
 * same connection pool, dispatcher, network interceptors, event listener, timeouts).
 *
 * <p>Why keyed by the application's client first: a derived client carries its application
 * client's network interceptors and event listener (and the headers those add), so it must never
 * send another application client's calls, even to the same endpoint. The application client is
 * held weakly: one the application drops is collected with its derived clients (they do not refer
 * to it).
 *
 * <p>Why one per endpoint: OkHttp derives {@code Host}/{@code :authority} from the URL, so the URL
 * keeps the logical host and port ({@code https://hello:8080/...}); the endpoint comes from the
 * client's {@link okhttp3.Dns} (its IP) and socket factory (its mesh port). OkHttp pools by URL
 * and by that {@code Dns}, so each endpoint's derived client keeps its own HTTP/2 connection.
 *
 * <p>Identity is the TLS context's business: its trust manager accepts only the SPIFFE identities
 * the control plane names for the destination, so OkHttp's host name check and pins, made for
 * the logical name, are switched off here. Thread-safe.
 */
final class OkHttpMeshTls {
  /** One per class loader that holds OkHttp (this helper is injected into each). */
  static final OkHttpMeshTls INSTANCE = new OkHttpMeshTls();

  // Endpoints and contexts change; past this many clients for one application client, the older
  // ones are likely stale, and dropping them all costs only a new client object per live endpoint
  // (the pool is shared).
  static final int MAX_CLIENTS = 256;

  // Identity-keyed: OkHttpClient keeps Object's equals and hashCode.
  private final Map<OkHttpClient, Map<List<Object>, OkHttpClient>> clients =
      Collections.synchronizedMap(new WeakHashMap<>());

  /** The client for attempts of {@code app}'s calls to {@code endpoint} over its mesh TLS. */
  OkHttpClient clientFor(OkHttpClient app, BridgeEndpoint endpoint) {
    SSLContext tls = endpoint.meshTls();
    List<Object> key = Arrays.asList(tls, endpoint.host(), endpoint.port());
    Map<List<Object>, OkHttpClient> own = clients.computeIfAbsent(app, a -> new ConcurrentHashMap<>());
    OkHttpClient client = own.get(key);
    if (client != null) {
      return client;
    }
    if (own.size() >= MAX_CLIENTS) {
      own.clear();
    }
    return own.computeIfAbsent(key, k -> derive(app, endpoint, tls));
  }

  /** The application clients with derived clients now (tests: nothing is held for a dropped one). */
  int applicationClients() {
    synchronized (clients) {
      clients.size(); // expunges the collected ones
      return clients.size();
    }
  }

  private static OkHttpClient derive(OkHttpClient app, BridgeEndpoint endpoint, SSLContext tls) {
    InetSocketAddress address = endpoint.socketAddress();
    OkHttpClient.Builder b = app.newBuilder();
    // The application's interceptors ran once for the call; each attempt runs the network ones.
    b.interceptors().clear();
    b.addInterceptor(MeshInterceptor::applyAttemptTimeouts);
    return b.proxy(Proxy.NO_PROXY) // straight to the peer's mesh port
        .dns(hostname -> Collections.singletonList(address.getAddress()))
        .socketFactory(new EndpointPort(SocketFactory.getDefault(), address.getPort()))
        .sslSocketFactory(tls.getSocketFactory(), PeerCheckedByContext.INSTANCE)
        .hostnameVerifier((hostname, session) -> true) // the context checked the SPIFFE identity
        .certificatePinner(CertificatePinner.DEFAULT)
        // TLS versions and suites are the context's (TLS 1.3 only), not OkHttp's defaults.
        .connectionSpecs(
            Collections.singletonList(
                new ConnectionSpec.Builder(ConnectionSpec.MODERN_TLS)
                    .allEnabledTlsVersions()
                    .allEnabledCipherSuites()
                    .build()))
        .protocols(Arrays.asList(Protocol.HTTP_2, Protocol.HTTP_1_1))
        .build();
  }

  /** The attempt's URL: https, same logical host, port, path and query. */
  static HttpUrl httpsUrl(HttpUrl url) {
    // scheme() first, then the port again: newBuilder keeps 80 as "default" only for http.
    return url.newBuilder().scheme("https").port(url.port()).build();
  }

  /**
   * OkHttp requires an X509TrustManager beside a socket factory, only to clean certificate chains
   * for pinning, which is off. The SSLContext's own trust manager does the check; this one is never
   * asked, and refuses if it ever is.
   */
  static final class PeerCheckedByContext implements X509TrustManager {
    static final PeerCheckedByContext INSTANCE = new PeerCheckedByContext();

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      throw new CertificateException("jmesh: mesh TLS peers are checked by the mesh TLS context, not here");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      throw new CertificateException("jmesh: mesh TLS peers are checked by the mesh TLS context, not here");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }

  /** Opens sockets that connect to the endpoint's mesh port, whatever port the URL names. */
  static final class EndpointPort extends SocketFactory {
    private final SocketFactory delegate;
    private final int port;

    EndpointPort(SocketFactory delegate, int port) {
      this.delegate = delegate;
      this.port = port;
    }

    @Override
    public Socket createSocket() {
      return new EndpointSocket(port);
    }

    // OkHttp only calls createSocket() and connects it itself; the rest serve other callers.
    @Override
    public Socket createSocket(String host, int ignored) throws IOException {
      return delegate.createSocket(host, port);
    }

    @Override
    public Socket createSocket(String host, int ignored, InetAddress localHost, int localPort) throws IOException {
      return delegate.createSocket(host, port, localHost, localPort);
    }

    @Override
    public Socket createSocket(InetAddress host, int ignored) throws IOException {
      return delegate.createSocket(host, port);
    }

    @Override
    public Socket createSocket(InetAddress host, int ignored, InetAddress localAddress, int localPort)
        throws IOException {
      return delegate.createSocket(host, port, localAddress, localPort);
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof EndpointPort && ((EndpointPort) o).port == port;
    }

    @Override
    public int hashCode() {
      return Objects.hash(EndpointPort.class, port);
    }
  }

  /** A plain socket whose connect goes to the mesh port of the address it is given. */
  static final class EndpointSocket extends Socket {
    private final int port;

    EndpointSocket(int port) {
      this.port = port;
    }

    @Override
    public void connect(SocketAddress endpoint, int timeout) throws IOException {
      InetSocketAddress logical = (InetSocketAddress) endpoint;
      // HTTP/2 writes a request as several small frames (HEADERS, DATA, WINDOW_UPDATE), each
      // flushed as its own TLS record: with Nagle's algorithm on, the second waits for the peer's
      // delayed ACK (up to 40 ms on Linux). OkHttp leaves the option at the JDK's default (off);
      // mesh connections turn it on, as Envoy and linkerd2-proxy do for theirs.
      setTcpNoDelay(true);
      super.connect(new InetSocketAddress(logical.getAddress(), port), timeout);
    }
  }
}
