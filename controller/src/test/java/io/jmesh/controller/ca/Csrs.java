package io.jmesh.controller.ca;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/** Certificate requests as a workload makes them, from in-memory EC P-256 keys. */
public final class Csrs {
  private Csrs() {}

  public static KeyPair keyPair() throws GeneralSecurityException {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(new ECGenParameterSpec("secp256r1"));
    return generator.generateKeyPair();
  }

  /** A CSR for {@code spiffeIds} as URI SANs, signed by its own key. */
  public static PKCS10CertificationRequest forUris(String... spiffeIds) throws Exception {
    return forUris(keyPair(), spiffeIds);
  }

  /** A CSR for {@code spiffeIds} as URI SANs, for and signed by {@code keys}. */
  public static PKCS10CertificationRequest forUris(KeyPair keys, String... spiffeIds)
      throws Exception {
    GeneralName[] names = new GeneralName[spiffeIds.length];
    for (int i = 0; i < spiffeIds.length; i++) {
      names[i] = new GeneralName(GeneralName.uniformResourceIdentifier, spiffeIds[i]);
    }
    return build(keys, keys, new GeneralNames(names));
  }

  /** A CSR holding {@code holder}'s public key but signed by {@code signer}'s private key. */
  static PKCS10CertificationRequest build(KeyPair holder, KeyPair signer, GeneralNames names)
      throws Exception {
    JcaPKCS10CertificationRequestBuilder builder =
        new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=workload"), holder.getPublic());
    if (names != null) {
      builder.addAttribute(
          PKCSObjectIdentifiers.pkcs_9_at_extensionRequest,
          new Extensions(
              new Extension(Extension.subjectAlternativeName, false, names.getEncoded())));
    }
    return builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer.getPrivate()));
  }

  public static X509Certificate certificate(String pem) throws Exception {
    return (X509Certificate)
        CertificateFactory.getInstance("X.509")
            .generateCertificate(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
  }
}
