package io.jmesh.runtime.identity;

import java.security.GeneralSecurityException;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Arrays;
import java.util.Collection;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Checks a certificate chain the way a mesh peer must be checked: it leads (PKIX, RFC 5280) to
 * one of the mesh's trust anchors, every certificate is valid at the given instant, and the leaf
 * names exactly one SPIFFE identity, in the mesh's trust domain. Hostnames play no part: in a
 * mesh the identity is the name (as in Istio and Linkerd). Revocation is not checked; leaves live
 * 24 hours instead.
 */
final class PeerVerifier {
  private PeerVerifier() {}

  /**
   * @param chain the peer's chain, leaf first
   * @return the leaf's SPIFFE identity
   * @throws PeerRefusedException with the reason and a message naming the peer
   */
  static SpiffeId verify(
      X509Certificate[] chain, Collection<X509Certificate> anchors, String trustDomain, Instant at)
      throws PeerRefusedException {
    if (chain == null || chain.length == 0) {
      throw new PeerRefusedException(TlsRefusals.Reason.NO_IDENTITY, "peer sent no certificate", null);
    }
    X509Certificate leaf = chain[0];
    Set<TrustAnchor> trust = new HashSet<>();
    for (X509Certificate a : anchors) {
      trust.add(new TrustAnchor(a, null));
    }
    if (trust.isEmpty()) {
      throw new PeerRefusedException(
          TlsRefusals.Reason.NO_LOCAL_IDENTITY, "no trust anchors yet: cannot check " + describe(leaf), null);
    }
    try {
      // The path excludes a trailing anchor the peer may have sent along.
      List<X509Certificate> path = Arrays.asList(chain);
      if (path.size() > 1 && isSelfSigned(path.get(path.size() - 1))) {
        path = path.subList(0, path.size() - 1);
      }
      PKIXParameters params = new PKIXParameters(trust);
      params.setRevocationEnabled(false);
      params.setDate(Date.from(at));
      CertPathValidator.getInstance("PKIX")
          .validate(CertificateFactory.getInstance("X.509").generateCertPath(path), params);
    } catch (CertPathValidatorException e) {
      boolean expired =
          e.getReason() == CertPathValidatorException.BasicReason.EXPIRED
              || e.getReason() == CertPathValidatorException.BasicReason.NOT_YET_VALID;
      if (expired) {
        throw new PeerRefusedException(
            TlsRefusals.Reason.EXPIRED,
            describe(leaf) + ": a certificate of its chain is not valid at " + at + " (" + e.getMessage() + ")",
            e);
      }
      throw new PeerRefusedException(
          TlsRefusals.Reason.UNTRUSTED_CHAIN,
          describe(leaf) + ": chain does not lead to a trust anchor of this mesh (" + e.getMessage() + ")",
          e);
    } catch (GeneralSecurityException e) {
      throw new PeerRefusedException(
          TlsRefusals.Reason.UNTRUSTED_CHAIN, describe(leaf) + ": cannot check the chain: " + e, e);
    }
    SpiffeId id = identity(leaf);
    if (!id.trustDomain().equals(trustDomain)) {
      throw new PeerRefusedException(
          TlsRefusals.Reason.NO_IDENTITY,
          "peer identity " + id + " is not of trust domain " + trustDomain,
          null);
    }
    return id;
  }

  /** The one SPIFFE URI of {@code leaf}'s subject alternative names. */
  static SpiffeId identity(X509Certificate leaf) throws PeerRefusedException {
    Collection<List<?>> names;
    try {
      names = leaf.getSubjectAlternativeNames();
    } catch (CertificateParsingException e) {
      throw new PeerRefusedException(TlsRefusals.Reason.NO_IDENTITY, describe(leaf) + ": unreadable subject alternative names", e);
    }
    String uri = null;
    int uris = 0;
    if (names != null) {
      for (List<?> n : names) {
        if (Integer.valueOf(6).equals(n.get(0))) { // 6: uniformResourceIdentifier
          uris++;
          uri = String.valueOf(n.get(1));
        }
      }
    }
    if (uris != 1) {
      throw new PeerRefusedException(
          TlsRefusals.Reason.NO_IDENTITY,
          describe(leaf) + ": " + uris + " URI subject alternative names (expected: exactly one SPIFFE id)",
          null);
    }
    try {
      return SpiffeId.parse(uri);
    } catch (IllegalArgumentException e) {
      throw new PeerRefusedException(TlsRefusals.Reason.NO_IDENTITY, describe(leaf) + ": " + e.getMessage(), e);
    }
  }

  static boolean isSelfSigned(X509Certificate c) {
    if (!c.getSubjectX500Principal().equals(c.getIssuerX500Principal())) {
      return false;
    }
    try {
      c.verify(c.getPublicKey());
      return true;
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  private static String describe(X509Certificate leaf) {
    return "peer certificate (serial " + leaf.getSerialNumber().toString(16) + ", issuer \""
        + leaf.getIssuerX500Principal().getName() + "\")";
  }
}
