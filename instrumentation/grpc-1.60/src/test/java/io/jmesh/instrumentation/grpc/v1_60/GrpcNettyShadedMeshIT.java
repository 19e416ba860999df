package io.jmesh.instrumentation.grpc.v1_60;

import io.grpc.ManagedChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;

/** The gRPC conformance suite on grpc-netty-shaded. */
class GrpcNettyShadedMeshIT extends AbstractMeshGrpcClientTest {
  @Override
  protected ManagedChannelBuilder<?> forTarget(String target) {
    return NettyChannelBuilder.forTarget(target);
  }

  @Override
  protected ManagedChannelBuilder<?> forAddress(String host, int port) {
    return NettyChannelBuilder.forAddress(host, port);
  }
}
