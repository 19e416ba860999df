package io.jmesh.controller.ca;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * What the CA's store (which makes the anchor and issuer) and its signer (which makes leaves) both
 * need to mint a certificate: the signature algorithm for a key, a serial, and the signing of a
 * built certificate with the JDK's providers.
 *
 * <p>Thread-safety: stateless.
 */
final class Certificates {
  // Certificates are valid from a minute before they are signed: a workload whose clock is a
  // little behind the controller's would otherwise refuse its own new certificate.
  static final Duration CLOCK_SKEW = Duration.ofMinutes(1);

  private Certificates() {}

  /** {@code builder} signed by {@code signer}, as a JDK certificate. */
  static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey signer)
      throws GeneralSecurityException {
    ContentSigner contentSigner;
    try {
      contentSigner = new JcaContentSignerBuilder(signatureAlgorithm(signer)).build(signer);
    } catch (OperatorCreationException e) {
      throw new GeneralSecurityException(e.getMessage(), e);
    }
    try {
      return new JcaX509CertificateConverter().getCertificate(builder.build(contentSigner));
    } catch (CertificateException e) {
      throw new GeneralSecurityException(e.getMessage(), e);
    }
  }

  static String signatureAlgorithm(PrivateKey key) {
    // An issuer made elsewhere (openssl, step) may be RSA; ours are EC.
    return key.getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
  }

  /** A positive random 128-bit serial (RFC 5280 allows up to 20 octets; CAs use ≥ 64 bits). */
  static BigInteger serial(SecureRandom random) {
    BigInteger serial;
    do {
      byte[] bytes = new byte[16];
      random.nextBytes(bytes);
      serial = new BigInteger(1, bytes);
    } while (serial.signum() == 0);
    return serial;
  }
}
