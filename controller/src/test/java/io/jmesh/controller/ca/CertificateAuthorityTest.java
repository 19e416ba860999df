package io.jmesh.controller.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmesh.runtime.identity.SpiffeId;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateAuthorityTest {
  private static final Instant NOW = Instant.parse("2026-12-01T10:00:00Z");
  private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
  private static final SpiffeId HELLO = SpiffeId.of("cluster.local", "default", "hello");

  @TempDir Path tmp;

  @Test
  void makesPersistsAndReloadsTheSameCa() throws Exception {
    Path dir = tmp.resolve("ca"); // missing: made with the CA
    CertificateAuthority made = CertificateAuthority.loadOrCreate(dir, "cluster.local", CLOCK);

    assertThat(dir.resolve("anchor.pem")).exists();
    assertThat(dir.resolve("issuer.pem")).exists();
    if (Pem.posix(dir)) {
      for (String key : List.of("anchor-key.pem", "issuer-key.pem")) {
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(key))))
            .as(key)
            .isEqualTo("rw-------");
      }
    }
    X509Certificate anchor = made.anchors().get(0);
    assertThat(anchor.getBasicConstraints()).isEqualTo(Integer.MAX_VALUE); // CA, no path limit
    assertThat(anchor.getKeyUsage()[5]).as("keyCertSign").isTrue();
    assertThat(anchor.getNotAfter().toInstant()).isEqualTo(NOW.plus(Duration.ofDays(3650)));
    assertThat(made.issuer().getBasicConstraints()).isZero(); // CA, path length 0
    assertThat(made.issuer().getNotAfter().toInstant()).isEqualTo(NOW.plus(Duration.ofDays(365)));
    made.issuer().verify(anchor.getPublicKey());

    // A restart loads the same anchor and issuer rather than making new ones.
    CertificateAuthority loaded = CertificateAuthority.loadOrCreate(dir, "cluster.local", CLOCK);
    assertThat(loaded.anchors()).containsExactly(anchor);
    assertThat(loaded.issuer()).isEqualTo(made.issuer());
  }

  @Test
  void aDirectoryWithSomeOfTheFilesIsRefusedNamingTheMissingOnes() throws Exception {
    Path dir = tmp.resolve("ca");
    CertificateAuthority.loadOrCreate(dir, "cluster.local", CLOCK);
    Files.delete(dir.resolve("issuer.pem"));
    Files.delete(dir.resolve("issuer-key.pem"));

    assertThatThrownBy(() -> CertificateAuthority.loadOrCreate(dir, "cluster.local", CLOCK))
        .isInstanceOf(IOException.class)
        .hasMessage(
            dir
                + ": has anchor.pem, anchor-key.pem but not issuer.pem, issuer-key.pem (expected:"
                + " all of anchor.pem, issuer.pem, issuer-key.pem, or an empty directory for a"
                + " new CA)");
  }

  @Test
  void theAnchorKeyMayBeKeptOffline() throws Exception {
    Path dir = tmp.resolve("ca");
    CertificateAuthority made = CertificateAuthority.loadOrCreate(dir, "cluster.local", CLOCK);
    Files.delete(dir.resolve("anchor-key.pem"));

    assertThat(CertificateAuthority.loadOrCreate(dir, "cluster.local", CLOCK).issuer())
        .isEqualTo(made.issuer());
  }

  @Test
  void inconsistentFilesAreRefusedNamingTheFile() throws Exception {
    Path dir = tmp.resolve("ca");
    Path other = tmp.resolve("other");
    CertificateAuthority.loadOrCreate(dir, "cluster.local", CLOCK);
    CertificateAuthority.loadOrCreate(other, "cluster.local", CLOCK);

    // The issuer's key of another CA.
    Files.copy(
        other.resolve("issuer-key.pem"),
        dir.resolve("issuer-key.pem"),
        StandardCopyOption.REPLACE_EXISTING);
    assertThatThrownBy(() -> CertificateAuthority.loadOrCreate(dir, "cluster.local", CLOCK))
        .hasMessage(
            dir.resolve("issuer-key.pem")
                + ": does not match the public key of issuer.pem (expected: the private key of"
                + " that certificate)");

    // The issuer of another CA, with its key: not signed by this anchor.
    Files.copy(
        other.resolve("issuer.pem"),
        dir.resolve("issuer.pem"),
        StandardCopyOption.REPLACE_EXISTING);
    assertThatThrownBy(() -> CertificateAuthority.loadOrCreate(dir, "cluster.local", CLOCK))
        .hasMessageStartingWith(
            dir.resolve("issuer.pem") + ": not signed by the anchor in anchor.pem, ")
        .hasMessageContaining("(expected: an issuer signed by the anchor's key; its issuer is ");

    // Not PEM at all.
    Files.writeString(dir.resolve("anchor.pem"), "hello\n");
    assertThatThrownBy(() -> CertificateAuthority.loadOrCreate(dir, "cluster.local", CLOCK))
        .hasMessage(dir.resolve("anchor.pem") + ": holds 0 certificates (expected: exactly 1)");
  }

  @Test
  void aFileWhereTheDirectoryShouldBeIsRefused() throws Exception {
    Path file = Files.writeString(tmp.resolve("ca"), "");

    assertThatThrownBy(() -> CertificateAuthority.loadOrCreate(file, "cluster.local", CLOCK))
        .hasMessage(file + ": not a directory (expected: a directory for the CA's files)");
  }

  @Test
  void anExpiredIssuerIsRefusedAtLoad() throws Exception {
    Path dir = tmp.resolve("ca");
    CertificateAuthority.loadOrCreate(dir, "cluster.local", CLOCK);
    Instant later = NOW.plus(Duration.ofDays(366));

    assertThatThrownBy(
            () ->
                CertificateAuthority.loadOrCreate(
                    dir, "cluster.local", Clock.fixed(later, ZoneOffset.UTC)))
        .hasMessage(
            dir.resolve("issuer.pem")
                + ": expired at 2027-12-01T10:00:00Z (expected: valid now, 2027-12-02T10:00:00Z;"
                + " make a new issuer with the anchor's key)");
  }

  @Test
  void aLeafChainsToTheAnchorAndHoldsTheCallersIdentity() throws Exception {
    CertificateAuthority ca =
        CertificateAuthority.loadOrCreate(tmp.resolve("ca"), "cluster.local", CLOCK);

    List<String> chain = ca.sign(Csrs.forUris(HELLO.toString()), HELLO, Duration.ZERO);

    // Leaf, issuer, anchor: the order of IstioCertificateResponse.cert_chain.
    assertThat(chain).hasSize(3);
    X509Certificate leaf = Csrs.certificate(chain.get(0));
    assertThat(Csrs.certificate(chain.get(1))).isEqualTo(ca.issuer());
    assertThat(Csrs.certificate(chain.get(2))).isEqualTo(ca.anchors().get(0));

    // PKIX, as a TLS stack would check it (no revocation: the mesh has none; short leaves instead).
    PKIXParameters pkix = new PKIXParameters(Set.of(new TrustAnchor(ca.anchors().get(0), null)));
    pkix.setRevocationEnabled(false);
    pkix.setDate(Date.from(NOW));
    CertPathValidator.getInstance("PKIX")
        .validate(
            CertificateFactory.getInstance("X.509").generateCertPath(List.of(leaf, ca.issuer())),
            pkix);

    assertThat(leaf.getSubjectX500Principal().getName()).isEmpty();
    assertThat(leaf.getSubjectAlternativeNames())
        .containsExactly(List.of(GeneralName.uniformResourceIdentifier, HELLO.toString()));
    assertThat(leaf.getCriticalExtensionOIDs())
        .contains("2.5.29.17"); // SAN, as the subject is empty
    assertThat(leaf.getExtendedKeyUsage())
        .containsExactlyInAnyOrder("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"); // server, client
    boolean[] usage = leaf.getKeyUsage();
    assertThat(usage[0]).as("digitalSignature").isTrue();
    assertThat(usage[2]).as("keyEncipherment").isTrue();
    assertThat(usage[5]).as("keyCertSign").isFalse();
    assertThat(leaf.getBasicConstraints()).isEqualTo(-1); // not a CA
    // The leaf names its issuer by key id only, the issuer's subject key id.
    AuthorityKeyIdentifier aki =
        AuthorityKeyIdentifier.getInstance(
            JcaX509ExtensionUtils.parseExtensionValue(leaf.getExtensionValue("2.5.29.35")));
    assertThat(aki.getAuthorityCertIssuer()).isNull();
    assertThat(aki.getKeyIdentifier())
        .isEqualTo(
            SubjectKeyIdentifier.getInstance(
                    JcaX509ExtensionUtils.parseExtensionValue(
                        ca.issuer().getExtensionValue("2.5.29.14")))
                .getKeyIdentifier());
    assertThat(leaf.getExtensionValue("2.5.29.14")).as("subject key id").isNotNull();
    assertThat(leaf.getSerialNumber().bitLength()).isBetween(100, 128);
    // A minute of clock skew before, the default 24 h after.
    assertThat(leaf.getNotBefore().toInstant()).isEqualTo(NOW.minus(Duration.ofMinutes(1)));
    assertThat(leaf.getNotAfter().toInstant()).isEqualTo(NOW.plus(Duration.ofHours(24)));

    // Two leaves never share a serial.
    X509Certificate second =
        Csrs.certificate(ca.sign(Csrs.forUris(HELLO.toString()), HELLO, null).get(0));
    assertThat(second.getSerialNumber()).isNotEqualTo(leaf.getSerialNumber());
  }

  @Test
  void theLifetimeIsWhatWasAskedUpToTheMaximum() throws Exception {
    CertificateAuthority ca =
        CertificateAuthority.loadOrCreate(
            tmp.resolve("ca"), "cluster.local", Duration.ofHours(1), CLOCK);

    assertThat(notAfter(ca, Duration.ofMinutes(30))).isEqualTo(NOW.plus(Duration.ofMinutes(30)));
    assertThat(notAfter(ca, Duration.ofHours(2))).isEqualTo(NOW.plus(Duration.ofHours(1)));
    // Nothing asked: the default, 24 h, capped too.
    assertThat(notAfter(ca, Duration.ZERO)).isEqualTo(NOW.plus(Duration.ofHours(1)));
    assertThat(notAfter(ca, Duration.ofSeconds(-5))).isEqualTo(NOW.plus(Duration.ofHours(1)));
  }

  @Test
  void noLeafOutlivesTheIssuer() throws Exception {
    Path dir = tmp.resolve("ca");
    CertificateAuthority made = CertificateAuthority.loadOrCreate(dir, "cluster.local", CLOCK);
    Instant issuerEnd = made.issuer().getNotAfter().toInstant();
    // The same CA an hour before its issuer ends.
    CertificateAuthority late =
        CertificateAuthority.loadOrCreate(
            dir,
            "cluster.local",
            Clock.fixed(issuerEnd.minus(Duration.ofHours(1)), ZoneOffset.UTC));

    assertThat(notAfter(late, Duration.ofHours(24))).isEqualTo(issuerEnd);
  }

  @Test
  void requestsForAnotherIdentityOrOtherNamesAreRefused() throws Exception {
    CertificateAuthority ca =
        CertificateAuthority.loadOrCreate(tmp.resolve("ca"), "cluster.local", CLOCK);
    String expected = "(expected: exactly one URI SAN, spiffe://cluster.local/ns/default/sa/hello)";

    assertRefused(
        ca,
        Csrs.forUris("spiffe://cluster.local/ns/default/sa/admin"),
        CertificateRequestException.Kind.FORBIDDEN,
        "CSR asks for spiffe://cluster.local/ns/default/sa/admin but the caller is"
            + " spiffe://cluster.local/ns/default/sa/hello");
    assertRefused(
        ca,
        Csrs.forUris("spiffe://evil.example/ns/default/sa/hello"),
        CertificateRequestException.Kind.FORBIDDEN,
        "CSR asks for spiffe://evil.example/ns/default/sa/hello in trust domain evil.example"
            + " (expected: cluster.local)");
    assertRefused(
        ca,
        Csrs.forUris(HELLO.toString(), "spiffe://cluster.local/ns/default/sa/admin"),
        CertificateRequestException.Kind.INVALID,
        "CSR asks for URI spiffe://cluster.local/ns/default/sa/hello,"
            + " URI spiffe://cluster.local/ns/default/sa/admin "
            + expected);
    KeyPair keys = Csrs.keyPair();
    assertRefused(
        ca,
        Csrs.build(
            keys, keys, new GeneralNames(new GeneralName(GeneralName.dNSName, "hello.default"))),
        CertificateRequestException.Kind.INVALID,
        "CSR asks for DNS hello.default " + expected);
    assertRefused(
        ca,
        Csrs.build(keys, keys, null),
        CertificateRequestException.Kind.INVALID,
        "CSR has no subject alternative name " + expected);
    // Signed by another key than the one it holds: whoever sent it does not own that key.
    GeneralNames hello =
        new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, HELLO.toString()));
    assertRefused(
        ca,
        Csrs.build(keys, Csrs.keyPair(), hello),
        CertificateRequestException.Kind.INVALID,
        "CSR signature does not verify with the CSR's own public key");
    // A caller of another trust domain (an authenticator misconfigured) gets nothing.
    assertThatThrownBy(
            () ->
                ca.sign(
                    Csrs.forUris("spiffe://other.example/ns/default/sa/hello"),
                    SpiffeId.of("other.example", "default", "hello"),
                    null))
        .hasMessage(
            "the caller spiffe://other.example/ns/default/sa/hello is in trust domain"
                + " other.example (expected: cluster.local)");
  }

  @Test
  void csrPemThatIsNotARequestIsRefused() throws Exception {
    CertificateAuthority ca =
        CertificateAuthority.loadOrCreate(tmp.resolve("ca"), "cluster.local", CLOCK);

    assertThatThrownBy(() -> CertificateAuthority.parseCsr("not pem"))
        .hasMessage("csr: holds no PEM block (expected: one CERTIFICATE REQUEST)");
    assertThatThrownBy(() -> CertificateAuthority.parseCsr(Pem.encode(ca.issuer())))
        .hasMessage("csr: holds 1 PEM blocks (expected: one CERTIFICATE REQUEST)");
    PKCS10CertificationRequest csr = Csrs.forUris(HELLO.toString());
    assertThat(CertificateAuthority.parseCsr(Pem.encode(csr))).isEqualTo(csr);
  }

  @Test
  void extraAnchorsOfTheTrustBundleAreServedAfterTheAnchor() throws Exception {
    Path dir = tmp.resolve("ca");
    CertificateAuthority ca = CertificateAuthority.loadOrCreate(dir, "cluster.local", CLOCK);
    CertificateAuthority next =
        CertificateAuthority.loadOrCreate(tmp.resolve("next"), "cluster.local", CLOCK);
    // The next anchor, and the current one again: served once.
    Files.writeString(
        dir.resolve("trust-bundle.pem"),
        Pem.encode(next.anchors().get(0)) + Pem.encode(ca.anchors().get(0)));

    CertificateAuthority rotating = CertificateAuthority.loadOrCreate(dir, "cluster.local", CLOCK);
    List<String> chain = rotating.sign(Csrs.forUris(HELLO.toString()), HELLO, null);

    assertThat(rotating.anchors()).containsExactly(ca.anchors().get(0), next.anchors().get(0));
    assertThat(chain).hasSize(4);
    assertThat(Csrs.certificate(chain.get(2))).isEqualTo(ca.anchors().get(0));
    assertThat(Csrs.certificate(chain.get(3))).isEqualTo(next.anchors().get(0));
  }

  private static Instant notAfter(CertificateAuthority ca, Duration requested) throws Exception {
    return Csrs.certificate(ca.sign(Csrs.forUris(HELLO.toString()), HELLO, requested).get(0))
        .getNotAfter()
        .toInstant();
  }

  private static void assertRefused(
      CertificateAuthority ca,
      PKCS10CertificationRequest csr,
      CertificateRequestException.Kind kind,
      String message) {
    assertThatThrownBy(() -> ca.sign(csr, HELLO, null))
        .isInstanceOf(CertificateRequestException.class)
        .hasMessage(message)
        .extracting(e -> ((CertificateRequestException) e).kind())
        .isEqualTo(kind);
  }
}
