package io.jmesh.injector.server;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
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
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Certificates for tests, made with Bouncy Castle: a CA (what the controller will be) and
 * webhook leaves with the Service's DNS names, {@code localhost} and 127.0.0.1, written as a
 * kubelet writes a mounted Secret (a version folder, the {@code ..data} symlink, one symlink per
 * key), so {@link #swap} replaces all files at once as the kubelet does.
 */
final class TestCerts {
  private static final AtomicLong SERIAL = new AtomicLong(System.nanoTime() & 0xffffffL);

  final KeyPair caKeys = ec();
  final X509Certificate ca;

  TestCerts(String name) {
    Instant now = Instant.now();
    ca =
        sign(
            new X500Name("CN=" + name),
            caKeys.getPrivate(),
            new X500Name("CN=" + name),
            caKeys.getPublic(),
            now.minus(Duration.ofDays(1)),
            now.plus(Duration.ofDays(365)),
            true);
  }

  /** A leaf and its key for the webhook. */
  record Leaf(X509Certificate cert, KeyPair keys) {
    BigInteger serial() {
      return cert.getSerialNumber();
    }
  }

  Leaf leaf() {
    return leaf(Instant.now().minus(Duration.ofMinutes(1)), Instant.now().plus(Duration.ofDays(1)));
  }

  Leaf leaf(Instant from, Instant to) {
    return leaf(ec(), from, to);
  }

  /** A leaf for {@code keys} (EC or RSA), signed by this CA. */
  Leaf leaf(KeyPair keys, Instant from, Instant to) {
    return new Leaf(
        sign(
            new X500Name(ca.getSubjectX500Principal().getName()),
            caKeys.getPrivate(),
            new X500Name("CN=jmesh-injector.jmesh-system.svc"),
            keys.getPublic(),
            from,
            to,
            false),
        keys);
  }

  /** A client context that trusts this CA only: the caBundle, as the API server uses it. */
  SSLContext clientContext() throws Exception {
    KeyStore store = KeyStore.getInstance("PKCS12");
    store.load(null, null);
    store.setCertificateEntry("ca", ca);
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(store);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, tmf.getTrustManagers(), null);
    return context;
  }

  /** Writes a first version of the Secret's files into {@code dir}, kubelet-style. */
  void write(Path dir, Leaf leaf) throws IOException {
    swap(dir, pem(leaf.cert), pkcs8(leaf.keys.getPrivate()), pem(ca));
  }

  /**
   * Writes a new version folder, points {@code ..data} at it with one rename (atomic), and keeps
   * the per-file symlinks {@code tls.crt -> ..data/tls.crt}.
   */
  static void swap(Path dir, String cert, String key, String caPem) throws IOException {
    Files.createDirectories(dir);
    Path version = dir.resolve("..v" + SERIAL.incrementAndGet());
    Files.createDirectory(version);
    Files.writeString(version.resolve(TlsFiles.CERT), cert);
    Files.writeString(version.resolve(TlsFiles.KEY), key);
    if (caPem != null) {
      Files.writeString(version.resolve(TlsFiles.CA), caPem);
    }
    Path tmp = dir.resolve("..data_tmp");
    Files.deleteIfExists(tmp);
    Files.createSymbolicLink(tmp, version.getFileName());
    Files.move(tmp, dir.resolve("..data"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    for (String name : new String[] {TlsFiles.CERT, TlsFiles.KEY, TlsFiles.CA}) {
      Path link = dir.resolve(name);
      if (!Files.isSymbolicLink(link)) {
        Files.createSymbolicLink(link, Path.of("..data", name));
      }
    }
  }

  void swap(Path dir, Leaf leaf) throws IOException {
    swap(dir, pem(leaf.cert), pkcs8(leaf.keys.getPrivate()), pem(ca));
  }

  static String pem(Object object) {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
      writer.writeObject(object);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return out.toString();
  }

  static String pkcs8(PrivateKey key) {
    try {
      return pem(new JcaPKCS8Generator(key, null).generate());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static KeyPair ec() {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"));
      return generator.generateKeyPair();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  static KeyPair rsa() {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
      generator.initialize(2048);
      return generator.generateKeyPair();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static X509Certificate sign(
      X500Name issuer, PrivateKey signer, X500Name subject, PublicKey key, Instant from, Instant to, boolean isCa) {
    try {
      X509v3CertificateBuilder b =
          new JcaX509v3CertificateBuilder(
              issuer, BigInteger.valueOf(SERIAL.incrementAndGet()), Date.from(from), Date.from(to), subject, key);
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(isCa));
      if (isCa) {
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      } else {
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
        b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
        b.addExtension(
            Extension.subjectAlternativeName,
            false,
            new GeneralNames(
                new GeneralName[] {
                  new GeneralName(GeneralName.dNSName, "jmesh-injector.jmesh-system.svc"),
                  new GeneralName(GeneralName.dNSName, "localhost"),
                  new GeneralName(GeneralName.iPAddress, "127.0.0.1")
                }));
      }
      return new JcaX509CertificateConverter()
          .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer)));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
