package io.jmesh.instrumentation.javahttpclient.v11;

import io.jmesh.bridge.JdkHttpClientHook;
import io.jmesh.bridge.MeshBridge;
import net.bytebuddy.asm.Advice;

/** Ties the client's internal copy of a request to the endpoint chosen for that attempt. */
final class RequestCopyAdvice {
  private RequestCopyAdvice() {}

  @Advice.OnMethodExit(suppress = Throwable.class)
  static void exit(@Advice.This Object requestImpl, @Advice.Argument(0) Object applicationRequest) {
    JdkHttpClientHook hook = MeshBridge.jdkHttpClient();
    if (hook == null) {
      return;
    }
    try {
      hook.requestCopied(applicationRequest, requestImpl);
    } catch (Throwable t) {
      MeshBridge.adviceError("java-http-client-11", t);
    }
  }
}
