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

  // No "suppress": the mesh's refusal (an UncheckedIOException: getAddress() declares nothing)
  // must fail the exchange rather than let it connect in plaintext; every other error is caught.
  @Advice.OnMethodEnter(skipOn = Advice.OnNonDefaultValue.class)
  static InetSocketAddress enter(@Advice.This Object requestImpl) {
    try {
      JdkHttpClientHook hook = MeshBridge.jdkHttpClient();
      if (hook == null) {
        return null;
      }
      return hook.address(requestImpl);
    } catch (java.io.UncheckedIOException refusal) {
      throw refusal;
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
