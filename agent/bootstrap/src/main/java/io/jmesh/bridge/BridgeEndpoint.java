package io.jmesh.bridge;

import java.net.InetSocketAddress;

/** The endpoint chosen for one attempt. Immutable. */
public interface BridgeEndpoint {
  /** The IP address or host name to connect to. */
  String host();

  /** The port to connect to. */
  int port();

  /** {@link #host()}:{@link #port()}, resolved once. */
  InetSocketAddress socketAddress();
}
