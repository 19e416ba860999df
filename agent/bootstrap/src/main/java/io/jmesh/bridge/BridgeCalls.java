package io.jmesh.bridge;

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
}
