package io.jmesh.instrumentation.grpc.v1_60;

import io.grpc.ManagedChannelBuilder;
import io.grpc.internal.GrpcUtil;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.util.Version;
import org.junit.jupiter.api.condition.EnabledIf;

/**
 * The gRPC conformance suite on grpc-netty (the application's own Netty).
 *
 * <p>Runs only where that grpc-netty works on that Netty. grpc-netty before 1.65 gives every
 * connection its {@code NettyAdaptiveCumulator}, which Netty's buffer changes of 4.1.111 (and so
 * every Netty 4.2) break: the HTTP/2 decoder is now and then handed stale bytes, and a DATA
 * frame's payload carries the raw bytes of the response's own HEADERS and DATA frame headers, so
 * the RPC fails with {@code INTERNAL: Encountered end-of-stream mid-frame} (grpc-java#11284, with
 * or without jmesh; caught here by frame logs of grpc-netty 1.60.0 on Netty 4.2.18). An
 * application with grpc-netty 1.60 has the Netty 4.1.100 it declares: the {@code grpc-netty-oldest}
 * execution runs this class that way, and the Netty 4.2 ones report it as skipped with this
 * reason instead of failing at random.
 */
@EnabledIf(
    value = "grpcNettyWorksOnThisNetty",
    disabledReason = "grpc-netty before 1.65 corrupts inbound frames on Netty 4.1.111 or later (grpc-java#11284); "
        + "the grpc-netty-oldest execution runs it on the Netty its version declares")
class GrpcNettyMeshIT extends AbstractMeshGrpcClientTest {
  static boolean grpcNettyWorksOnThisNetty() {
    String grpc = GrpcUtil.getGrpcBuildVersion().getImplementationVersion();
    Version codec = Version.identify(GrpcNettyMeshIT.class.getClassLoader()).get("netty-codec-http2");
    if (grpc == null || codec == null) {
      return true; // versions unknown: run, and let a failure speak
    }
    return !(olderThan(grpc, 1, 65, 0) && !olderThan(codec.artifactVersion(), 4, 1, 111));
  }

  /** Whether {@code version} ("1.60.0", "4.2.18.Final") is below major.minor.patch. */
  static boolean olderThan(String version, int major, int minor, int patch) {
    String[] parts = version.split("[.-]");
    int[] want = {major, minor, patch};
    for (int i = 0; i < want.length; i++) {
      int have = i < parts.length && parts[i].matches("\\d+") ? Integer.parseInt(parts[i]) : 0;
      if (have != want[i]) {
        return have < want[i];
      }
    }
    return false;
  }

  @Override
  protected ManagedChannelBuilder<?> forTarget(String target) {
    return NettyChannelBuilder.forTarget(target);
  }

  @Override
  protected ManagedChannelBuilder<?> forAddress(String host, int port) {
    return NettyChannelBuilder.forAddress(host, port);
  }
}
