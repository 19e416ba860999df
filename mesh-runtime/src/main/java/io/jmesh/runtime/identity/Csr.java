package io.jmesh.runtime.identity;

import java.io.IOException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.security.spec.ECGenParameterSpec;
import java.security.InvalidAlgorithmParameterException;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * A workload's key pair and certificate signing request. The key is generated here, in memory, and
 * lives only in the {@link WorkloadCertificate} built from the answer: jmesh never writes a
 * workload's private key anywhere.
 */
final class Csr {
  private Csr() {}

  /** A fresh EC P-256 key pair (the JDK's provider). */
  static KeyPair newKeyPair() {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"));
      return generator.generateKeyPair();
    } catch (NoSuchAlgorithmException | InvalidAlgorithmParameterException e) {
      throw new IllegalStateException("this JDK cannot generate EC P-256 keys", e);
    }
  }

  /**
   * A PEM PKCS#10 request for {@code id}: empty subject (an X.509-SVID names the workload in its
   * URI subject alternative name only), that one URI, signed with SHA256withECDSA.
   */
  static String pem(KeyPair keys, SpiffeId id) {
    try {
      ExtensionsGenerator extensions = new ExtensionsGenerator();
      extensions.addExtension(
          Extension.subjectAlternativeName,
          true, // critical: the subject is empty, so the SAN is the name (RFC 5280 4.2.1.6)
          new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, id.toString())));
      PKCS10CertificationRequest request =
          new JcaPKCS10CertificationRequestBuilder(new X500Name(new org.bouncycastle.asn1.x500.RDN[0]), keys.getPublic())
              .addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate())
              .build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate()));
      return Pem.encode("CERTIFICATE REQUEST", request.getEncoded());
    } catch (IOException | OperatorCreationException e) {
      throw new IllegalStateException("cannot build a CSR for " + id, e);
    }
  }
}
