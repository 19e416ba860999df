package io.jmesh.controller.ca;

import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Function;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;

/**
 * The certificate authority's directory: the trust anchor, the issuer, their keys and the extra
 * anchors of {@code trust-bundle.pem}. {@link #loadOrCreate} loads them and checks that they make
 * one CA, or makes a new CA in an empty or missing directory; the result is what the {@link
 * LeafSigner} signs with.
 *
 * <p>It refuses, with an {@link IOException} naming the file and what is wrong: a directory with
 * only some of the files (a new CA would silently distrust every workload), a certificate that is
 * not a CA, an issuer not signed by the anchor or past its end, and a key that does not match its
 * certificate. Key files are created readable by their owner only where the file system has POSIX
 * permissions; a loaded key readable by others is logged as a warning.
 *
 * <p>Thread-safety: immutable once loaded. Loading and creating are not safe against another
 * process writing the same directory at the same time.
 */
final class CaStore {
  private static final Logger LOG = System.getLogger("io.jmesh.controller.ca");

  static final String ANCHOR = "anchor.pem";
  static final String ANCHOR_KEY = "anchor-key.pem";
  static final String ISSUER = "issuer.pem";
  static final String ISSUER_KEY = "issuer-key.pem";
  static final String TRUST_BUNDLE = "trust-bundle.pem";

  static final Duration ANCHOR_LIFETIME = Duration.ofDays(3650);
  static final Duration ISSUER_LIFETIME = Duration.ofDays(365);

  private final Path dir;
  private final X509Certificate issuer;
  private final PrivateKey issuerKey;
  private final List<X509Certificate> anchors;

  private CaStore(
      Path dir, X509Certificate issuer, PrivateKey issuerKey, List<X509Certificate> anchors) {
    this.dir = dir;
    this.issuer = issuer;
    this.issuerKey = issuerKey;
    this.anchors = List.copyOf(anchors);
  }

  /**
   * Loads the CA of {@code dir}, or makes one for {@code trustDomain} there if the directory is
   * empty or missing (controller README, "Files in the CA directory").
   *
   * @throws IOException if the files cannot be read or written, or are inconsistent; the message
   *     names the file and what is wrong
   */
  static CaStore loadOrCreate(Path dir, String trustDomain, Clock clock, SecureRandom random)
      throws IOException {
    if (Files.exists(dir) && !Files.isDirectory(dir)) {
      throw new IOException(dir + ": not a directory (expected: a directory for the CA's files)");
    }
    List<String> present = new ArrayList<>();
    List<String> missing = new ArrayList<>();
    for (String name : List.of(ANCHOR, ANCHOR_KEY, ISSUER, ISSUER_KEY)) {
      (Files.exists(dir.resolve(name)) ? present : missing).add(name);
    }
    if (present.isEmpty()) {
      return create(dir, trustDomain, clock, random);
    }
    // The anchor's key may be kept offline: it is needed only to make a new issuer.
    missing.remove(ANCHOR_KEY);
    if (!missing.isEmpty()) {
      throw incomplete(dir, String.join(", ", present), missing, ", or an empty directory for a new CA");
    }
    return load(dir, clock);
  }

  /** The directory of the CA's files. */
  Path dir() {
    return dir;
  }

  /** The issuer certificate, which signs the leaves. */
  X509Certificate issuer() {
    return issuer;
  }

  /** The issuer's private key. */
  PrivateKey issuerKey() {
    return issuerKey;
  }

  /** The anchor, then {@code trust-bundle.pem}'s extras, each once; unmodifiable. */
  List<X509Certificate> anchors() {
    return anchors;
  }

  private static CaStore load(Path dir, Clock clock) throws IOException {
    Map<String, String> texts = new LinkedHashMap<>();
    for (String name : List.of(ANCHOR, ANCHOR_KEY, ISSUER, ISSUER_KEY, TRUST_BUNDLE)) {
      Path file = dir.resolve(name);
      if (Files.exists(file)) {
        texts.put(name, Pem.readText(file));
      }
    }
    CaStore store = check(dir, texts, name -> dir.resolve(name).toString(), clock);
    warnIfOpen(dir.resolve(ISSUER_KEY));
    if (texts.containsKey(ANCHOR_KEY)) {
      warnIfOpen(dir.resolve(ANCHOR_KEY));
    }
    LOG.log(Level.INFO, "certificate authority: loaded from " + dir + ": " + store.summary());
    return store;
  }

  /**
   * Loads a CA from PEM texts keyed by file name ({@code anchor.pem}, {@code issuer.pem}, {@code
   * issuer-key.pem}, optional {@code anchor-key.pem} and {@code trust-bundle.pem}), such as the
   * data of a Kubernetes Secret, with the checks of a directory.
   *
   * @param location where the texts come from, in errors ({@code secret jmesh-system/jmesh-ca})
   * @throws IOException naming the location, the key and what is wrong
   */
  static CaStore fromPems(String location, Map<String, String> texts, Clock clock)
      throws IOException {
    List<String> missing = new ArrayList<>();
    for (String name : List.of(ANCHOR, ISSUER, ISSUER_KEY)) {
      if (!texts.containsKey(name)) {
        missing.add(name);
      }
    }
    if (!missing.isEmpty()) {
      throw incomplete(
          location,
          texts.isEmpty() ? "no keys" : String.join(", ", new TreeSet<>(texts.keySet())),
          missing,
          "");
    }
    return check(null, texts, name -> location + " key " + name, clock);
  }

  /**
   * Checks that the texts make one CA: the anchor and issuer are CA certificates, the issuer is
   * signed by the anchor, valid now and matches its key (so does the anchor's key, if present).
   */
  private static CaStore check(
      Path dir, Map<String, String> texts, Function<String, String> label, Clock clock)
      throws IOException {
    String anchorFile = label.apply(ANCHOR);
    String issuerFile = label.apply(ISSUER);
    String issuerKeyFile = label.apply(ISSUER_KEY);
    X509Certificate anchor = Pem.certificate(anchorFile, texts.get(ANCHOR));
    requireCa(anchorFile, anchor);
    X509Certificate issuer = Pem.certificate(issuerFile, texts.get(ISSUER));
    requireCa(issuerFile, issuer);
    try {
      issuer.verify(anchor.getPublicKey());
    } catch (GeneralSecurityException e) {
      throw new IOException(
          issuerFile
              + ": not signed by the anchor in "
              + ANCHOR
              + ", "
              + anchor.getSubjectX500Principal()
              + " (expected: an issuer signed by the anchor's key; its issuer is "
              + issuer.getIssuerX500Principal()
              + ")",
          e);
    }
    Instant now = clock.instant();
    if (now.isAfter(issuer.getNotAfter().toInstant())) {
      throw new IOException(
          issuerFile
              + ": expired at "
              + issuer.getNotAfter().toInstant()
              + " (expected: valid now, "
              + now
              + "; make a new issuer with the anchor's key)");
    }
    PrivateKey issuerKey = Pem.privateKey(issuerKeyFile, texts.get(ISSUER_KEY));
    requireMatch(issuerKeyFile, issuerKey, ISSUER, issuer.getPublicKey());
    if (texts.containsKey(ANCHOR_KEY)) {
      String anchorKeyFile = label.apply(ANCHOR_KEY);
      requireMatch(
          anchorKeyFile,
          Pem.privateKey(anchorKeyFile, texts.get(ANCHOR_KEY)),
          ANCHOR,
          anchor.getPublicKey());
    }
    List<X509Certificate> anchors = new ArrayList<>();
    anchors.add(anchor);
    if (texts.containsKey(TRUST_BUNDLE)) {
      String bundleFile = label.apply(TRUST_BUNDLE);
      for (X509Certificate extra : Pem.certificates(bundleFile, texts.get(TRUST_BUNDLE))) {
        requireCa(bundleFile, extra);
        if (!contains(anchors, extra)) {
          anchors.add(extra);
        }
      }
    }
    return new CaStore(dir, issuer, issuerKey, anchors);
  }

  /** For log lines: the issuer, its end and the number of anchors. */
  String summary() {
    return "issuer "
        + issuer.getSubjectX500Principal()
        + " valid until "
        + issuer.getNotAfter().toInstant()
        + ", "
        + anchors.size()
        + (anchors.size() == 1 ? " trust anchor" : " trust anchors");
  }

  /**
   * Makes an EC P-256 anchor (10 years) and issuer (1 year, path length 0) and writes them with
   * their keys, the directory (mode 700) too if it is missing.
   */
  private static CaStore create(Path dir, String trustDomain, Clock clock, SecureRandom random)
      throws IOException {
    Map<String, String> pems = newCa(trustDomain, clock, random);
    boolean created = !Files.exists(dir);
    if (created && Pem.posix(dir)) {
      Files.createDirectories(
          dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    } else {
      Files.createDirectories(dir);
    }
    // Keys first (the map's order): a crash part way leaves a directory that loadOrCreate
    // refuses, naming what is missing, rather than certificates without their keys.
    for (Map.Entry<String, String> pem : pems.entrySet()) {
      if (pem.getKey().endsWith("-key.pem")) {
        Pem.writeSecret(
            dir.resolve(pem.getKey()), pem.getValue().getBytes(StandardCharsets.US_ASCII));
      } else {
        Pem.writePublic(dir.resolve(pem.getKey()), pem.getValue());
      }
    }
    CaStore store = check(dir, pems, name -> dir.resolve(name).toString(), clock);
    LOG.log(
        Level.INFO,
        "certificate authority: made a new trust anchor and issuer for trust domain "
            + trustDomain
            + " in "
            + dir
            + "; the anchor is valid until "
            + store.anchors.get(0).getNotAfter().toInstant());
    return store;
  }

  /**
   * A new CA's PEM texts by file name, keys before their certificates: {@code anchor-key.pem},
   * {@code anchor.pem}, {@code issuer-key.pem}, {@code issuer.pem}. EC P-256; the anchor lives 10
   * years, the issuer 1 year with path length 0. Nothing is written.
   */
  static Map<String, String> newCa(String trustDomain, Clock clock, SecureRandom random) {
    Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
    KeyPair anchorKeys = newKeyPair(random);
    KeyPair issuerKeys = newKeyPair(random);
    // The date in the names tells one generation of anchors from the next during a rotation.
    String generation = now.toString();
    X500Name anchorName = name("jmesh trust anchor " + trustDomain + " " + generation);
    X500Name issuerName = name("jmesh issuer " + trustDomain + " " + generation);
    X509Certificate anchor;
    X509Certificate issuer;
    try {
      JcaX509ExtensionUtils ids = new JcaX509ExtensionUtils();
      SubjectPublicKeyInfo anchorInfo =
          SubjectPublicKeyInfo.getInstance(anchorKeys.getPublic().getEncoded());
      X509v3CertificateBuilder root =
          new X509v3CertificateBuilder(
                  anchorName,
                  Certificates.serial(random),
                  Date.from(now.minus(Certificates.CLOCK_SKEW)),
                  Date.from(now.plus(ANCHOR_LIFETIME)),
                  anchorName,
                  anchorInfo)
              .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
              .addExtension(
                  Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
              .addExtension(
                  Extension.subjectKeyIdentifier,
                  false,
                  ids.createSubjectKeyIdentifier(anchorInfo));
      anchor = Certificates.sign(root, anchorKeys.getPrivate());
      SubjectPublicKeyInfo issuerInfo =
          SubjectPublicKeyInfo.getInstance(issuerKeys.getPublic().getEncoded());
      X509v3CertificateBuilder intermediate =
          new X509v3CertificateBuilder(
                  anchorName,
                  Certificates.serial(random),
                  Date.from(now.minus(Certificates.CLOCK_SKEW)),
                  Date.from(now.plus(ISSUER_LIFETIME)),
                  issuerName,
                  issuerInfo)
              // Path length 0: the issuer signs leaves, never another CA.
              .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
              .addExtension(
                  Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
              .addExtension(
                  Extension.subjectKeyIdentifier, false, ids.createSubjectKeyIdentifier(issuerInfo))
              // The key id alone, not the anchor's name and serial: an anchor re-issued with the
              // same key (a renewal) still matches.
              .addExtension(
                  Extension.authorityKeyIdentifier,
                  false,
                  ids.createAuthorityKeyIdentifier(anchor.getPublicKey()));
      issuer = Certificates.sign(intermediate, anchorKeys.getPrivate());
    } catch (GeneralSecurityException | CertIOException e) {
      throw new IllegalStateException("cannot make a CA with the JDK's EC provider", e);
    }
    Map<String, String> pems = new LinkedHashMap<>();
    pems.put(ANCHOR_KEY, Pem.encodePrivateKey(anchorKeys.getPrivate()));
    pems.put(ANCHOR, Pem.encode(anchor));
    pems.put(ISSUER_KEY, Pem.encodePrivateKey(issuerKeys.getPrivate()));
    pems.put(ISSUER, Pem.encode(issuer));
    return pems;
  }

  private static KeyPair newKeyPair(SecureRandom random) {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"), random);
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK has no EC P-256 key generator", e);
    }
  }

  private static X500Name name(String commonName) {
    return new X500NameBuilder(BCStyle.INSTANCE)
        .addRDN(BCStyle.O, "jmesh")
        .addRDN(BCStyle.CN, commonName)
        .build();
  }

  private static void requireCa(String file, X509Certificate certificate) throws IOException {
    if (certificate.getBasicConstraints() < 0) {
      throw new IOException(
          file
              + ": "
              + certificate.getSubjectX500Principal()
              + " is not a CA certificate (expected: basic constraints CA:true)");
    }
  }

  /** Proves that {@code key} is the private half of {@code publicKey} by signing with it. */
  private static void requireMatch(
      String keyFile, PrivateKey key, String certificateFile, PublicKey publicKey)
      throws IOException {
    byte[] probe = "jmesh key check".getBytes(StandardCharsets.US_ASCII);
    boolean matches;
    try {
      String algorithm = Certificates.signatureAlgorithm(key);
      Signature signer = Signature.getInstance(algorithm);
      signer.initSign(key);
      signer.update(probe);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(publicKey);
      verifier.update(probe);
      matches = verifier.verify(signature);
    } catch (GeneralSecurityException e) {
      matches = false;
    }
    if (!matches) {
      throw new IOException(
          keyFile
              + ": does not match the public key of "
              + certificateFile
              + " (expected: the private key of that certificate)");
    }
  }

  private static void warnIfOpen(Path keyFile) throws IOException {
    String why = Pem.tooOpen(keyFile);
    if (why != null) {
      LOG.log(Level.WARNING, "certificate authority: " + why + "; chmod 600 it");
    }
  }

  private static boolean contains(List<X509Certificate> certificates, X509Certificate candidate)
      throws IOException {
    try {
      for (X509Certificate c : certificates) {
        if (Arrays.equals(c.getEncoded(), candidate.getEncoded())) {
          return true;
        }
      }
      return false;
    } catch (CertificateEncodingException e) {
      throw new IOException(e.getMessage(), e);
    }
  }

  /** A CA's files or keys with some of the three required ones missing, all named. */
  private static IOException incomplete(
      Object location, String present, java.util.Collection<String> missing, String orElse) {
    return new IOException(
        location
            + ": has "
            + present
            + " but not "
            + String.join(", ", missing)
            + " (expected: all of "
            + ANCHOR
            + ", "
            + ISSUER
            + ", "
            + ISSUER_KEY
            + orElse
            + ")");
  }
}
