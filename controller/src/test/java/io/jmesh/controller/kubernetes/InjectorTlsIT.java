package io.jmesh.controller.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.jmesh.controller.ca.CertificateAuthority;
import io.jmesh.controller.install.InstallOptions;
import io.jmesh.controller.install.Manifests;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The injector's certificate and its webhook's caBundle written by the controller, on fabric8's
 * mock API server in CRUD mode with {@code jmesh install}'s objects applied. Time is a clock the
 * test moves; each check is one {@link InjectorTls#reconcile} call, as the scheduler would make.
 */
@EnableKubernetesMockClient(crud = true)
class InjectorTlsIT {
  static final String NS = InstallOptions.DEFAULT_NAMESPACE;

  KubernetesClient client;

  private final MovableClock clock = new MovableClock(Instant.parse("2026-12-07T09:00:00Z"));
  private final AtomicBoolean leading = new AtomicBoolean(true);
  private CertificateAuthority ca;
  private InjectorTls tls;

  @BeforeEach
  void installAndMakeACa() throws Exception {
    InstallOptions options = new InstallOptions(NS, "ghcr.io/jmesh/controller:test");
    for (HasMetadata o : client.load(new ByteArrayInputStream(
        Manifests.yaml(Manifests.objects(options)).getBytes(StandardCharsets.UTF_8))).items()) {
      client.resource(o).create();
    }
    ca = CertificateAuthority.fromPems("test", CertificateAuthority.newCaPems("cluster.local", clock),
        "cluster.local", Duration.ofHours(24), clock);
    tls = new InjectorTls(client, NS, ca, leading::get, clock);
  }

  @Test
  void theLeaderWritesACertificateThatChainsToTheAnchorsAndNamesTheService() throws Exception {
    assertThat(tls.reconcile()).isEqualTo(InjectorTls.Result.ISSUED);

    Secret secret = secret();
    assertThat(secret.getType()).isEqualTo("kubernetes.io/tls");
    assertThat(secret.getData()).containsOnlyKeys("tls.crt", "tls.key", "ca.crt");
    assertThat(text(secret, "ca.crt")).isEqualTo(ca.trustAnchorsPem());
    List<X509Certificate> chain = certificates(text(secret, "tls.crt"));
    X509Certificate leaf = chain.get(0);
    // The chain validates against the anchors of ca.crt, as the API server does with the caBundle.
    PKIXParameters params = new PKIXParameters(certificates(text(secret, "ca.crt")).stream()
        .map(a -> new TrustAnchor(a, null)).collect(Collectors.toSet()));
    params.setRevocationEnabled(false);
    params.setDate(Date.from(clock.instant()));
    CertPathValidator.getInstance("PKIX").validate(
        CertificateFactory.getInstance("X.509").generateCertPath(chain), params);
    assertThat(sans(leaf)).containsExactlyInAnyOrder(
        "jmesh-injector.jmesh-system.svc", "jmesh-injector.jmesh-system.svc.cluster.local",
        "jmesh-injector.jmesh-system");
    assertThat(leaf.getExtendedKeyUsage()).contains("1.3.6.1.5.5.7.3.1"); // serverAuth
    // tls.key is the leaf's key: what it signs, the leaf's public key verifies.
    PrivateKey key = KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(Base64.getMimeDecoder()
        .decode(text(secret, "tls.key").replaceAll("-----[A-Z ]+-----", ""))));
    Signature signer = Signature.getInstance("SHA256withECDSA");
    signer.initSign(key);
    signer.update(new byte[] {1, 2, 3});
    byte[] signature = signer.sign();
    Signature verifier = Signature.getInstance("SHA256withECDSA");
    verifier.initVerify(leaf.getPublicKey());
    verifier.update(new byte[] {1, 2, 3});
    assertThat(verifier.verify(signature)).isTrue();

    // The caBundle of both entries is now the anchors.
    assertThat(webhook().getWebhooks()).extracting(w -> w.getClientConfig().getCaBundle())
        .containsOnly(base64(ca.trustAnchorsPem()));
    // A second check changes nothing.
    String version = secret.getMetadata().getResourceVersion();
    assertThat(tls.reconcile()).isEqualTo(InjectorTls.Result.UP_TO_DATE);
    assertThat(secret().getMetadata().getResourceVersion()).isEqualTo(version);
  }

  @Test
  void aCertificateWithLessThanAThirdOfItsLifeLeftIsRenewed() throws Exception {
    assertThat(tls.reconcile()).isEqualTo(InjectorTls.Result.ISSUED);
    X509Certificate first = certificates(text(secret(), "tls.crt")).get(0);
    Instant from = first.getNotBefore().toInstant();
    Duration life = Duration.between(from, first.getNotAfter().toInstant());

    // Just before two thirds of its life: kept.
    clock.set(from.plus(life.multipliedBy(2).dividedBy(3)).minusSeconds(1));
    assertThat(tls.reconcile()).isEqualTo(InjectorTls.Result.UP_TO_DATE);
    assertThat(certificates(text(secret(), "tls.crt")).get(0)).isEqualTo(first);

    // At two thirds: a new one, with a new key, valid from now.
    clock.set(from.plus(life.multipliedBy(2).dividedBy(3)));
    assertThat(tls.reconcile()).isEqualTo(InjectorTls.Result.ISSUED);
    X509Certificate second = certificates(text(secret(), "tls.crt")).get(0);
    assertThat(second.getSerialNumber()).isNotEqualTo(first.getSerialNumber());
    assertThat(second.getPublicKey()).isNotEqualTo(first.getPublicKey());
    assertThat(second.getNotAfter().toInstant()).isAfter(first.getNotAfter().toInstant());
  }

  @Test
  void aForeignOrWrongCertificateIsReplaced() throws Exception {
    // Someone else's certificate (another CA's, for another name) in the Secret: replaced.
    CertificateAuthority other = CertificateAuthority.fromPems("other",
        CertificateAuthority.newCaPems("cluster.local", clock), "cluster.local", Duration.ofHours(24), clock);
    CertificateAuthority.IssuedPems foreign = other.issueServing(List.of("elsewhere.svc"), Duration.ofDays(7));
    client.resource(new SecretBuilder().withNewMetadata().withName(InjectorTls.SECRET).withNamespace(NS)
        .endMetadata().withType("kubernetes.io/tls")
        .addToData("tls.crt", base64(foreign.chain())).addToData("tls.key", base64(foreign.key()))
        .addToData("ca.crt", base64(ca.trustAnchorsPem())).build()).create();

    assertThat(tls.reconcile()).isEqualTo(InjectorTls.Result.ISSUED);
    X509Certificate leaf = certificates(text(secret(), "tls.crt")).get(0);
    leaf.verify(ca.issuer().getPublicKey());
    assertThat(sans(leaf)).contains("jmesh-injector.jmesh-system.svc");
  }

  @Test
  void aDifferentCaBundleIsPatchedBack() {
    assertThat(tls.reconcile()).isEqualTo(InjectorTls.Result.ISSUED);
    // Someone re-applies an old bundle into one entry.
    client.admissionRegistration().v1().mutatingWebhookConfigurations().withName(InjectorTls.WEBHOOK).edit(w -> {
      w.getWebhooks().get(1).getClientConfig().setCaBundle(base64("stale"));
      return w;
    });

    assertThat(tls.reconcile()).isEqualTo(InjectorTls.Result.UP_TO_DATE);
    assertThat(webhook().getWebhooks()).extracting(MutatingWebhook::getName, w -> w.getClientConfig().getCaBundle())
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("namespace.inject.jmesh.io", base64(ca.trustAnchorsPem())),
            org.assertj.core.groups.Tuple.tuple("pod.inject.jmesh.io", base64(ca.trustAnchorsPem())));
  }

  @Test
  void aReplicaThatDoesNotLeadWritesNothing() {
    leading.set(false);
    assertThat(tls.reconcile()).isEqualTo(InjectorTls.Result.NOT_LEADING);
    assertThat(client.secrets().inNamespace(NS).withName(InjectorTls.SECRET).get()).isNull();
    assertThat(webhook().getWebhooks()).allSatisfy(w -> assertThat(w.getClientConfig().getCaBundle()).isNull());

    // It takes over once it leads.
    leading.set(true);
    assertThat(tls.reconcile()).isEqualTo(InjectorTls.Result.ISSUED);
    assertThat(secret()).isNotNull();
  }

  @Test
  void startedItWritesAsSoonAsItGainsTheLease() {
    // The scheduler's first check may come before the election is won; winning triggers another,
    // long before the next minute's.
    StatusLeader leader = new StatusLeader(client, new StatusLeader.Settings(
        NS, "jmesh-controller", "replica-a", Duration.ofSeconds(15), Duration.ofSeconds(10), Duration.ofSeconds(2)));
    InjectorTls started = new InjectorTls(client, NS, ca, leader::isLeading, Clock.systemUTC());
    try {
      started.start(leader);
      leader.start();
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
        assertThat(client.secrets().inNamespace(NS).withName(InjectorTls.SECRET).get()).isNotNull();
        assertThat(webhook().getWebhooks()).extracting(w -> w.getClientConfig().getCaBundle())
            .containsOnly(base64(ca.trustAnchorsPem()));
      });
    } finally {
      started.close();
      leader.close();
    }
  }

  @Test
  void withoutTheWebhookTheCertificateIsStillWritten() {
    client.admissionRegistration().v1().mutatingWebhookConfigurations().withName(InjectorTls.WEBHOOK).delete();
    assertThat(tls.reconcile()).isEqualTo(InjectorTls.Result.ISSUED);
    assertThat(secret()).isNotNull();
  }

  private Secret secret() {
    return client.secrets().inNamespace(NS).withName(InjectorTls.SECRET).get();
  }

  private MutatingWebhookConfiguration webhook() {
    return client.admissionRegistration().v1().mutatingWebhookConfigurations().withName(InjectorTls.WEBHOOK).get();
  }

  private static String text(Secret secret, String key) {
    return new String(Base64.getMimeDecoder().decode(secret.getData().get(key)), StandardCharsets.US_ASCII);
  }

  private static String base64(String text) {
    return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.US_ASCII));
  }

  private static List<X509Certificate> certificates(String pem) throws Exception {
    return new ArrayList<>(InjectorTls.certificates(pem));
  }

  private static Set<String> sans(X509Certificate leaf) throws Exception {
    return leaf.getSubjectAlternativeNames().stream().map(n -> String.valueOf(n.get(1)))
        .collect(Collectors.toSet());
  }
}
