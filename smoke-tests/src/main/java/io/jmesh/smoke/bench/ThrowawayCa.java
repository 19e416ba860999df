package io.jmesh.smoke.bench;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
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
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A certificate authority that lives for one benchmark run: a self-signed root and leaves signed
 * directly by it, P-256 keys, a day of validity. It exists so that the sidecar pair does real
 * mutual TLS (chain verification on both sides) without any key material in the repository.
 * Not thread-safe; keys stay in memory and in the PEM strings handed out.
 */
final class ThrowawayCa {
  /** Room for clock differences between this JVM and the proxies reading the certificates. */
  private static final Duration BACKDATE = Duration.ofMinutes(5);

  private static final Duration LIFETIME = Duration.ofDays(1);

  private final SecureRandom random = new SecureRandom();
  private final KeyPair caKeys;
  private final X509Certificate caCert;
  private final X500Name caName;

  ThrowawayCa(String commonName) throws GeneralSecurityException {
    caKeys = newKeyPair();
    caName = new X500Name("CN=" + commonName);
    X509v3CertificateBuilder b = builder(caName, caName, caKeys.getPublic());
    try {
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(caKeys.getPublic()));
    } catch (IOException e) {
      throw new GeneralSecurityException("CA " + commonName + ": cannot encode an extension", e);
    }
    caCert = sign(b, commonName);
  }

  /** The root certificate in PEM, for a proxy's {@code ca-file}. */
  String caPem() throws IOException {
    return pem(caCert, null);
  }

  /**
   * A leaf for {@code dnsName} that may act as TLS server and client, in the form HAProxy's {@code
   * crt} reads: the certificate followed by its private key (PKCS#8), both PEM.
   */
  String issueCertAndKeyPem(String dnsName) throws GeneralSecurityException, IOException {
    KeyPair keys = newKeyPair();
    X509v3CertificateBuilder b = builder(caName, new X500Name("CN=" + dnsName), keys.getPublic());
    JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
    b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
    b.addExtension(
        Extension.extendedKeyUsage,
        false,
        new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
    b.addExtension(
        Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName(GeneralName.dNSName, dnsName)));
    b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keys.getPublic()));
    b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(caCert));
    return pem(sign(b, dnsName), keys.getPrivate());
  }

  private X509v3CertificateBuilder builder(X500Name issuer, X500Name subject, PublicKey key) {
    Instant now = Instant.now();
    return new JcaX509v3CertificateBuilder(
        issuer,
        new BigInteger(64, random).add(BigInteger.ONE), // positive and non-zero, as RFC 5280 asks
        Date.from(now.minus(BACKDATE)),
        Date.from(now.plus(LIFETIME)),
        subject,
        key);
  }

  private X509Certificate sign(X509v3CertificateBuilder b, String what) throws GeneralSecurityException {
    try {
      return new JcaX509CertificateConverter()
          .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(caKeys.getPrivate())));
    } catch (OperatorCreationException e) {
      throw new GeneralSecurityException("certificate for " + what + ": no SHA256withECDSA signer", e);
    }
  }

  private KeyPair newKeyPair() throws GeneralSecurityException {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"), random);
    return g.generateKeyPair();
  }

  private static String pem(X509Certificate cert, PrivateKey key) throws IOException {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(out)) {
      w.writeObject(cert);
      if (key != null) {
        w.writeObject(new JcaPKCS8Generator(key, null));
      }
    }
    return out.toString();
  }
}
