package io.jmesh.controller.ca;

import io.jmesh.runtime.identity.SpiffeId;
import java.io.IOException;
import java.io.StringReader;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
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
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAKey;
import java.security.spec.ECGenParameterSpec;
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
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
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
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCSException;

/**
 * The mesh's certificate authority, in Linkerd's model: a long-lived <em>trust anchor</em> (a
 * self-signed root every workload trusts) and an <em>issuer</em> (an intermediate signed by the
 * anchor) that signs short-lived leaf certificates, X509-SVIDs whose only subject alternative name
 * is the workload's SPIFFE id. The anchor's key is needed only to make a new issuer, so it can be
 * kept offline.
 *
 * <p>The files live in one directory ({@link #loadOrCreate}); {@code trust-bundle.pem} there holds
 * extra anchors trusted during an anchor rotation (controller README, "Certificate authority").
 *
 * <p>Thread-safety: immutable once loaded; {@link #sign} may be called from any thread.
 */
public final class CertificateAuthority {
  private static final Logger LOG = System.getLogger("io.jmesh.controller.ca");

  static final String ANCHOR = "anchor.pem";
  static final String ANCHOR_KEY = "anchor-key.pem";
  static final String ISSUER = "issuer.pem";
  static final String ISSUER_KEY = "issuer-key.pem";
  static final String TRUST_BUNDLE = "trust-bundle.pem";

  /** The leaf lifetime when the caller asks for none, if the maximum allows it. */
  public static final Duration DEFAULT_LEAF_LIFETIME = Duration.ofHours(24);

  /** The default of the longest leaf lifetime the CA signs. */
  public static final Duration DEFAULT_MAX_LEAF_LIFETIME = Duration.ofHours(24);

  static final Duration ANCHOR_LIFETIME = Duration.ofDays(3650);
  static final Duration ISSUER_LIFETIME = Duration.ofDays(365);
  // Leaves are valid from a minute before they are signed: a workload whose clock is a little
  // behind the controller's would otherwise refuse its own new certificate.
  static final Duration CLOCK_SKEW = Duration.ofMinutes(1);

  private final Path dir;
  private final String trustDomain;
  private final Duration maxLeafLifetime;
  private final Clock clock;
  private final SecureRandom random;
  private final X509Certificate issuer;
  private final PrivateKey issuerKey;
  private final List<X509Certificate> anchors; // the anchor first, then trust-bundle.pem's extras
  private final String issuerPem;
  private final List<String> anchorPems;

  private CertificateAuthority(
      Path dir,
      String trustDomain,
      Duration maxLeafLifetime,
      Clock clock,
      SecureRandom random,
      X509Certificate issuer,
      PrivateKey issuerKey,
      List<X509Certificate> anchors) {
    this.dir = dir;
    this.trustDomain = trustDomain;
    this.maxLeafLifetime = maxLeafLifetime;
    this.clock = clock;
    this.random = random;
    this.issuer = issuer;
    this.issuerKey = issuerKey;
    this.anchors = List.copyOf(anchors);
    this.issuerPem = Pem.encode(issuer);
    List<String> pems = new ArrayList<>();
    for (X509Certificate anchor : anchors) {
      pems.add(Pem.encode(anchor));
    }
    this.anchorPems = List.copyOf(pems);
  }

  /** {@link #loadOrCreate(Path, String, Duration, Clock)} with the default maximum, 24 h. */
  public static CertificateAuthority loadOrCreate(Path dir, String trustDomain, Clock clock)
      throws IOException {
    return loadOrCreate(dir, trustDomain, DEFAULT_MAX_LEAF_LIFETIME, clock);
  }

  /**
   * Loads the CA of {@code dir}, or makes one there if the directory is empty or missing.
   *
   * <p>Loaded: {@code anchor.pem}, {@code issuer.pem} and {@code issuer-key.pem} are required,
   * {@code anchor-key.pem} and {@code trust-bundle.pem} optional. The issuer must be signed by the
   * anchor, valid now, and match its key. Made: an EC P-256 anchor (10 years) and issuer (1 year),
   * written with their keys; key files are readable by their owner only where the file system has
   * POSIX permissions. A directory with only some of the four files is refused: it is the trace of
   * a mistake, and a new CA would silently distrust every workload.
   *
   * @param maxLeafLifetime the longest leaf lifetime signed, whatever the caller asks
   * @throws IOException if the files cannot be read or written, or are inconsistent; the message
   *     names the file and what is wrong
   */
  public static CertificateAuthority loadOrCreate(
      Path dir, String trustDomain, Duration maxLeafLifetime, Clock clock) throws IOException {
    return loadOrCreate(dir, trustDomain, maxLeafLifetime, clock, new SecureRandom());
  }

  static CertificateAuthority loadOrCreate(
      Path dir, String trustDomain, Duration maxLeafLifetime, Clock clock, SecureRandom random)
      throws IOException {
    Objects.requireNonNull(dir, "dir");
    Objects.requireNonNull(clock, "clock");
    Objects.requireNonNull(random, "random");
    // Validates the trust domain with SpiffeId's rules, so the error reads the same.
    SpiffeId.of(Objects.requireNonNull(trustDomain, "trustDomain"), "ns", "sa");
    if (maxLeafLifetime == null || maxLeafLifetime.compareTo(Duration.ofSeconds(1)) < 0) {
      throw new IllegalArgumentException(
          "maxLeafLifetime: " + maxLeafLifetime + " (expected: at least 1 second)");
    }
    if (Files.exists(dir) && !Files.isDirectory(dir)) {
      throw new IOException(dir + ": not a directory (expected: a directory for the CA's files)");
    }
    List<String> present = new ArrayList<>();
    List<String> missing = new ArrayList<>();
    for (String name : List.of(ANCHOR, ANCHOR_KEY, ISSUER, ISSUER_KEY)) {
      (Files.exists(dir.resolve(name)) ? present : missing).add(name);
    }
    if (present.isEmpty()) {
      return create(dir, trustDomain, maxLeafLifetime, clock, random);
    }
    // The anchor's key may be kept offline: it is needed only to make a new issuer.
    missing.remove(ANCHOR_KEY);
    if (!missing.isEmpty()) {
      throw new IOException(
          dir
              + ": has "
              + String.join(", ", present)
              + " but not "
              + String.join(", ", missing)
              + " (expected: all of "
              + ANCHOR
              + ", "
              + ISSUER
              + ", "
              + ISSUER_KEY
              + ", or an empty directory for a new CA)");
    }
    return load(dir, trustDomain, maxLeafLifetime, clock, random);
  }

  private static CertificateAuthority load(
      Path dir, String trustDomain, Duration maxLeafLifetime, Clock clock, SecureRandom random)
      throws IOException {
    Path anchorFile = dir.resolve(ANCHOR);
    Path issuerFile = dir.resolve(ISSUER);
    Path issuerKeyFile = dir.resolve(ISSUER_KEY);
    X509Certificate anchor = Pem.readCertificate(anchorFile);
    requireCa(anchorFile, anchor);
    X509Certificate issuer = Pem.readCertificate(issuerFile);
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
    PrivateKey issuerKey = Pem.readPrivateKey(issuerKeyFile);
    requireMatch(issuerKeyFile, issuerKey, issuerFile, issuer.getPublicKey());
    warnIfOpen(issuerKeyFile);
    Path anchorKeyFile = dir.resolve(ANCHOR_KEY);
    if (Files.exists(anchorKeyFile)) {
      requireMatch(
          anchorKeyFile, Pem.readPrivateKey(anchorKeyFile), anchorFile, anchor.getPublicKey());
      warnIfOpen(anchorKeyFile);
    }
    List<X509Certificate> anchors = new ArrayList<>();
    anchors.add(anchor);
    Path bundleFile = dir.resolve(TRUST_BUNDLE);
    if (Files.exists(bundleFile)) {
      for (X509Certificate extra : Pem.readCertificates(bundleFile)) {
        requireCa(bundleFile, extra);
        if (!contains(anchors, extra)) {
          anchors.add(extra);
        }
      }
    }
    LOG.log(
        Level.INFO,
        "certificate authority: loaded from "
            + dir
            + ": issuer "
            + issuer.getSubjectX500Principal()
            + " valid until "
            + issuer.getNotAfter().toInstant()
            + ", "
            + anchors.size()
            + (anchors.size() == 1 ? " trust anchor" : " trust anchors"));
    return new CertificateAuthority(
        dir, trustDomain, maxLeafLifetime, clock, random, issuer, issuerKey, anchors);
  }

  private static CertificateAuthority create(
      Path dir, String trustDomain, Duration maxLeafLifetime, Clock clock, SecureRandom random)
      throws IOException {
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
                  serial(random),
                  Date.from(now.minus(CLOCK_SKEW)),
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
      anchor = certificate(root, anchorKeys.getPrivate());
      SubjectPublicKeyInfo issuerInfo =
          SubjectPublicKeyInfo.getInstance(issuerKeys.getPublic().getEncoded());
      X509v3CertificateBuilder intermediate =
          new X509v3CertificateBuilder(
                  anchorName,
                  serial(random),
                  Date.from(now.minus(CLOCK_SKEW)),
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
      issuer = certificate(intermediate, anchorKeys.getPrivate());
    } catch (GeneralSecurityException | CertIOException e) {
      throw new IllegalStateException("cannot make a CA with the JDK's EC provider", e);
    }
    boolean created = !Files.exists(dir);
    if (created && Pem.posix(dir)) {
      Files.createDirectories(
          dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    } else {
      Files.createDirectories(dir);
    }
    // Keys first: a crash part way leaves a directory that loadOrCreate refuses, naming what
    // is missing, rather than certificates without their keys.
    Pem.writeSecret(
        dir.resolve(ANCHOR_KEY),
        Pem.encodePrivateKey(anchorKeys.getPrivate()).getBytes(StandardCharsets.US_ASCII));
    Pem.writePublic(dir.resolve(ANCHOR), Pem.encode(anchor));
    Pem.writeSecret(
        dir.resolve(ISSUER_KEY),
        Pem.encodePrivateKey(issuerKeys.getPrivate()).getBytes(StandardCharsets.US_ASCII));
    Pem.writePublic(dir.resolve(ISSUER), Pem.encode(issuer));
    LOG.log(
        Level.INFO,
        "certificate authority: made a new trust anchor and issuer for trust domain "
            + trustDomain
            + " in "
            + dir
            + "; the anchor is valid until "
            + anchor.getNotAfter().toInstant());
    return new CertificateAuthority(
        dir,
        trustDomain,
        maxLeafLifetime,
        clock,
        random,
        issuer,
        issuerKeys.getPrivate(),
        List.of(anchor));
  }

  /**
   * Parses the PEM text of a PKCS#10 request, as {@code IstioCertificateRequest.csr} carries it.
   *
   * @throws CertificateRequestException ({@link CertificateRequestException.Kind#INVALID}) naming
   *     the problem
   */
  public static PKCS10CertificationRequest parseCsr(String pem) throws CertificateRequestException {
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

  /**
   * Signs a leaf certificate for {@code caller}, the identity its credentials proved.
   *
   * <p>The request must be signed by the key it holds and ask, in its subject alternative names,
   * for exactly one name: the URI of {@code caller}. The leaf has an empty subject, that URI as its
   * only SAN (critical, as SPIFFE asks of an empty subject), a random 128-bit serial, key usages
   * digitalSignature and keyEncipherment, extended key usages serverAuth and clientAuth, and is
   * valid from a minute ago for {@code requested} (24 h when {@code requested} is null or not
   * positive), at most {@link #maxLeafLifetime()} and never past the issuer's end.
   *
   * @return PEM certificates: the leaf, the issuer, then every trust anchor (the order of {@code
   *     IstioCertificateResponse.cert_chain})
   * @throws CertificateRequestException naming what was asked and what was expected
   */
  public List<String> sign(PKCS10CertificationRequest csr, SpiffeId caller, Duration requested)
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
                  serial(random),
                  Date.from(now.minus(CLOCK_SKEW)),
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
      chain.add(Pem.encode(certificate(leaf, issuerKey)));
      chain.add(issuerPem);
      chain.addAll(anchorPems);
      return chain;
    } catch (GeneralSecurityException | CertIOException e) {
      throw new IllegalStateException("cannot sign a leaf for " + caller, e);
    }
  }

  /** The trust domain of every identity this CA signs. */
  public String trustDomain() {
    return trustDomain;
  }

  /** The longest leaf lifetime this CA signs. */
  public Duration maxLeafLifetime() {
    return maxLeafLifetime;
  }

  /** The directory of the CA's files. */
  public Path dir() {
    return dir;
  }

  /** The issuer certificate, which signs the leaves. */
  public X509Certificate issuer() {
    return issuer;
  }

  /** The trust anchors served: the anchor, then {@code trust-bundle.pem}'s extras; unmodifiable. */
  public List<X509Certificate> anchors() {
    return anchors;
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

  private static X509Certificate certificate(X509v3CertificateBuilder builder, PrivateKey signer)
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

  private static String signatureAlgorithm(PrivateKey key) {
    // An issuer made elsewhere (openssl, step) may be RSA; ours are EC.
    return key.getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
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

  /** A positive random 128-bit serial (RFC 5280 allows up to 20 octets; CAs use ≥ 64 bits). */
  private static BigInteger serial(SecureRandom random) {
    BigInteger serial;
    do {
      byte[] bytes = new byte[16];
      random.nextBytes(bytes);
      serial = new BigInteger(1, bytes);
    } while (serial.signum() == 0);
    return serial;
  }

  private static X500Name name(String commonName) {
    return new X500NameBuilder(BCStyle.INSTANCE)
        .addRDN(BCStyle.O, "jmesh")
        .addRDN(BCStyle.CN, commonName)
        .build();
  }

  private static void requireCa(Path file, X509Certificate certificate) throws IOException {
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
      Path keyFile, PrivateKey key, Path certificateFile, PublicKey publicKey) throws IOException {
    byte[] probe = "jmesh key check".getBytes(StandardCharsets.US_ASCII);
    boolean matches;
    try {
      String algorithm = signatureAlgorithm(key);
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
              + certificateFile.getFileName()
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

  private static CertificateRequestException invalid(String message) {
    return new CertificateRequestException(CertificateRequestException.Kind.INVALID, message);
  }

  private static CertificateRequestException forbidden(String message) {
    return new CertificateRequestException(CertificateRequestException.Kind.FORBIDDEN, message);
  }
}
