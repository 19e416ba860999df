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

  /**
   * Mesh TLS for this attempt, or {@code null} to connect as the application asked (plaintext to
   * a plaintext URL). When set, {@link #port()} is the peer's mesh inbound port and the attempt
   * must go over TLS with this context (TLS 1.3, this workload's certificate, the peer checked
   * against the identities the control plane names for the destination), offering ALPN {@code h2}
   * where the client can speak HTTP/2, whatever the application's URL says. Host names play no
   * part in the peer check: the context ignores endpoint identification.
   */
  default javax.net.ssl.SSLContext meshTls() {
    return null;
  }
}
