package io.jmesh.instrumentation.grpc.v1_60;

import io.grpc.ChannelCredentials;
import io.grpc.TlsChannelCredentials;
import io.jmesh.bridge.AgentLog;
import io.jmesh.bridge.BridgeCalls;
import java.lang.reflect.Field;
import javax.net.ssl.KeyManager;
import javax.net.ssl.TrustManager;

/**
 * Gives a channel to a destination that requires mesh TLS the workload's identity: gRPC's own
 * {@link TlsChannelCredentials} built from the runtime's key and trust managers (JDK types, so one
 * recipe for every transport), turned into the transport's TLS by the transport itself. gRPC's
 * TLS offers ALPN {@code h2}; the runtime's managers present this workload's certificate and
 * accept only a server proving one of the destination's identities, whatever its host name.
 *
 * <p>Transport credentials are fixed when the transport builder is made, before the channel is
 * built; on the Netty transports (grpc-netty, grpc-netty-shaded) the builder's negotiator is
 * replaced through package-private fields, read by reflection:
 * {@code ManagedChannelImplBuilder.clientTransportFactoryBuilder} (an inner object of
 * {@code NettyChannelBuilder}) and {@code NettyChannelBuilder.protocolNegotiatorFactory}, set from
 * {@code ProtocolNegotiators.from(ChannelCredentials)} of the same package (the transport's own
 * translation of credentials, as {@code Grpc.newChannelBuilder} uses it). Where that
 * fails (another transport, another gRPC layout) the channel stays as built and {@link RpcState}
 * refuses its RPCs to mesh-TLS endpoints: never plaintext.
 */
final class MeshChannelTls {
  private MeshChannelTls() {}

  /**
   * Gives the channel mesh TLS to {@code host:port}; {@code false} when it could not (this
   * workload has no identity, or the transport is not one this class knows), logged once.
   */
  static boolean apply(Object channelImplBuilder, BridgeCalls calls, String host, int port) {
    KeyManager key = calls.meshKeyManager();
    TrustManager trust = calls.meshTrustManager(host, port);
    if (key == null || trust == null) {
      return false; // no identity: RpcState refuses, with the runtime's reason
    }
    ChannelCredentials credentials = TlsChannelCredentials.newBuilder().keyManager(key).trustManager(trust).build();
    try {
      Object factoryBuilder = field(channelImplBuilder.getClass(), "clientTransportFactoryBuilder").get(channelImplBuilder);
      Object transportBuilder = field(factoryBuilder.getClass(), "this$0").get(factoryBuilder);
      Class<?> type = transportBuilder.getClass();
      Class<?> negotiators =
          Class.forName(type.getPackageName() + ".ProtocolNegotiators", false, type.getClassLoader());
      // The class is package-private: its public members need setAccessible too.
      java.lang.reflect.Method from = negotiators.getMethod("from", ChannelCredentials.class);
      from.setAccessible(true);
      Object result = from.invoke(null, credentials);
      Object error = field(result.getClass(), "error").get(result);
      if (error != null) {
        throw new IllegalStateException(type.getName() + " refused TLS credentials: " + error);
      }
      Object negotiator = field(result.getClass(), "negotiator").get(result);
      field(type, "protocolNegotiatorFactory").set(transportBuilder, negotiator);
      return true;
    } catch (ReflectiveOperationException | RuntimeException e) {
      if (UNSUPPORTED_LOGGED.compareAndSet(false, true)) {
        AgentLog.warn(
            "grpc-1.60: cannot give channels to " + host + ":" + port + " mesh TLS on this transport ("
                + channelImplBuilder.getClass().getName() + "; expected: grpc-netty or grpc-netty-shaded);"
                + " their RPCs to mesh-TLS destinations are refused (logged once)",
            e);
      }
      return false;
    }
  }

  private static final java.util.concurrent.atomic.AtomicBoolean UNSUPPORTED_LOGGED =
      new java.util.concurrent.atomic.AtomicBoolean();

  private static Field field(Class<?> type, String name) throws NoSuchFieldException {
    for (Class<?> c = type; c != null; c = c.getSuperclass()) {
      try {
        Field f = c.getDeclaredField(name);
        f.setAccessible(true);
        return f;
      } catch (NoSuchFieldException e) {
        // look in the superclass
      }
    }
    throw new NoSuchFieldException(type.getName() + "." + name);
  }
}
