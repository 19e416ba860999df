package io.jmesh.instrumentation.okhttp.v3_0;

import io.jmesh.bridge.MeshBridge;
import net.bytebuddy.asm.Advice;

/** Adds the mesh interceptor to every client as it is built, and tells it its client. */
final class ClientConstructorAdvice {
  private ClientConstructorAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  static void enter(@Advice.Argument(0) Object builder) {
    try {
      OkHttpHelper.addMeshInterceptor(builder);
    } catch (Throwable t) {
      MeshBridge.adviceError("okhttp-3.0", t);
    }
  }

  @Advice.OnMethodExit(suppress = Throwable.class)
  static void exit(@Advice.This Object client) {
    try {
      OkHttpHelper.clientBuilt(client);
    } catch (Throwable t) {
      MeshBridge.adviceError("okhttp-3.0", t);
    }
  }
}
