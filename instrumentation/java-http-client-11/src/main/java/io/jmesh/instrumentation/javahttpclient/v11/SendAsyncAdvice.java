package io.jmesh.instrumentation.javahttpclient.v11;

import io.jmesh.bridge.JdkHttpClientHook;
import io.jmesh.bridge.MeshBridge;
import java.lang.invoke.MethodHandles;
import java.util.concurrent.CompletableFuture;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.implementation.bytecode.assign.Assigner;

/**
 * Hands a request to a mesh destination to {@link JavaHttpClientHook}, which returns the future of
 * the whole meshed call (its attempts re-enter this method and run it unchanged). Requests outside
 * the mesh run the method unchanged too, after one lookup.
 */
final class SendAsyncAdvice {
  private SendAsyncAdvice() {}

  /** Skips the method when the hook took the call over (the token is its future). */
  @Advice.OnMethodEnter(skipOn = CompletableFuture.class, suppress = Throwable.class)
  static Object enter(
      @Advice.This Object client,
      @Advice.Argument(0) Object request,
      @Advice.Argument(1) Object handler,
      @Advice.Argument(2) Object pushHandler,
      @Advice.Argument(3) Object executor) {
    try {
      JdkHttpClientHook hook = MeshBridge.jdkHttpClient();
      if (hook == null) {
        return null;
      }
      if (hook.needsLookup()) {
        hook.lookup(MethodHandles.lookup()); // inlined here, so it is HttpClientImpl's lookup
      }
      return hook.sendEnter(client, request, handler, pushHandler, executor);
    } catch (Throwable t) {
      MeshBridge.adviceError("java-http-client-11", t);
      return null;
    }
  }

  @Advice.OnMethodExit(suppress = Throwable.class)
  static void exit(
      @Advice.Enter Object token,
      @Advice.Return(readOnly = false, typing = Assigner.Typing.DYNAMIC) Object returned) {
    if (token instanceof CompletableFuture) {
      returned = token;
    }
  }
}
