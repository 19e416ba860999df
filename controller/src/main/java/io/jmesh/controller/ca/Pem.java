package io.jmesh.controller.ca;

import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;

/**
 * PEM files of the CA directory, read and written with Bouncy Castle's parsers and the JDK's key
 * factories (Bouncy Castle is never registered as a JCA provider: its converters would ask the JDK
 * for algorithm names such as "ECDSA" that SunEC does not know).
 *
 * <p>Errors name the file and what is wrong with it. Thread-safety: stateless.
 */
final class Pem {
  /** Owner read and write only: private keys and the bootstrap secret. */
  static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

  private static final JcaX509CertificateConverter CERTIFICATES = new JcaX509CertificateConverter();

  private Pem() {}

  /** Every certificate of {@code file}, in order; other PEM objects are an error. */
  static List<X509Certificate> readCertificates(Path file) throws IOException {
    return certificates(file.toString(), readText(file));
  }

  /** Every certificate of PEM {@code text}, in order; {@code file} names it in errors. */
  static List<X509Certificate> certificates(String file, String text) throws IOException {
    List<Object> objects = parse(file, new StringReader(text));
    List<X509Certificate> certificates = new ArrayList<>(objects.size());
    for (Object object : objects) {
      if (!(object instanceof X509CertificateHolder)) {
        throw new IOException(
            file + ": holds a " + describe(object) + " (expected: only CERTIFICATE blocks)");
      }
      try {
        certificates.add(CERTIFICATES.getCertificate((X509CertificateHolder) object));
      } catch (CertificateException e) {
        throw new IOException(file + ": bad certificate: " + e.getMessage(), e);
      }
    }
    return certificates;
  }

  /** The one certificate of {@code file}. */
  static X509Certificate readCertificate(Path file) throws IOException {
    return certificate(file.toString(), readText(file));
  }

  /** The one certificate of PEM {@code text}; {@code file} names it in errors. */
  static X509Certificate certificate(String file, String text) throws IOException {
    List<X509Certificate> certificates = certificates(file, text);
    if (certificates.size() != 1) {
      throw new IOException(
          file + ": holds " + certificates.size() + " certificates (expected: exactly 1)");
    }
    return certificates.get(0);
  }

  /**
   * The one private key of {@code file}: PKCS#8 ({@code PRIVATE KEY}) or {@code EC PRIVATE KEY}.
   */
  static PrivateKey readPrivateKey(Path file) throws IOException {
    return privateKey(file.toString(), readText(file));
  }

  /** The one private key of PEM {@code text}; {@code file} names it in errors. */
  static PrivateKey privateKey(String file, String text) throws IOException {
    List<Object> objects = parse(file, new StringReader(text));
    if (objects.size() != 1) {
      throw new IOException(
          file + ": holds " + objects.size() + " PEM blocks (expected: exactly 1 private key)");
    }
    Object object = objects.get(0);
    PrivateKeyInfo info;
    if (object instanceof PrivateKeyInfo) {
      info = (PrivateKeyInfo) object;
    } else if (object instanceof PEMKeyPair) {
      info = ((PEMKeyPair) object).getPrivateKeyInfo();
    } else {
      throw new IOException(
          file + ": holds a " + describe(object) + " (expected: an unencrypted PRIVATE KEY)");
    }
    try {
      String algorithm = jdkAlgorithm(info.getPrivateKeyAlgorithm().getAlgorithm().getId());
      return KeyFactory.getInstance(algorithm)
          .generatePrivate(new PKCS8EncodedKeySpec(info.getEncoded()));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new IOException(file + ": bad private key: " + e.getMessage(), e);
    }
  }

  /** The JDK's form of a public key in a certificate request. */
  static PublicKey publicKey(SubjectPublicKeyInfo info) throws GeneralSecurityException {
    String algorithm;
    try {
      algorithm = jdkAlgorithm(info.getAlgorithm().getAlgorithm().getId());
    } catch (IllegalArgumentException e) {
      throw new GeneralSecurityException(e.getMessage(), e);
    }
    try {
      return KeyFactory.getInstance(algorithm)
          .generatePublic(new X509EncodedKeySpec(info.getEncoded()));
    } catch (IOException e) {
      throw new GeneralSecurityException(e.getMessage(), e);
    }
  }

  private static String jdkAlgorithm(String oid) {
    if (oid.equals(X9ObjectIdentifiers.id_ecPublicKey.getId())) {
      return "EC";
    }
    if (oid.equals(PKCSObjectIdentifiers.rsaEncryption.getId())) {
      return "RSA";
    }
    throw new IllegalArgumentException("key algorithm " + oid + " (expected: EC or RSA)");
  }

  /** The PEM text of one object (a certificate, a request); LF line ends. */
  static String encode(Object object) {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
      writer.writeObject(object);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a StringWriter does not fail
    }
    return out.toString().replace("\r\n", "\n");
  }

  /** {@code key} as PKCS#8 PEM, the form openssl and the JDK read without conversion. */
  static String encodePrivateKey(PrivateKey key) {
    try {
      return encode(new JcaPKCS8Generator(key, null).generate());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Creates {@code file} with {@code bytes}, readable only by its owner where the file system has
   * POSIX permissions. Fails if it exists: the CA never overwrites a key.
   */
  static void writeSecret(Path file, byte[] bytes) throws IOException {
    try {
      if (posix(file)) {
        // Created with the permissions, not chmod-ed after: no moment where others may read it.
        FileAttribute<Set<PosixFilePermission>> ownerOnly =
            PosixFilePermissions.asFileAttribute(OWNER_ONLY);
        Files.createFile(file, ownerOnly);
      } else {
        Files.createFile(file);
      }
    } catch (FileAlreadyExistsException e) {
      throw new IOException(file + ": exists already (expected: a new file)", e);
    }
    Files.write(file, bytes, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
  }

  /** Creates {@code file} with {@code text}; fails if it exists. */
  static void writePublic(Path file, String text) throws IOException {
    try {
      Files.writeString(file, text, StandardCharsets.US_ASCII, StandardOpenOption.CREATE_NEW);
    } catch (FileAlreadyExistsException e) {
      throw new IOException(file + ": exists already (expected: a new file)", e);
    }
  }

  static boolean posix(Path file) {
    return FileSystems.getDefault().supportedFileAttributeViews().contains("posix")
        && file.getFileSystem().equals(FileSystems.getDefault());
  }

  /**
   * Why {@code file} is readable by others than its owner, or null when it is not (or the file
   * system has no POSIX permissions).
   */
  static String tooOpen(Path file) throws IOException {
    if (!posix(file)) {
      return null;
    }
    Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(file);
    for (PosixFilePermission p : permissions) {
      if (!OWNER_ONLY.contains(p)) {
        return file
            + ": permissions "
            + PosixFilePermissions.toString(permissions)
            + " (expected: rw------- for a secret)";
      }
    }
    return null;
  }

  static String readText(Path file) throws IOException {
    try {
      return Files.readString(file, StandardCharsets.US_ASCII);
    } catch (java.nio.charset.MalformedInputException e) {
      throw new IOException(file + ": not PEM text (expected: ASCII PEM blocks)", e);
    }
  }

  /** Every PEM object of {@code in}; {@code name} says where it came from in errors. */
  static List<Object> parse(String name, Reader in) throws IOException {
    List<Object> objects = new ArrayList<>();
    try (PEMParser parser = new PEMParser(in)) {
      Object object;
      while ((object = parser.readObject()) != null) {
        objects.add(object);
      }
    } catch (IOException | RuntimeException e) {
      throw new IOException(name + ": bad PEM: " + e.getMessage(), e);
    }
    return objects;
  }

  private static String describe(Object object) {
    return object.getClass().getSimpleName();
  }
}
