package io.jmesh.agent.tooling;

import io.jmesh.bridge.MeshBridge;
import io.jmesh.bridge.ServerBindHook;
import net.bytebuddy.asm.Advice;

/** Woven into a JDK server socket's close: the mesh listener on a captured port stops with it. */
final class ServerCloseAdvice {
  private ServerCloseAdvice() {}

  @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
  static void exit(@Advice.This Object socket) {
    ServerBindHook hook = MeshBridge.serverBind();
    if (hook == null) {
      return;
    }
    try {
      hook.closed(socket);
    } catch (Throwable t) {
      MeshBridge.adviceError("inbound-capture", t);
    }
  }
}
