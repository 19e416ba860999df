package io.jmesh.bridge;

import java.net.InetSocketAddress;

/**
 * Hooks woven into {@code jdk.internal.net.http}. Parameters are typed {@code Object} because the
 * bootstrap loader cannot see {@code java.net.http} types.
 */
public interface JdkHttpClientHook {
  /**
   * Called on entry to {@code HttpClientImpl.sendAsync}. Returns the future to hand to the
   * application instead of running the original method, or {@code null} to run it unchanged.
   */
  Object sendAsync(Object client, Object request, Object bodyHandler, Object pushPromiseHandler);

  /** Called when {@code HttpRequestImpl} copies an application request. */
  void requestCopied(Object applicationRequest, Object requestImpl);

  /**
   * Called on entry to {@code HttpRequestImpl.getAddress()}: returns the endpoint to connect to
   * instead, or {@code null} to run the original (a request that is not meshed).
   */
  InetSocketAddress address(Object requestImpl);
}
