package io.jmesh.runtime.identity;

import java.security.GeneralSecurityException;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Objects;
import java.util.Set;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * TLS between meshed workloads: TLS 1.3 only, this workload's current certificate presented on
 * both sides, peers checked by {@link SpiffeTrustManager}. The contexts read the identity at each
 * handshake, so they are built once and survive renewals. Thread-safe.
 */
public final class MeshTls {
  static final String[] PROTOCOLS = {"TLSv1.3"};

  private final IdentityManager identity;
  private final TlsRefusals refusals;
  private final Clock clock;
  private final SSLContext server;

  public MeshTls(IdentityManager identity, TlsRefusals refusals, Clock clock) {
    this.identity = Objects.requireNonNull(identity, "identity");
    this.refusals = Objects.requireNonNull(refusals, "refusals");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.server = context(new SpiffeTrustManager(identity, refusals, clock, null, null));
  }

  public IdentityManager identity() {
    return identity;
  }

  public TlsRefusals refusals() {
    return refusals;
  }

  /**
   * The inbound side: requires a client certificate of this mesh; which identities may call what
   * is authorization's business, after the handshake ({@link #peerIdentity}).
   */
  public SSLContext serverContext() {
    return server;
  }

  /** A server engine configured for the mesh: TLS 1.3, client certificate required. */
  public SSLEngine newServerEngine() {
    SSLEngine engine = server.createSSLEngine();
    engine.setUseClientMode(false);
    engine.setEnabledProtocols(PROTOCOLS);
    engine.setNeedClientAuth(true);
    return engine;
  }

  /**
   * The outbound side for one destination: the server must prove one of {@code expected}, the
   * identities the control plane names for {@code destination}. Build one per destination and
   * keep it while its expected identities do not change.
   */
  public SSLContext clientContext(String destination, Set<SpiffeId> expected) {
    Objects.requireNonNull(destination, "destination");
    if (expected == null || expected.isEmpty()) {
      throw new IllegalArgumentException(
          "expected identities of " + destination + ": " + expected + " (expected: at least one SPIFFE id)");
    }
    return context(new SpiffeTrustManager(identity, refusals, clock, destination, expected));
  }

  /**
   * This workload's certificate as a key manager, for clients whose TLS is configured with key and
   * trust managers rather than an {@link SSLContext} (gRPC's {@code TlsChannelCredentials}). It
   * reads the identity at each handshake, so renewals apply without a new manager.
   */
  public X509ExtendedKeyManager keyManager() {
    return new IdentityKeyManager(identity);
  }

  /**
   * The trust half of {@link #clientContext}: the server must prove one of {@code expected}, and
   * host names play no part (it ignores endpoint identification).
   */
  public X509ExtendedTrustManager clientTrustManager(String destination, Set<SpiffeId> expected) {
    Objects.requireNonNull(destination, "destination");
    if (expected == null || expected.isEmpty()) {
      throw new IllegalArgumentException(
          "expected identities of " + destination + ": " + expected + " (expected: at least one SPIFFE id)");
    }
    return new SpiffeTrustManager(identity, refusals, clock, destination, expected);
  }

  /**
   * The SPIFFE identity the peer of a finished handshake proved.
   *
   * @throws SSLPeerUnverifiedException when the session has no verified peer
   */
  public static SpiffeId peerIdentity(SSLSession session) throws SSLPeerUnverifiedException {
    Certificate[] chain = session.getPeerCertificates();
    try {
      return PeerVerifier.identity((X509Certificate) chain[0]);
    } catch (PeerRefusedException e) {
      throw new SSLPeerUnverifiedException(e.getMessage());
    }
  }

  private SSLContext context(TrustManager trust) {
    try {
      SSLContext context = SSLContext.getInstance("TLSv1.3");
      context.init(new KeyManager[] {new IdentityKeyManager(identity)}, new TrustManager[] {trust}, null);
      return context;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JDK offers no TLS 1.3 context", e);
    }
  }
}
