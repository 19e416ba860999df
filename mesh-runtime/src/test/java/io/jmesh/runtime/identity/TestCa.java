package io.jmesh.runtime.identity;

import java.io.StringReader;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;

/**
 * A small CA for tests (the controller has the real one): an anchor and an issuer, leaves with any
 * SAN and validity a test wants, including ones a real CA would never sign.
 */
final class TestCa {
  final String name;
  final KeyPair anchorKeys = Csr.newKeyPair();
  final X509Certificate anchor;
  final KeyPair issuerKeys = Csr.newKeyPair();
  final X509Certificate issuer;
  private long serial = 1;

  TestCa(String name, Instant now) throws Exception {
    this.name = name;
    Instant from = now.minus(Duration.ofDays(30));
    Instant to = now.plus(Duration.ofDays(3650));
    anchor = cert(new X500Name("CN=" + name + " anchor"), anchorKeys, new X500Name("CN=" + name + " anchor"), anchorKeys.getPublic(), from, to, true, null);
    issuer = cert(new X500Name("CN=" + name + " anchor"), anchorKeys, new X500Name("CN=" + name + " issuer"), issuerKeys.getPublic(), from, to, true, null);
  }

  X509Certificate leaf(PublicKey key, String uri, Instant notBefore, Instant notAfter) throws Exception {
    GeneralName san = uri == null ? null : new GeneralName(GeneralName.uniformResourceIdentifier, uri);
    return cert(new X500Name("CN=" + name + " issuer"), issuerKeys, new X500Name(new org.bouncycastle.asn1.x500.RDN[0]), key, notBefore, notAfter, false, san);
  }

  /** A server certificate for the DNS name {@code dns} (a controller's, not a mesh leaf). */
  X509Certificate server(PublicKey key, String dns, Instant notBefore, Instant notAfter) throws Exception {
    return cert(new X500Name("CN=" + name + " issuer"), issuerKeys, new X500Name("CN=" + dns), key, notBefore, notAfter, false, new GeneralName(GeneralName.dNSName, dns));
  }

  /** The answer a CA gives to {@code csrPem}: leaf (for the CSR's key and SAN), issuer, anchor. */
  List<String> answer(String csrPem, Instant now, Duration lifetime) throws Exception {
    PKCS10CertificationRequest csr;
    try (PEMParser parser = new PEMParser(new StringReader(csrPem))) {
      csr = (PKCS10CertificationRequest) parser.readObject();
    }
    JcaPKCS10CertificationRequest jca = new JcaPKCS10CertificationRequest(csr);
    String uri = null;
    for (var attr : csr.getAttributes(org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers.pkcs_9_at_extensionRequest)) {
      var ext = org.bouncycastle.asn1.x509.Extensions.getInstance(attr.getAttrValues().getObjectAt(0));
      GeneralNames names = GeneralNames.fromExtensions(ext, Extension.subjectAlternativeName);
      uri = names.getNames()[0].getName().toString();
    }
    List<String> out = new ArrayList<>();
    out.add(Pem.encode(leaf(jca.getPublicKey(), uri, now.minus(Duration.ofMinutes(1)), now.plus(lifetime))));
    out.add(Pem.encode(issuer));
    out.add(Pem.encode(anchor));
    return out;
  }

  private X509Certificate cert(
      X500Name issuerName, KeyPair signer, X500Name subject, PublicKey key, Instant from, Instant to, boolean ca, GeneralName san)
      throws Exception {
    X509v3CertificateBuilder b =
        new JcaX509v3CertificateBuilder(issuerName, BigInteger.valueOf(serial++), Date.from(from), Date.from(to), subject, key);
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
    if (ca) {
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
    } else {
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
      b.addExtension(
          Extension.extendedKeyUsage,
          false,
          new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
      if (san != null) {
        b.addExtension(Extension.subjectAlternativeName, true, new GeneralNames(san));
      }
    }
    return new JcaX509CertificateConverter()
        .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer.getPrivate())));
  }
}
