package io.jmesh.instrumentation.javahttpclient.v11;

import io.jmesh.bridge.JdkHttpClientHook;
import io.jmesh.bridge.MeshBridge;
import java.util.concurrent.CompletableFuture;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.implementation.bytecode.assign.Assigner;

/**
 * Routes a request to a mesh destination as the client's own send starts, and follows its
 * outcome as it ends. The method itself runs unchanged (same thread, same executor), so meshing
 * costs a synchronous {@code send()} no extra thread hop.
 */
final class SendAsyncAdvice {
  private SendAsyncAdvice() {}

  /** Skips the method only when the mesh refused the call (the token is a failed future). */
  @Advice.OnMethodEnter(skipOn = CompletableFuture.class, suppress = Throwable.class)
  static Object enter(@Advice.This Object client, @Advice.Argument(0) Object request) {
    try {
      JdkHttpClientHook hook = MeshBridge.jdkHttpClient();
      return hook == null ? null : hook.sendEnter(client, request);
    } catch (Throwable t) {
      MeshBridge.adviceError("java-http-client-11", t);
      return null;
    }
  }

  @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
  static void exit(
      @Advice.Enter Object token,
      @Advice.Return(readOnly = false, typing = Assigner.Typing.DYNAMIC) Object returned,
      @Advice.Thrown Throwable thrown) {
    if (token == null) {
      return;
    }
    if (token instanceof CompletableFuture) {
      returned = token;
      return;
    }
    try {
      JdkHttpClientHook hook = MeshBridge.jdkHttpClient();
      if (hook != null) {
        returned = hook.sendExit(token, returned, thrown);
      }
    } catch (Throwable t) {
      MeshBridge.adviceError("java-http-client-11", t);
    }
  }
}
