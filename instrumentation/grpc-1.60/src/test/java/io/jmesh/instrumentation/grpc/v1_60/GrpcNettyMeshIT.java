package io.jmesh.instrumentation.grpc.v1_60;

import io.grpc.ManagedChannelBuilder;
import io.grpc.netty.NettyChannelBuilder;

/** The gRPC conformance suite on grpc-netty (the application's own Netty). */
class GrpcNettyMeshIT extends AbstractMeshGrpcClientTest {
  @Override
  protected ManagedChannelBuilder<?> forTarget(String target) {
    return NettyChannelBuilder.forTarget(target);
  }

  @Override
  protected ManagedChannelBuilder<?> forAddress(String host, int port) {
    return NettyChannelBuilder.forAddress(host, port);
  }
}
