package io.jmesh.bridge;

import java.net.InetSocketAddress;

/**
 * Hooks woven into {@code jdk.internal.net.http}. Parameters are typed {@code Object} because the
 * bootstrap loader cannot see {@code java.net.http} types.
 */
public interface JdkHttpClientHook {
  /**
   * Called on entry to {@code HttpClientImpl.sendAsync(request, handler, pushHandler, executor)},
   * where every send ends. Returns {@code null} to run the method unchanged (the request is not
   * meshed, or it is one attempt of a meshed call), or the {@link
   * java.util.concurrent.CompletableFuture} to return instead: the whole meshed call, whose
   * attempts the hook sends through the same client, or the mesh's refusal.
   */
  Object sendEnter(
      Object client, Object request, Object handler, Object pushHandler, Object executor);

  /**
   * Whether the hook still needs {@link #lookup}: woven code then passes {@code
   * MethodHandles.lookup()} of {@code HttpClientImpl}, once, so that attempts can call the
   * internal {@code sendAsync} with the executor the application's call chose (the public one
   * adds a hop through the common pool to every response).
   */
  boolean needsLookup();

  /** Receives the full-privilege lookup of {@code HttpClientImpl}; see {@link #needsLookup}. */
  void lookup(Object lookup);

  /** Called when {@code HttpRequestImpl} copies an application request. */
  void requestCopied(Object applicationRequest, Object requestImpl);

  /**
   * Called on entry to {@code HttpRequestImpl.getAddress()}: returns the endpoint to connect to
   * instead, or {@code null} to run the original (a request that is not meshed).
   *
   * @throws java.io.UncheckedIOException wrapping a {@link MeshRefusal} when the request must not
   *     be sent (a plain request to a destination that requires mesh TLS); woven code rethrows it
   */
  InetSocketAddress address(Object requestImpl);
}
