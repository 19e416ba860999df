package io.jmesh.agent.tooling;

import io.jmesh.bridge.MeshBridge;
import io.jmesh.bridge.ServerBindHook;
import java.net.SocketAddress;
import net.bytebuddy.asm.Advice;

/**
 * Woven into a server socket's {@code bind(SocketAddress, ...)}: asks {@link ServerBindHook} where
 * to bind instead, and reports the bind's end. Inlined into JDK and Netty classes, so it uses the
 * bridge only.
 */
final class ServerBindAdvice {
  private ServerBindAdvice() {}

  /** Returns {@code {requested}} when the address was replaced, else {@code null}. */
  @Advice.OnMethodEnter(suppress = Throwable.class)
  static Object[] enter(
      @Advice.This Object socket, @Advice.Argument(value = 0, readOnly = false) SocketAddress local) {
    ServerBindHook hook = MeshBridge.serverBind();
    if (hook == null) {
      return null;
    }
    try {
      SocketAddress instead = hook.bindAddress(socket, local);
      if (instead != null) {
        Object[] requested = new Object[] {local};
        local = instead;
        return requested;
      }
    } catch (Throwable t) {
      MeshBridge.adviceError("inbound-capture", t);
    }
    return null;
  }

  @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
  static void exit(
      @Advice.This Object socket, @Advice.Enter Object[] requested, @Advice.Thrown Throwable thrown) {
    if (requested == null) {
      return;
    }
    ServerBindHook hook = MeshBridge.serverBind();
    try {
      hook.bound(socket, (SocketAddress) requested[0], thrown);
    } catch (Throwable t) {
      MeshBridge.adviceError("inbound-capture", t);
    }
  }
}
