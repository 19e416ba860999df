package io.jmesh.controller.ca;

import io.jmesh.runtime.identity.SpiffeId;
import java.io.IOException;
import java.io.StringReader;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.List;
import java.util.Objects;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.pkcs.Attribute;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCSException;

/**
 * Checks a workload's certificate signing request and signs its leaf, an X509-SVID whose only
 * subject alternative name is the caller's SPIFFE id, with the issuer of a {@link CaStore}.
 *
 * <p>It refuses, with a {@link CertificateRequestException} naming what was asked and what was
 * expected: as {@code INVALID}, a CSR that does not parse, whose signature does not verify with its
 * own key, whose key is RSA under 2048 bits, or that asks for anything but exactly one URI SAN; as
 * {@code FORBIDDEN}, a CSR for another identity or trust domain than the caller's. It never reads
 * or writes a file.
 *
 * <p>Thread-safety: immutable; {@link #sign} may be called from any thread.
 */
final class LeafSigner {
  /** The leaf lifetime when the caller asks for none, if the maximum allows it. */
  static final Duration DEFAULT_LEAF_LIFETIME = Duration.ofHours(24);

  private final String trustDomain;
  private final Duration maxLeafLifetime;
  private final Clock clock;
  private final SecureRandom random;
  private final X509Certificate issuer;
  private final PrivateKey issuerKey;
  private final String issuerPem;
  private final List<String> anchorPems;

  LeafSigner(
      CaStore store,
      String trustDomain,
      Duration maxLeafLifetime,
      Clock clock,
      SecureRandom random) {
    this.trustDomain = trustDomain;
    this.maxLeafLifetime = maxLeafLifetime;
    this.clock = clock;
    this.random = random;
    this.issuer = store.issuer();
    this.issuerKey = store.issuerKey();
    this.issuerPem = Pem.encode(issuer);
    List<String> pems = new ArrayList<>();
    for (X509Certificate anchor : store.anchors()) {
      pems.add(Pem.encode(anchor));
    }
    this.anchorPems = List.copyOf(pems);
  }

  /**
   * Parses the PEM text of a PKCS#10 request, as {@code IstioCertificateRequest.csr} carries it.
   *
   * @throws CertificateRequestException ({@link CertificateRequestException.Kind#INVALID}) naming
   *     the problem
   */
  static PKCS10CertificationRequest parseCsr(String pem) throws CertificateRequestException {
    List<Object> objects;
    try {
      objects = Pem.parse("csr", new StringReader(pem));
    } catch (IOException e) {
      throw invalid(e.getMessage());
    }
    if (objects.size() != 1 || !(objects.get(0) instanceof PKCS10CertificationRequest)) {
      throw invalid(
          "csr: holds "
              + (objects.isEmpty() ? "no PEM block" : objects.size() + " PEM blocks")
              + " (expected: one CERTIFICATE REQUEST)");
    }
    return (PKCS10CertificationRequest) objects.get(0);
  }

  /** What {@link CertificateAuthority#sign} documents. */
  List<String> sign(PKCS10CertificationRequest csr, SpiffeId caller, Duration requested)
      throws CertificateRequestException {
    Objects.requireNonNull(csr, "csr");
    Objects.requireNonNull(caller, "caller");
    if (!caller.trustDomain().equals(trustDomain)) {
      throw forbidden(
          "the caller "
              + caller
              + " is in trust domain "
              + caller.trustDomain()
              + " (expected: "
              + trustDomain
              + ")");
    }
    PublicKey key = verifiedKey(csr);
    String uri = requestedUri(csr, caller);
    if (!uri.equals(caller.toString())) {
      SpiffeId asked = null;
      try {
        asked = SpiffeId.parse(uri);
      } catch (IllegalArgumentException notSpiffe) {
        // Not a SPIFFE id: still refused as not the caller's, below.
      }
      if (asked != null && !asked.trustDomain().equals(trustDomain)) {
        throw forbidden(
            "CSR asks for "
                + uri
                + " in trust domain "
                + asked.trustDomain()
                + " (expected: "
                + trustDomain
                + ")");
      }
      throw forbidden("CSR asks for " + uri + " but the caller is " + caller);
    }

    Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
    Instant issuerEnd = issuer.getNotAfter().toInstant();
    if (!now.isBefore(issuerEnd)) {
      // Checked at load; reached only by a controller that ran past its issuer's end.
      throw new IllegalStateException(
          "issuer " + issuer.getSubjectX500Principal() + ": expired at " + issuerEnd);
    }
    Duration lifetime =
        requested == null || requested.isNegative() || requested.isZero()
            ? DEFAULT_LEAF_LIFETIME
            : requested;
    if (lifetime.compareTo(maxLeafLifetime) > 0) {
      lifetime = maxLeafLifetime;
    }
    Instant notAfter = now.plus(lifetime);
    if (notAfter.isAfter(issuerEnd)) {
      notAfter = issuerEnd;
    }
    try {
      JcaX509ExtensionUtils ids = new JcaX509ExtensionUtils();
      SubjectPublicKeyInfo info = csr.getSubjectPublicKeyInfo();
      X509v3CertificateBuilder leaf =
          new X509v3CertificateBuilder(
                  X500Name.getInstance(issuer.getSubjectX500Principal().getEncoded()),
                  Certificates.serial(random),
                  Date.from(now.minus(Certificates.CLOCK_SKEW)),
                  Date.from(notAfter),
                  new X500Name(new RDN[0]),
                  info)
              .addExtension(
                  Extension.subjectAlternativeName,
                  true,
                  new GeneralNames(
                      new GeneralName(GeneralName.uniformResourceIdentifier, caller.toString())))
              .addExtension(
                  Extension.keyUsage,
                  true,
                  new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment))
              .addExtension(
                  Extension.extendedKeyUsage,
                  false,
                  new ExtendedKeyUsage(
                      new KeyPurposeId[] {
                        KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth
                      }))
              .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
              .addExtension(
                  Extension.authorityKeyIdentifier,
                  false,
                  ids.createAuthorityKeyIdentifier(issuer.getPublicKey()))
              .addExtension(
                  Extension.subjectKeyIdentifier, false, ids.createSubjectKeyIdentifier(key));
      List<String> chain = new ArrayList<>(2 + anchorPems.size());
      chain.add(Pem.encode(Certificates.sign(leaf, issuerKey)));
      chain.add(issuerPem);
      chain.addAll(anchorPems);
      return chain;
    } catch (GeneralSecurityException | CertIOException e) {
      throw new IllegalStateException("cannot sign a leaf for " + caller, e);
    }
  }

  /**
   * Signs the controller's own serving certificate: {@code key} with {@code names} as its subject
   * alternative names (an IP literal as an IP address, anything else as a DNS name), extended key
   * usage serverAuth only, valid from a minute ago for {@code lifetime}, never past the issuer's
   * end. Not capped by the workloads' maximum leaf lifetime: a short one (tests use seconds) would
   * let the port's certificate expire between two renewal checks.
   *
   * @return the leaf, then the issuer
   */
  X509Certificate[] signServing(PublicKey key, List<String> names, Duration lifetime) {
    if (names.isEmpty()) {
      throw new IllegalArgumentException("names: [] (expected: at least one DNS name or IP)");
    }
    Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
    Instant issuerEnd = issuer.getNotAfter().toInstant();
    if (!now.isBefore(issuerEnd)) {
      throw new IllegalStateException(
          "issuer " + issuer.getSubjectX500Principal() + ": expired at " + issuerEnd);
    }
    Instant notAfter = now.plus(lifetime);
    if (notAfter.isAfter(issuerEnd)) {
      notAfter = issuerEnd;
    }
    GeneralName[] sans = new GeneralName[names.size()];
    for (int i = 0; i < sans.length; i++) {
      String name = names.get(i);
      sans[i] =
          isIpLiteral(name)
              ? new GeneralName(GeneralName.iPAddress, name)
              : new GeneralName(GeneralName.dNSName, name);
    }
    try {
      JcaX509ExtensionUtils ids = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder leaf =
          new X509v3CertificateBuilder(
                  X500Name.getInstance(issuer.getSubjectX500Principal().getEncoded()),
                  Certificates.serial(random),
                  Date.from(now.minus(Certificates.CLOCK_SKEW)),
                  Date.from(notAfter),
                  new X500Name(new RDN[0]),
                  SubjectPublicKeyInfo.getInstance(key.getEncoded()))
              .addExtension(Extension.subjectAlternativeName, true, new GeneralNames(sans))
              .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
              .addExtension(
                  Extension.extendedKeyUsage,
                  false,
                  new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth))
              .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
              .addExtension(
                  Extension.authorityKeyIdentifier,
                  false,
                  ids.createAuthorityKeyIdentifier(issuer.getPublicKey()))
              .addExtension(
                  Extension.subjectKeyIdentifier, false, ids.createSubjectKeyIdentifier(key));
      return new X509Certificate[] {Certificates.sign(leaf, issuerKey), issuer};
    } catch (GeneralSecurityException | CertIOException e) {
      throw new IllegalStateException("cannot sign the controller's certificate for " + names, e);
    }
  }

  /** An IPv4 dotted quad or an IPv6 literal (anything with a colon); never a DNS lookup. */
  static boolean isIpLiteral(String name) {
    return name.indexOf(':') >= 0 || name.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}");
  }

  /** The request's public key, once its signature verifies with it. */
  private static PublicKey verifiedKey(PKCS10CertificationRequest csr)
      throws CertificateRequestException {
    PublicKey key;
    try {
      key = Pem.publicKey(csr.getSubjectPublicKeyInfo());
    } catch (GeneralSecurityException | RuntimeException e) {
      throw invalid("CSR public key: " + e.getMessage());
    }
    if (key instanceof RSAKey && ((RSAKey) key).getModulus().bitLength() < 2048) {
      throw invalid(
          "CSR public key: RSA "
              + ((RSAKey) key).getModulus().bitLength()
              + " bits (expected: at least 2048, or EC)");
    }
    boolean valid;
    try {
      valid = csr.isSignatureValid(new JcaContentVerifierProviderBuilder().build(key));
    } catch (OperatorCreationException | PKCSException | RuntimeException e) {
      throw invalid("CSR signature: cannot be checked: " + e.getMessage());
    }
    if (!valid) {
      throw invalid("CSR signature does not verify with the CSR's own public key");
    }
    return key;
  }

  /** The one URI the request asks for; anything else is refused. */
  private static String requestedUri(PKCS10CertificationRequest csr, SpiffeId caller)
      throws CertificateRequestException {
    String expected = "(expected: exactly one URI SAN, " + caller + ")";
    Attribute[] requests = csr.getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest);
    if (requests.length == 0) {
      throw invalid("CSR has no subject alternative name " + expected);
    }
    if (requests.length > 1 || requests[0].getAttrValues().size() != 1) {
      throw invalid("CSR has more than one extensionRequest attribute " + expected);
    }
    GeneralNames names;
    try {
      Extensions extensions = Extensions.getInstance(requests[0].getAttrValues().getObjectAt(0));
      names = GeneralNames.fromExtensions(extensions, Extension.subjectAlternativeName);
    } catch (RuntimeException e) {
      throw invalid("CSR extensionRequest: " + e.getMessage() + " " + expected);
    }
    if (names == null || names.getNames().length == 0) {
      throw invalid("CSR has no subject alternative name " + expected);
    }
    GeneralName[] all = names.getNames();
    if (all.length != 1 || all[0].getTagNo() != GeneralName.uniformResourceIdentifier) {
      List<String> described = new ArrayList<>();
      for (GeneralName name : all) {
        described.add(describe(name));
      }
      throw invalid("CSR asks for " + String.join(", ", described) + " " + expected);
    }
    return all[0].getName().toString();
  }

  private static String describe(GeneralName name) {
    ASN1Encodable value = name.getName();
    switch (name.getTagNo()) {
      case GeneralName.uniformResourceIdentifier:
        return "URI " + value;
      case GeneralName.dNSName:
        return "DNS " + value;
      case GeneralName.rfc822Name:
        return "email " + value;
      case GeneralName.iPAddress:
        byte[] bytes = ASN1OctetString.getInstance(value).getOctets();
        try {
          return "IP " + InetAddress.getByAddress(bytes).getHostAddress();
        } catch (UnknownHostException e) {
          return "IP " + Arrays.toString(bytes);
        }
      default:
        return "a name of type " + name.getTagNo();
    }
  }

  private static CertificateRequestException invalid(String message) {
    return new CertificateRequestException(CertificateRequestException.Kind.INVALID, message);
  }

  private static CertificateRequestException forbidden(String message) {
    return new CertificateRequestException(CertificateRequestException.Kind.FORBIDDEN, message);
  }
}
