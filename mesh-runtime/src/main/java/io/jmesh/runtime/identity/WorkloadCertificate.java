package io.jmesh.runtime.identity;

import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * This workload's proof of identity: its private key (in memory only), its leaf certificate with
 * the issuer chain, and the trust anchors the CA sent along. Immutable; a renewal makes a new one.
 */
public final class WorkloadCertificate {
  private final SpiffeId id;
  private final PrivateKey key;
  private final X509Certificate[] chain;
  private final List<X509Certificate> anchors;
  private final String alias;

  private WorkloadCertificate(
      SpiffeId id, PrivateKey key, X509Certificate[] chain, List<X509Certificate> anchors) {
    this.id = id;
    this.key = key;
    this.chain = chain;
    this.anchors = List.copyOf(anchors);
    this.alias = "jmesh-" + chain[0].getSerialNumber().toString(16);
  }

  /**
   * Checks the CA's answer to a CSR made with {@code keys} for {@code expected}: certificates in the
   * proto's order (leaf, issuers, anchors), the leaf for this key and this identity, and the chain
   * leading to one of the anchors at {@code now}.
   *
   * @throws GeneralSecurityException naming what is wrong with the answer
   */
  static WorkloadCertificate fromCaAnswer(
      KeyPair keys, List<String> pemChain, SpiffeId expected, Instant now)
      throws GeneralSecurityException {
    List<X509Certificate> all = new ArrayList<>();
    for (String pem : pemChain) {
      all.addAll(Pem.certificates(pem));
    }
    if (all.isEmpty()) {
      throw new GeneralSecurityException("CA answer holds no certificate");
    }
    X509Certificate leaf = all.get(0);
    if (!leaf.getPublicKey().equals(keys.getPublic())) {
      throw new GeneralSecurityException(
          "CA answer: the leaf (serial " + leaf.getSerialNumber().toString(16) + ") is not for the key of the CSR");
    }
    List<X509Certificate> issuers = new ArrayList<>();
    List<X509Certificate> anchors = new ArrayList<>();
    for (X509Certificate c : all.subList(1, all.size())) {
      (PeerVerifier.isSelfSigned(c) ? anchors : issuers).add(c);
    }
    if (anchors.isEmpty()) {
      throw new GeneralSecurityException("CA answer holds no trust anchor (expected: leaf, issuers, then self-signed anchors)");
    }
    List<X509Certificate> chain = new ArrayList<>();
    chain.add(leaf);
    chain.addAll(issuers);
    X509Certificate[] array = chain.toArray(new X509Certificate[0]);
    SpiffeId got = PeerVerifier.verify(array, anchors, expected.trustDomain(), now);
    if (!got.equals(expected)) {
      throw new GeneralSecurityException("CA answer: the leaf names " + got + " (expected: " + expected + ")");
    }
    return new WorkloadCertificate(expected, keys.getPrivate(), array, anchors);
  }

  public SpiffeId id() {
    return id;
  }

  PrivateKey key() {
    return key;
  }

  /** Leaf first, then the issuers; without the anchors. */
  public X509Certificate[] chain() {
    return chain.clone();
  }

  X509Certificate[] chainView() {
    return chain;
  }

  public List<X509Certificate> anchors() {
    return anchors;
  }

  public Instant notBefore() {
    return chain[0].getNotBefore().toInstant();
  }

  public Instant notAfter() {
    return chain[0].getNotAfter().toInstant();
  }

  public Duration lifetime() {
    return Duration.between(notBefore(), notAfter());
  }

  /** When to renew: two thirds into the leaf's life (as Istio and Linkerd do). */
  public Instant renewAt() {
    return notBefore().plus(lifetime().multipliedBy(2).dividedBy(3));
  }

  /** The key manager's alias of this certificate: unique per leaf. */
  String alias() {
    return alias;
  }

  @Override
  public String toString() {
    return id + " (serial " + chain[0].getSerialNumber().toString(16) + ", valid until " + notAfter()
        + ", " + Arrays.asList(chain).size() + " certificates, " + anchors.size() + " anchors)";
  }
}
