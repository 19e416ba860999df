package io.jmesh.bridge;

import java.net.InetSocketAddress;

/**
 * Hooks woven into {@code jdk.internal.net.http}. Parameters are typed {@code Object} because the
 * bootstrap loader cannot see {@code java.net.http} types.
 */
public interface JdkHttpClientHook {
  /**
   * Called on entry to {@code HttpClientImpl.sendAsync(request, handler, pushHandler, executor)},
   * where every send ends. Returns {@code null} when the request is not meshed; a {@link
   * java.util.concurrent.CompletableFuture} to return instead of running the method (the mesh
   * refused the call); or an attempt token for {@link #sendExit}. The original method then runs
   * unchanged, with the executor the application's call chose.
   */
  Object sendEnter(Object client, Object request);

  /**
   * Called on exit of the same method with the token from {@link #sendEnter}: returns the future
   * to hand to the application.
   */
  Object sendExit(Object token, Object future, Throwable thrown);

  /** Called when {@code HttpRequestImpl} copies an application request. */
  void requestCopied(Object applicationRequest, Object requestImpl);

  /**
   * Called on entry to {@code HttpRequestImpl.getAddress()}: returns the endpoint to connect to
   * instead, or {@code null} to run the original (a request that is not meshed).
   */
  InetSocketAddress address(Object requestImpl);
}
