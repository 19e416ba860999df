package io.jmesh.bridge;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.function.Function;

/** Routes requests for woven code that runs in application class loaders (for example OkHttp). */
public interface BridgeCalls {
  /**
   * Routes a request; returns {@code null} when {@code host:port} is no mesh destination, in
   * which case the caller must leave the request untouched.
   *
   * @param headers looks up the first value of a request header by name, or returns null
   */
  BridgeCall route(
      String scheme,
      String host,
      int port,
      String method,
      String path,
      Function<String, String> headers);

  /**
   * The addresses of every endpoint of the mesh destination {@code host:port}, across its subsets,
   * for clients that keep a connection per endpoint before the first call (gRPC's subchannels);
   * {@code null} when {@code host:port} is no mesh destination. Each call reads the config in
   * force, so a client re-asks to learn of changes. For a destination the controller has declared
   * but whose resources have not arrived, it first waits for them as a first call would (bounded,
   * once per destination), so call it where a short wait is acceptable (building a channel).
   */
  default List<InetSocketAddress> endpoints(String host, int port) {
    return null;
  }

  /**
   * Runs {@code listener} after every config change (a file reload, a controller push), on the
   * runtime's thread, for clients that keep what {@link #endpoints} said (gRPC's subchannels) and
   * re-ask then; it must not block, and it is not told what changed. Returns what unregisters it.
   */
  default Runnable onConfigChange(Runnable listener) {
    return () -> {};
  }

  /**
   * Whether attempts to the mesh destination {@code host:port} must go over mesh TLS, as of the
   * config in force. For clients whose TLS is fixed when they are built (gRPC channels).
   */
  default boolean requiresMeshTls(String host, int port) {
    return false;
  }

  /**
   * This workload's certificate as a key manager (an {@code X509ExtendedKeyManager} that reads
   * the identity at each handshake), or {@code null} when this workload has no mesh identity.
   */
  default javax.net.ssl.KeyManager meshKeyManager() {
    return null;
  }

  /**
   * A trust manager for connections to the mesh destination {@code host:port} (an {@code
   * X509ExtendedTrustManager}): at each handshake it checks the server against the identities the
   * config then in force names for the destination, and refuses every server when the
   * destination no longer requires mesh TLS or this workload has no identity. Host names play no
   * part. {@code null} when {@code host:port} does not require mesh TLS now.
   */
  default javax.net.ssl.TrustManager meshTrustManager(String host, int port) {
    return null;
  }
}
