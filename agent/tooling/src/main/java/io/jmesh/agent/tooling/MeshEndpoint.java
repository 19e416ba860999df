package io.jmesh.agent.tooling;

import io.jmesh.bridge.BridgeEndpoint;
import io.jmesh.runtime.Endpoint;
import java.net.InetSocketAddress;

/** A runtime endpoint seen through the bridge. */
final class MeshEndpoint implements BridgeEndpoint {
  final Endpoint endpoint;
  private final javax.net.ssl.SSLContext meshTls;

  MeshEndpoint(Endpoint endpoint, javax.net.ssl.SSLContext meshTls) {
    this.endpoint = endpoint;
    this.meshTls = meshTls;
  }

  @Override
  public javax.net.ssl.SSLContext meshTls() {
    return meshTls;
  }

  @Override
  public String host() {
    return endpoint.host();
  }

  @Override
  public int port() {
    return endpoint.port();
  }

  @Override
  public InetSocketAddress socketAddress() {
    return endpoint.socketAddress();
  }

  @Override
  public String toString() {
    return endpoint.host() + ":" + endpoint.port();
  }
}
