package io.jmesh.injector.server;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;

/**
 * The serving certificate's files, as the kubelet mounts a {@code kubernetes.io/tls} Secret:
 * {@code tls.crt} (the leaf first, then any intermediates), {@code tls.key} (PEM: PKCS#8, PKCS#1
 * RSA or SEC1 EC, unencrypted) and, optionally, {@code ca.crt} (the caBundle the API server
 * verifies with).
 *
 * <p>The kubelet writes a new version of a mounted Secret into a fresh folder and then swaps the
 * symlink {@code ..data} to it. The files are read through the resolved {@code ..data} folder, so
 * one read never pairs the old certificate with the new key. Where there is no {@code ..data}
 * (a plain folder), a torn pair is caught by the key check below and retried at the next poll.
 *
 * <p>Stateless; safe from any thread.
 */
final class TlsFiles {
  static final String CERT = "tls.crt";
  static final String KEY = "tls.key";
  static final String CA = "ca.crt";

  private TlsFiles() {}

  /** The bytes of the three files, read from one version of the folder, and their hash. */
  record Snapshot(byte[] cert, byte[] key, byte[] ca, String sha256) {}

  /** The parsed, checked contents. */
  record Material(X509Certificate[] chain, PrivateKey key, List<X509Certificate> ca, String sha256) {
    X509Certificate leaf() {
      return chain[0];
    }
  }

  /**
   * Reads the files of {@code dir}.
   *
   * @throws IOException naming the file when {@code tls.crt} or {@code tls.key} cannot be read
   */
  static Snapshot read(Path dir) throws IOException {
    Path base = dir;
    Path data = dir.resolve("..data");
    if (Files.isDirectory(data)) {
      // The version the symlink points at now; the kubelet never rewrites a version in place.
      base = data.toRealPath();
    }
    byte[] cert = readRequired(base.resolve(CERT), dir);
    byte[] key = readRequired(base.resolve(KEY), dir);
    byte[] ca;
    try {
      ca = Files.readAllBytes(base.resolve(CA));
    } catch (NoSuchFileException e) {
      ca = null;
    }
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      for (byte[] part : new byte[][] {cert, key, ca == null ? new byte[0] : ca}) {
        sha.update(Integer.toString(part.length).getBytes(StandardCharsets.US_ASCII));
        sha.update((byte) ':');
        sha.update(part);
      }
      return new Snapshot(cert, key, ca, HexFormat.of().formatHex(sha.digest()));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }

  /**
   * Parses and checks a snapshot: the key belongs to the leaf, the leaf is valid at {@code now},
   * and, when {@code ca.crt} is there, the chain leads to one of its certificates.
   *
   * @throws IllegalArgumentException naming the file, what is wrong and what was expected
   */
  static Material parse(Snapshot files, Path dir, Instant now) {
    List<X509Certificate> chain = certificates(files.cert(), dir.resolve(CERT));
    if (chain.isEmpty()) {
      throw new IllegalArgumentException(
          dir.resolve(CERT) + ": no certificate (expected: PEM, the leaf first)");
    }
    PrivateKey key = privateKey(files.key(), dir.resolve(KEY));
    X509Certificate leaf = chain.get(0);
    if (!keyMatches(key, leaf)) {
      throw new IllegalArgumentException(
          dir.resolve(KEY)
              + ": the key does not belong to the certificate "
              + leaf.getSubjectX500Principal().getName()
              + " of "
              + dir.resolve(CERT)
              + " (expected: the leaf's private key; the files may be from two versions of the"
              + " Secret)");
    }
    try {
      leaf.checkValidity(Date.from(now));
    } catch (CertificateException e) {
      throw new IllegalArgumentException(
          dir.resolve(CERT)
              + ": certificate valid from "
              + leaf.getNotBefore().toInstant()
              + " to "
              + leaf.getNotAfter().toInstant()
              + ", not at "
              + now
              + " (expected: a current certificate)");
    }
    List<X509Certificate> ca = List.of();
    if (files.ca() != null) {
      ca = certificates(files.ca(), dir.resolve(CA));
      if (ca.isEmpty()) {
        throw new IllegalArgumentException(
            dir.resolve(CA) + ": no certificate (expected: PEM, the CA the API server trusts)");
      }
      requireChainsTo(chain, ca, dir, now);
    }
    return new Material(chain.toArray(new X509Certificate[0]), key, ca, files.sha256());
  }

  private static byte[] readRequired(Path file, Path dir) throws IOException {
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new IOException(
          dir.resolve(file.getFileName())
              + ": cannot read: "
              + e
              + " (expected: the Secret jmesh-injector-tls mounted there, with tls.crt and"
              + " tls.key)",
          e);
    }
  }

  private static List<X509Certificate> certificates(byte[] pem, Path file) {
    try {
      List<X509Certificate> out = new ArrayList<>();
      for (var c : CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem))) {
        out.add((X509Certificate) c);
      }
      return out;
    } catch (CertificateException e) {
      throw new IllegalArgumentException(
          file + ": not a PEM certificate: " + e.getMessage() + " (expected: X.509 in PEM)");
    }
  }

  private static PrivateKey privateKey(byte[] pem, Path file) {
    Object read;
    try (PEMParser parser = new PEMParser(new StringReader(new String(pem, StandardCharsets.US_ASCII)))) {
      read = parser.readObject();
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException(
          file + ": not a PEM key: " + e.getMessage() + " (expected: an unencrypted private key)");
    }
    try {
      JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
      if (read instanceof PEMKeyPair pair) {
        // Not getKeyPair(): a SEC1 EC key may omit its public half (openssl keeps it, others not).
        return converter.getPrivateKey(pair.getPrivateKeyInfo());
      }
      if (read instanceof PrivateKeyInfo info) {
        return converter.getPrivateKey(info);
      }
    } catch (IOException e) {
      throw new IllegalArgumentException(
          file + ": unreadable key: " + e.getMessage() + " (expected: an RSA, EC or Ed25519 key)");
    }
    throw new IllegalArgumentException(
        file
            + ": "
            + (read == null ? "no PEM object" : read.getClass().getSimpleName())
            + " (expected: an unencrypted private key, PKCS#8, PKCS#1 RSA or SEC1 EC)");
  }

  /** Whether {@code key} signs what {@code leaf}'s public key verifies. */
  private static boolean keyMatches(PrivateKey key, X509Certificate leaf) {
    String algorithm =
        switch (key.getAlgorithm()) {
          case "EC", "ECDSA" -> "SHA256withECDSA";
          case "RSA" -> "SHA256withRSA";
          default -> key.getAlgorithm(); // Ed25519, Ed448
        };
    try {
      byte[] probe = "jmesh-injector".getBytes(StandardCharsets.US_ASCII);
      Signature signer = Signature.getInstance(algorithm);
      signer.initSign(key);
      signer.update(probe);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(leaf.getPublicKey());
      verifier.update(probe);
      return verifier.verify(signature);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  private static void requireChainsTo(
      List<X509Certificate> chain, List<X509Certificate> ca, Path dir, Instant now) {
    Set<TrustAnchor> anchors = new HashSet<>();
    for (X509Certificate c : ca) {
      anchors.add(new TrustAnchor(c, null));
    }
    // The path up to, not including, a certificate of ca.crt (tls.crt may end with it).
    List<X509Certificate> path = new ArrayList<>();
    for (X509Certificate c : chain) {
      if (ca.contains(c)) {
        break;
      }
      path.add(c);
    }
    try {
      PKIXParameters parameters = new PKIXParameters(anchors);
      parameters.setRevocationEnabled(false);
      parameters.setDate(Date.from(now));
      CertPathValidator.getInstance("PKIX")
          .validate(CertificateFactory.getInstance("X.509").generateCertPath(path), parameters);
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException(
          dir.resolve(CERT)
              + ": "
              + chain.get(0).getSubjectX500Principal().getName()
              + " does not chain to "
              + dir.resolve(CA)
              + ": "
              + e.getMessage()
              + " (expected: signed by the CA the API server trusts, its caBundle)");
    }
  }
}
