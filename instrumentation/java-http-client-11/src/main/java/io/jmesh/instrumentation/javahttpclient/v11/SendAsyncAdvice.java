package io.jmesh.instrumentation.javahttpclient.v11;

import io.jmesh.bridge.JdkHttpClientHook;
import io.jmesh.bridge.MeshBridge;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.implementation.bytecode.assign.Assigner;

/** Hands a request to a mesh destination to the runtime instead of running the original send. */
final class SendAsyncAdvice {
  private SendAsyncAdvice() {}

  @Advice.OnMethodEnter(skipOn = Advice.OnNonDefaultValue.class, suppress = Throwable.class)
  static Object enter(
      @Advice.This Object client,
      @Advice.Argument(0) Object request,
      @Advice.Argument(1) Object handler,
      @Advice.Argument(2) Object pushPromiseHandler) {
    JdkHttpClientHook hook = MeshBridge.jdkHttpClient();
    if (hook == null) {
      return null;
    }
    try {
      return hook.sendAsync(client, request, handler, pushPromiseHandler);
    } catch (Throwable t) {
      MeshBridge.adviceError("java-http-client-11", t);
      return null;
    }
  }

  @Advice.OnMethodExit(suppress = Throwable.class)
  static void exit(
      @Advice.Enter Object replacement,
      @Advice.Return(readOnly = false, typing = Assigner.Typing.DYNAMIC) Object returned) {
    if (replacement != null) {
      returned = replacement;
    }
  }
}
