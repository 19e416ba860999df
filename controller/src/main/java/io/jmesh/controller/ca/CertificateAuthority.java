package io.jmesh.controller.ca;

import io.jmesh.runtime.identity.SpiffeId;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;

/**
 * The mesh's certificate authority, in Linkerd's model: a long-lived <em>trust anchor</em> (a
 * self-signed root every workload trusts) and an <em>issuer</em> (an intermediate signed by the
 * anchor) that signs short-lived leaf certificates, X509-SVIDs whose only subject alternative name
 * is the workload's SPIFFE id. The anchor's key is needed only to make a new issuer, so it can be
 * kept offline.
 *
 * <p>This class is what the rest of the controller uses; it composes the two parts and adds
 * nothing: {@link CaStore} loads, checks or makes the files of the CA's directory ({@code
 * trust-bundle.pem} there holds extra anchors trusted during an anchor rotation; controller README,
 * "Certificate authority"), and {@link LeafSigner} checks each request and signs its leaf.
 *
 * <p>Thread-safety: immutable once loaded; {@link #sign} may be called from any thread.
 */
public final class CertificateAuthority {
  /** The leaf lifetime when the caller asks for none, if the maximum allows it. */
  public static final Duration DEFAULT_LEAF_LIFETIME = LeafSigner.DEFAULT_LEAF_LIFETIME;

  /** The default of the longest leaf lifetime the CA signs. */
  public static final Duration DEFAULT_MAX_LEAF_LIFETIME = Duration.ofHours(24);

  private final CaStore store;
  private final LeafSigner signer;
  private final String trustDomain;
  private final Duration maxLeafLifetime;
  private final Clock clock;
  private final SecureRandom random;
  private final String location;

  private CertificateAuthority(
      CaStore store,
      LeafSigner signer,
      String trustDomain,
      Duration maxLeafLifetime,
      Clock clock,
      SecureRandom random,
      String location) {
    this.store = store;
    this.signer = signer;
    this.trustDomain = trustDomain;
    this.maxLeafLifetime = maxLeafLifetime;
    this.clock = clock;
    this.random = random;
    this.location = location != null ? location : String.valueOf(store.dir());
  }

  /** The file, in the CA's directory, that {@link #writeTrustAnchors} writes. */
  public static final String TRUST_ANCHORS_FILE = "trust-anchors.pem";

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
    CaStore store = CaStore.loadOrCreate(dir, trustDomain, clock, random);
    return new CertificateAuthority(
        store,
        new LeafSigner(store, trustDomain, maxLeafLifetime, clock, random),
        trustDomain,
        maxLeafLifetime,
        clock,
        random,
        null);
  }

  /**
   * Loads a CA from PEM texts keyed by file name, as a Kubernetes Secret holds them ({@code
   * anchor.pem}, {@code issuer.pem}, {@code issuer-key.pem}; optional {@code anchor-key.pem} and
   * {@code trust-bundle.pem}), with the checks of {@link #loadOrCreate}.
   *
   * @param location where the texts come from, in errors and logs ({@code secret ns/name})
   * @throws IOException naming the location, the key and what is wrong
   */
  public static CertificateAuthority fromPems(
      String location,
      Map<String, String> pems,
      String trustDomain,
      Duration maxLeafLifetime,
      Clock clock)
      throws IOException {
    Objects.requireNonNull(location, "location");
    SpiffeId.of(Objects.requireNonNull(trustDomain, "trustDomain"), "ns", "sa");
    Objects.requireNonNull(maxLeafLifetime, "maxLeafLifetime");
    SecureRandom random = new SecureRandom();
    CaStore store = CaStore.fromPems(location, pems, clock);
    return new CertificateAuthority(
        store,
        new LeafSigner(store, trustDomain, maxLeafLifetime, clock, random),
        trustDomain,
        maxLeafLifetime,
        clock,
        random,
        location);
  }

  /**
   * A new CA's PEM texts by file name ({@code anchor-key.pem}, {@code anchor.pem}, {@code
   * issuer-key.pem}, {@code issuer.pem}), what {@link #fromPems} loads; nothing is written. The
   * keys are secrets.
   */
  public static Map<String, String> newCaPems(String trustDomain, Clock clock) {
    return CaStore.newCa(trustDomain, clock, new SecureRandom());
  }

  /**
   * Parses the PEM text of a PKCS#10 request, as {@code IstioCertificateRequest.csr} carries it.
   *
   * @throws CertificateRequestException ({@link CertificateRequestException.Kind#INVALID}) naming
   *     the problem
   */
  public static PKCS10CertificationRequest parseCsr(String pem) throws CertificateRequestException {
    return LeafSigner.parseCsr(pem);
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
    return signer.sign(csr, caller, requested);
  }

  /**
   * Issues the controller's own serving certificate for {@code names} (DNS names and IP literals),
   * renewed by {@link ServingCertificate#renewIfDue} with this CA's clock.
   */
  public ServingCertificate servingCertificate(List<String> names) {
    return new ServingCertificate(signer, names, clock, random);
  }

  /**
   * Issues a serving certificate with a new EC P-256 key for {@code names} (DNS names and IP
   * literals), extended key usage serverAuth, valid for {@code lifetime} (never past the issuer's
   * end), for a server that reads it from files (the injector webhook's Secret).
   *
   * @return PEM texts: {@code chain} the leaf then the issuer, {@code key} PKCS#8 (a secret)
   */
  public IssuedPems issueServing(List<String> names, Duration lifetime) {
    java.security.KeyPair keys = ServingCertificate.newKeyPair(random);
    X509Certificate[] chain = signer.signServing(keys.getPublic(), names, lifetime);
    return new IssuedPems(Pem.encode(chain[0]) + Pem.encode(chain[1]), Pem.encodePrivateKey(keys.getPrivate()));
  }

  /**
   * A certificate chain and its key as PEM.
   *
   * @param chain the leaf, then the issuer
   * @param key the leaf's private key, PKCS#8
   */
  public record IssuedPems(String chain, String key) {}

  /**
   * Writes every trust anchor ({@link #anchors()}) as PEM to {@code <dir>/trust-anchors.pem},
   * replacing the file atomically: what operators hand to agents out of band
   * ({@code JMESH_TRUST_ANCHORS_FILE}). It holds public certificates only.
   *
   * @return the file written
   */
  public Path writeTrustAnchors() throws IOException {
    if (dir() == null) {
      throw new IllegalStateException("this CA has no directory (loaded from " + location + ")");
    }
    String pem = trustAnchorsPem();
    Path file = dir().resolve(TRUST_ANCHORS_FILE);
    Path tmp = dir().resolve(TRUST_ANCHORS_FILE + ".tmp");
    Files.writeString(tmp, pem, StandardCharsets.US_ASCII);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    return file;
  }

  /** Every trust anchor ({@link #anchors()}) as PEM: what agents verify the controller with. */
  public String trustAnchorsPem() {
    StringBuilder pem = new StringBuilder();
    for (X509Certificate anchor : anchors()) {
      pem.append(Pem.encode(anchor));
    }
    return pem.toString();
  }

  /** The trust domain of every identity this CA signs. */
  public String trustDomain() {
    return trustDomain;
  }

  /** The longest leaf lifetime this CA signs. */
  public Duration maxLeafLifetime() {
    return maxLeafLifetime;
  }

  /** The directory of the CA's files; null for a CA loaded by {@link #fromPems}. */
  public Path dir() {
    return store.dir();
  }

  /** Where the CA's keys come from: its directory, or the location given to {@link #fromPems}. */
  public String location() {
    return location;
  }

  /** The issuer certificate, which signs the leaves. */
  public X509Certificate issuer() {
    return store.issuer();
  }

  /** The trust anchors served: the anchor, then {@code trust-bundle.pem}'s extras; unmodifiable. */
  public List<X509Certificate> anchors() {
    return store.anchors();
  }
}
