package io.jmesh.instrumentation.javahttpclient.v11;

import io.jmesh.bridge.JdkHttpClientHook;
import io.jmesh.bridge.MeshBridge;
import java.net.InetSocketAddress;
import net.bytebuddy.asm.Advice;

/**
 * Connects an attempt to its endpoint. Skips the original (which would look the logical host up
 * in DNS) when the request is meshed.
 */
final class GetAddressAdvice {
  private GetAddressAdvice() {}

  @Advice.OnMethodEnter(skipOn = Advice.OnNonDefaultValue.class, suppress = Throwable.class)
  static InetSocketAddress enter(@Advice.This Object requestImpl) {
    JdkHttpClientHook hook = MeshBridge.jdkHttpClient();
    if (hook == null) {
      return null;
    }
    try {
      return hook.address(requestImpl);
    } catch (Throwable t) {
      MeshBridge.adviceError("java-http-client-11", t);
      return null;
    }
  }

  @Advice.OnMethodExit(suppress = Throwable.class)
  static void exit(
      @Advice.Enter InetSocketAddress endpoint,
      @Advice.Return(readOnly = false) InetSocketAddress returned) {
    if (endpoint != null) {
      returned = endpoint;
    }
  }
}
