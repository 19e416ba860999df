package io.jmesh.instrumentation.grpc.v1_60;

import io.grpc.ManagedChannelBuilder;
import io.grpc.okhttp.OkHttpChannelBuilder;
import org.junit.jupiter.api.condition.EnabledIf;

/**
 * The gRPC conformance suite on grpc-okhttp. It runs in the failsafe execution {@code grpc-oldest}
 * (the older gRPC-Java line, whose grpc-okhttp this machine's registry mirror serves); the default
 * execution (the root pin, whose grpc-okhttp the mirror lacks) has no grpc-okhttp on its
 * classpath and reports this class as skipped rather than running it against mixed versions.
 */
@EnabledIf(value = "okHttpOnClasspath", disabledReason = "grpc-okhttp is not on this execution's classpath (see pom: grpc-oldest)")
class GrpcOkHttpMeshIT extends AbstractMeshGrpcClientTest {
  static boolean okHttpOnClasspath() {
    try {
      Class.forName("io.grpc.okhttp.OkHttpChannelBuilder", false, GrpcOkHttpMeshIT.class.getClassLoader());
      return true;
    } catch (ClassNotFoundException e) {
      return false;
    }
  }

  @Override
  protected ManagedChannelBuilder<?> forTarget(String target) {
    return OkHttp.forTarget(target);
  }

  @Override
  protected ManagedChannelBuilder<?> forAddress(String host, int port) {
    return OkHttp.forAddress(host, port);
  }

  /**
   * The only class naming grpc-okhttp: verifying a method that returns an
   * {@code OkHttpChannelBuilder} as a {@code ManagedChannelBuilder} loads it, so in the test class
   * itself that would fail test discovery where grpc-okhttp is absent instead of skipping.
   */
  private static final class OkHttp {
    static ManagedChannelBuilder<?> forTarget(String target) {
      return OkHttpChannelBuilder.forTarget(target);
    }

    static ManagedChannelBuilder<?> forAddress(String host, int port) {
      return OkHttpChannelBuilder.forAddress(host, port);
    }
  }
}
