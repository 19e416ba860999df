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
   * force, so a client re-asks to learn of changes.
   */
  default List<InetSocketAddress> endpoints(String host, int port) {
    return null;
  }
}
