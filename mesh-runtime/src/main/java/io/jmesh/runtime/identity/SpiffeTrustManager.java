package io.jmesh.runtime.identity;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Set;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Accepts a peer only with a chain to this mesh's current trust anchors, valid now, naming one
 * SPIFFE identity of the trust domain; on the client side that identity must also be one the
 * control plane names for the destination (not merely any certificate of the mesh). Every
 * refusal is counted and carries a message that names the peer and what was expected.
 */
final class SpiffeTrustManager extends X509ExtendedTrustManager {
  private static final X509Certificate[] NONE = new X509Certificate[0];

  private final IdentityManager identity;
  private final TlsRefusals refusals;
  private final Clock clock;
  private final String destination; // null on the server side
  private final Set<SpiffeId> expected; // of the destination; unused on the server side

  SpiffeTrustManager(
      IdentityManager identity,
      TlsRefusals refusals,
      Clock clock,
      String destination,
      Set<SpiffeId> expected) {
    this.identity = identity;
    this.refusals = refusals;
    this.clock = clock;
    this.destination = destination;
    this.expected = expected == null ? Set.of() : Set.copyOf(expected);
  }

  private void check(X509Certificate[] chain, boolean peerIsServer) throws CertificateException {
    WorkloadCertificate own = identity.current();
    try {
      if (own == null) {
        throw new PeerRefusedException(
            TlsRefusals.Reason.NO_LOCAL_IDENTITY,
            "this workload (" + identity.id() + ") has no valid certificate, so it trusts no peer yet",
            null);
      }
      SpiffeId peer =
          PeerVerifier.verify(chain, own.anchors(), identity.id().trustDomain(), clock.instant());
      if (peerIsServer && !expected.contains(peer)) {
        throw new PeerRefusedException(
            TlsRefusals.Reason.WRONG_IDENTITY,
            "server identity " + peer + " is not one of " + expected + " expected for " + destination,
            null);
      }
    } catch (PeerRefusedException e) {
      refusals.record(e.reason());
      throw e;
    }
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    check(chain, false);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    check(chain, true);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    check(chain, false);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    check(chain, true);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    check(chain, false);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    check(chain, true);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    // No CA names in the CertificateRequest: the client has exactly one certificate to offer.
    return NONE;
  }
}
