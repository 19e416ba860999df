package io.jmesh.instrumentation.grpc.v1_60;

import io.jmesh.bridge.MeshBridge;
import net.bytebuddy.asm.Advice;

/** Meshes a channel to a mesh destination as it is built; every other channel is untouched. */
final class ChannelBuildAdvice {
  private ChannelBuildAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  static void enter(@Advice.This Object builder) {
    try {
      GrpcMeshChannels.channelBuilding(builder);
    } catch (Throwable t) {
      MeshBridge.adviceError("grpc-1.60", t);
    }
  }
}
