package io.jmesh.instrumentation.grpc.v1_60;

import io.grpc.LoadBalancerRegistry;
import io.grpc.ManagedChannelBuilder;
import io.jmesh.bridge.BridgeCalls;
import io.jmesh.bridge.MeshBridge;
import java.lang.reflect.Field;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * Injected beside the application's gRPC. Decides, as a channel is built, whether its target is a
 * mesh destination and if so gives it the mesh's name resolver, load balancing policy and
 * interceptor through the builder's own public methods.
 *
 * <p>Reads two package-private fields of grpc-core's {@code ManagedChannelImplBuilder} by
 * reflection ({@code target}; {@code nameResolverProvider}, which {@code Grpc.newChannelBuilder}
 * may set and which would win over the resolver given here); where they are missing the channel
 * is left unmeshed.
 */
public final class GrpcMeshChannels {
  private GrpcMeshChannels() {}

  /** The scheme of the mesh resolver for targets written without one ({@code hello:8080}). */
  static final String SCHEME = "jmesh";

  private static final Map<Object, Boolean> MESHED = Collections.synchronizedMap(new WeakHashMap<>());

  static {
    // One policy per class loader holding gRPC; the registry is that copy's.
    LoadBalancerRegistry.getDefaultRegistry().register(new MeshLoadBalancerProvider());
  }

  /** Called at the start of {@code ManagedChannelImplBuilder.build()}. */
  public static void channelBuilding(Object builder) throws ReflectiveOperationException {
    BridgeCalls calls = MeshBridge.calls();
    if (calls == null) {
      return;
    }
    Object target = field(builder.getClass(), "target").get(builder);
    if (!(target instanceof String)) {
      return; // forAddress(SocketAddress): a direct address, never a mesh name
    }
    Target t = Target.parse((String) target);
    if (t == null || calls.endpoints(t.host, t.port) == null) {
      return;
    }
    if (MESHED.put(builder, Boolean.TRUE) != null) {
      return; // built twice: the resolver, policy and interceptor are in place already
    }
    ManagedChannelBuilder<?> b = (ManagedChannelBuilder<?>) builder;
    b.nameResolverFactory(new MeshNameResolverProvider(t.scheme == null ? SCHEME : t.scheme, t.host, t.port));
    try {
      field(builder.getClass(), "nameResolverProvider").set(builder, null);
    } catch (NoSuchFieldException e) {
      // Older grpc-core: the registry set above is all there is.
    }
    b.defaultLoadBalancingPolicy(MeshLoadBalancerProvider.POLICY);
    // Security fails closed: a channel that could not get mesh TLS refuses RPCs to TLS endpoints.
    boolean meshTls = calls.requiresMeshTls(t.host, t.port) && MeshChannelTls.apply(builder, calls, t.host, t.port);
    b.intercept(new MeshClientInterceptor(t.host, t.port, meshTls));
  }

  private static Field field(Class<?> type, String name) throws NoSuchFieldException {
    Field f = type.getDeclaredField(name);
    f.setAccessible(true);
    return f;
  }

  /** A channel target that may name a mesh destination: {@code host:port} or {@code dns:///host:port}. */
  static final class Target {
    final String scheme; // null when the target has none
    final String host;
    final int port;

    private Target(String scheme, String host, int port) {
      this.scheme = scheme;
      this.host = host;
      this.port = port;
    }

    /** The target's host and port, or {@code null} when it cannot name a mesh destination. */
    static Target parse(String target) {
      String scheme = null;
      String rest = target;
      int sep = target.indexOf("://");
      if (sep > 0) {
        scheme = target.substring(0, sep);
        if (!scheme.equalsIgnoreCase("dns")) {
          return null; // unix:, xds:, a custom resolver: the application's choice stands
        }
        rest = target.substring(sep + 3);
        int slash = rest.indexOf('/');
        if (slash < 0) {
          return null;
        }
        rest = rest.substring(slash + 1); // dns://[resolver]/host:port
      }
      int colon = rest.lastIndexOf(':');
      if (colon <= 0 || rest.indexOf('/') >= 0 || rest.startsWith("[")) {
        return null; // no port (the mesh is keyed by host and port), a path, or an IPv6 literal
      }
      try {
        int port = Integer.parseInt(rest.substring(colon + 1));
        return port > 0 && port < 65536 ? new Target(scheme, rest.substring(0, colon), port) : null;
      } catch (NumberFormatException e) {
        return null;
      }
    }
  }
}
