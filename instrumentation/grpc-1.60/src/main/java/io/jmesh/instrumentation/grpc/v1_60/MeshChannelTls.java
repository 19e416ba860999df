package io.jmesh.instrumentation.grpc.v1_60;

import io.grpc.ChannelCredentials;
import io.grpc.TlsChannelCredentials;
import io.jmesh.bridge.AgentLog;
import io.jmesh.bridge.BridgeCalls;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import javax.net.ssl.HostnameVerifier;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLSocketFactory;
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
 * translation of credentials, as {@code Grpc.newChannelBuilder} uses it). On grpc-okhttp the
 * builder ({@code OkHttpChannelBuilder}, reached the same way) gets the socket factory that its
 * own {@code sslSocketFactoryFrom(ChannelCredentials)} makes, and negotiation type {@code TLS}.
 * Where that fails (another transport, another gRPC layout) the channel stays as built and
 * {@link AttemptPick} refuses its RPCs to mesh-TLS endpoints: never plaintext.
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
      return false; // no identity: the runtime refuses, with its reason
    }
    ChannelCredentials credentials = TlsChannelCredentials.newBuilder().keyManager(key).trustManager(trust).build();
    try {
      Object factoryBuilder = field(channelImplBuilder.getClass(), "clientTransportFactoryBuilder").get(channelImplBuilder);
      Object transportBuilder = field(factoryBuilder.getClass(), "this$0").get(factoryBuilder);
      if (transportBuilder.getClass().getName().equals(OKHTTP_BUILDER)) {
        okHttp(transportBuilder, credentials);
      } else {
        netty(transportBuilder, credentials);
      }
      return true;
    } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
      // LinkageError too: a class missing from this gRPC layout must not leave the channel half
      // meshed (the caller still gives it the interceptor that refuses mesh-TLS endpoints).
      if (UNSUPPORTED_LOGGED.compareAndSet(false, true)) {
        AgentLog.warn(
            "grpc-1.60: cannot give channels to " + host + ":" + port + " mesh TLS on this transport ("
                + channelImplBuilder.getClass().getName() + "; expected: grpc-netty, grpc-netty-shaded or grpc-okhttp);"
                + " their RPCs to mesh-TLS destinations are refused (logged once)",
            e);
      }
      return false;
    }
  }

  private static final String OKHTTP_BUILDER = "io.grpc.okhttp.OkHttpChannelBuilder";
  /** TLS 1.3's cipher suites, as the JDK names them (RFC 8446, B.4). */
  private static final String[] TLS13_CIPHER_SUITES = {
    "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"
  };

  /**
   * grpc-netty, grpc-netty-shaded: the negotiator that {@code ProtocolNegotiators.from} of the
   * transport's own package makes of the credentials replaces the builder's.
   */
  private static void netty(Object transportBuilder, ChannelCredentials credentials) throws ReflectiveOperationException {
    Class<?> type = transportBuilder.getClass();
    Class<?> negotiators = Class.forName(type.getPackageName() + ".ProtocolNegotiators", false, type.getClassLoader());
    // The class is package-private: its public members need setAccessible too.
    Method from = negotiators.getMethod("from", ChannelCredentials.class);
    from.setAccessible(true);
    Object result = from.invoke(null, credentials);
    Object error = field(result.getClass(), "error").get(result);
    if (error != null) {
      throw new IllegalStateException(type.getName() + " refused TLS credentials: " + error);
    }
    Object negotiator = field(result.getClass(), "negotiator").get(result);
    field(type, "protocolNegotiatorFactory").set(transportBuilder, negotiator);
  }

  /**
   * grpc-okhttp: {@code OkHttpChannelBuilder.sslSocketFactoryFrom(ChannelCredentials)} (the
   * transport's own translation, as {@code OkHttpChannelBuilder.forTarget(target, credentials)}
   * uses it; 1.60 through 1.76 at least) makes the socket factory, set with the negotiation type
   * {@code TLS} and a TLS 1.3 connection spec into the builder's private fields (its public
   * setters refuse a builder made from credentials, and its {@code connectionSpec} setter takes a
   * type of the optional com.squareup.okhttp). grpc-okhttp checks the host name after the handshake with its own verifier
   * unless given one; a mesh server proves a SPIFFE id and no host name, which the trust manager
   * has checked during the handshake, so the verifier given here accepts what it let through.
   */
  private static void okHttp(Object transportBuilder, ChannelCredentials credentials) throws ReflectiveOperationException {
    Class<?> type = transportBuilder.getClass();
    // Looked up by name and type, not with getDeclaredMethod: that resolves every method of the
    // class, and one takes a type of the optional com.squareup.okhttp, absent from applications.
    Class<?> resultType = Class.forName(type.getName() + "$SslSocketFactoryResult", false, type.getClassLoader());
    MethodHandle from =
        MethodHandles.privateLookupIn(type, MethodHandles.lookup())
            .findStatic(type, "sslSocketFactoryFrom", MethodType.methodType(resultType, ChannelCredentials.class));
    Object result;
    try {
      result = from.invoke(credentials);
    } catch (Error | RuntimeException | ReflectiveOperationException e) {
      throw e;
    } catch (Throwable e) {
      throw new IllegalStateException(type.getName() + ".sslSocketFactoryFrom failed", e);
    }
    Object error = field(result.getClass(), "error").get(result);
    Object factory = field(result.getClass(), "factory").get(result);
    if (error != null || !(factory instanceof SSLSocketFactory)) {
      throw new IllegalStateException(type.getName() + " refused TLS credentials: " + error + " (factory: " + factory + ")");
    }
    Field negotiation = field(type, "negotiationType");
    @SuppressWarnings({"unchecked", "rawtypes"})
    Object tls = Enum.valueOf((Class) negotiation.getType(), "TLS");
    // grpc-okhttp's default connection spec offers TLS 1.2 only; the mesh speaks TLS 1.3 (the
    // inbound terminator accepts nothing older). With TLS extensions, for ALPN h2.
    Class<?> specBuilderType = Class.forName("io.grpc.okhttp.internal.ConnectionSpec$Builder", false, type.getClassLoader());
    Object specBuilder = specBuilderType.getConstructor(boolean.class).newInstance(true);
    specBuilderType.getMethod("tlsVersions", String[].class).invoke(specBuilder, (Object) new String[] {"TLSv1.3"});
    specBuilderType.getMethod("cipherSuites", String[].class).invoke(specBuilder, (Object) TLS13_CIPHER_SUITES);
    specBuilderType.getMethod("supportsTlsExtensions", boolean.class).invoke(specBuilder, true);
    Object spec = specBuilderType.getMethod("build").invoke(specBuilder);
    // Negotiation type last: a failure half way leaves a plaintext builder, which AttemptPick keeps
    // away from mesh-TLS endpoints (apply returns false).
    field(type, "connectionSpec").set(transportBuilder, spec);
    field(type, "hostnameVerifier").set(transportBuilder, (HostnameVerifier) (host, session) -> true);
    field(type, "sslSocketFactory").set(transportBuilder, factory);
    negotiation.set(transportBuilder, tls);
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
