package io.jmesh.instrumentation.grpc.v1_60;

import static net.bytebuddy.matcher.ElementMatchers.named;
import static net.bytebuddy.matcher.ElementMatchers.takesArguments;

import io.jmesh.agent.tooling.InstrumentationModule;
import io.jmesh.agent.tooling.TypeInstrumentation;
import io.jmesh.agent.tooling.TypeInstrumentation.AdviceBinding;
import java.util.List;

/**
 * gRPC-Java 1.60+: every channel of every transport (grpc-netty, grpc-netty-shaded, grpc-okhttp;
 * {@code ManagedChannelBuilder.forTarget/forAddress}, {@code Grpc.newChannelBuilder}, the
 * transports' own builders) is built by grpc-core's {@code ManagedChannelImplBuilder.build()}.
 * {@link ChannelBuildAdvice} gives a channel whose target is a mesh destination the runtime's
 * name resolver, load balancer and interceptor; other channels are left alone.
 */
public final class GrpcInstrumentationModule implements InstrumentationModule {
  static final String NAME = "grpc-1.60";
  private static final String PACKAGE = "io.jmesh.instrumentation.grpc.v1_60";

  // The agent jar relocates io.grpc (its own xDS client's copy) in every class it shades, string
  // constants included; this module weaves the application's io.grpc, so the name is built at run
  // time where the relocation cannot see it.
  private static final String CHANNEL_BUILDER =
      String.join(".", "io", "grpc", "internal", "ManagedChannelImplBuilder");

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public String supportedVersions() {
    return "gRPC-Java 1.60 and later (tested: 1.60.0, 1.76.0, 1.83.1)";
  }

  @Override
  public List<String> helperClassNames() {
    // By name: they extend gRPC types, absent from the agent's class loader.
    return List.of(
        PACKAGE + ".GrpcMeshChannels",
        PACKAGE + ".GrpcMeshChannels$Target",
        PACKAGE + ".GrpcStatuses",
        PACKAGE + ".MeshChannelTls",
        PACKAGE + ".MeshNameResolverProvider",
        PACKAGE + ".MeshNameResolver",
        PACKAGE + ".MeshLoadBalancerProvider",
        PACKAGE + ".MeshLoadBalancer",
        PACKAGE + ".MeshLoadBalancer$Sub",
        PACKAGE + ".MeshLoadBalancer$MeshPicker",
        PACKAGE + ".MeshLoadBalancer$ErrorPicker",
        PACKAGE + ".MeshClientInterceptor",
        PACKAGE + ".MeshClientInterceptor$MeshClientCall",
        PACKAGE + ".MeshClientInterceptor$MeshClientCall$AttemptListener",
        PACKAGE + ".MeshClientInterceptor$Op",
        PACKAGE + ".AttemptPick");
  }

  @Override
  public List<String> targetTypeNames() {
    // Constants, so that premain builds no ByteBuddy matcher (typeInstrumentations does).
    return List.of(CHANNEL_BUILDER);
  }

  @Override
  public List<TypeInstrumentation> typeInstrumentations() {
    return List.of(
        TypeInstrumentation.of(
            CHANNEL_BUILDER,
            new AdviceBinding(named("build").and(takesArguments(0)), ChannelBuildAdvice.class)));
  }
}
