package io.jmesh.instrumentation.okhttp.v3_0;

import java.util.List;
import okhttp3.Interceptor;
import okhttp3.OkHttpClient;

/**
 * Injected into the class loader that holds OkHttp. Uses only OkHttp API present from 3.0 to
 * 5.x and the bridge.
 */
public final class OkHttpHelper {
  private OkHttpHelper() {}

  /**
   * Makes {@link MeshInterceptor} the builder's last application interceptor, exactly once, even
   * when the builder came from {@code client.newBuilder()} of a client that already had it.
   */
  public static void addMeshInterceptor(Object builder) {
    List<Interceptor> interceptors = ((OkHttpClient.Builder) builder).interceptors();
    interceptors.removeIf(i -> i instanceof MeshInterceptor);
    interceptors.add(new MeshInterceptor());
  }

  /** Tells the client's {@link MeshInterceptor} which client it belongs to, once it is built. */
  public static void clientBuilt(Object client) {
    for (Interceptor i : ((OkHttpClient) client).interceptors()) {
      if (i instanceof MeshInterceptor) {
        ((MeshInterceptor) i).builtInto((OkHttpClient) client);
      }
    }
  }
}
