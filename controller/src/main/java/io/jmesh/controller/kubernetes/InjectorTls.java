package io.jmesh.controller.kubernetes;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.jmesh.controller.ca.CertificateAuthority;
import java.io.ByteArrayInputStream;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * The injector webhook's serving certificate, issued by the controller's CA into Secret {@value
 * #SECRET} ({@code tls.crt}: the leaf then the issuer; {@code tls.key}; {@code ca.crt}: the trust
 * anchors), and the caBundle of MutatingWebhookConfiguration {@value #WEBHOOK} kept equal to the
 * anchors. Only the replica holding the status Lease writes; the others do nothing, so N replicas
 * issue one certificate, not N.
 *
 * <p>A certificate is issued when the Secret is absent, its {@code tls.crt} cannot be read, was
 * not signed by the CA's issuer, does not name exactly the Service's names, or has less than a third
 * of its life left ({@link #LIFETIME}: renewed about 2.3 days before it ends, far more than the
 * kubelet's minute or two to refresh a mounted Secret plus the injector's poll).
 *
 * <p>Thread-safety: {@link #reconcile} runs on one thread (the scheduler of {@link #start}, or a
 * test calling it); it blocks on API calls.
 */
public final class InjectorTls implements AutoCloseable {
  private static final Logger LOG = System.getLogger("io.jmesh.controller.ca");

  /** The Secret the injector mounts. */
  public static final String SECRET = "jmesh-injector-tls";
  /** The injector's Service and MutatingWebhookConfiguration. */
  public static final String WEBHOOK = "jmesh-injector";
  /** Each certificate's lifetime. */
  public static final Duration LIFETIME = Duration.ofDays(7);
  /** How often the leader looks. */
  static final Duration CHECK_EVERY = Duration.ofMinutes(1);

  private final KubernetesClient client;
  private final String namespace;
  private final CertificateAuthority ca;
  private final BooleanSupplier leading;
  private final Clock clock;
  private final List<String> names;
  private final String location;
  private String lastProblem; // logged once until it changes
  private ScheduledExecutorService scheduler;

  /**
   * @param namespace the injector's namespace (the controller's), of its Service and Secret
   * @param leading whether this replica holds the status Lease, asked at each check
   */
  public InjectorTls(
      KubernetesClient client,
      String namespace,
      CertificateAuthority ca,
      BooleanSupplier leading,
      Clock clock) {
    this.client = Objects.requireNonNull(client, "client");
    this.namespace = Objects.requireNonNull(namespace, "namespace");
    this.ca = Objects.requireNonNull(ca, "ca");
    this.leading = Objects.requireNonNull(leading, "leading");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.names = names(namespace);
    this.location = "secret " + namespace + "/" + SECRET;
  }

  /** The certificate's names: what the API server dials, with and without the cluster domain. */
  static List<String> names(String namespace) {
    return List.of(
        WEBHOOK + "." + namespace + ".svc",
        WEBHOOK + "." + namespace + ".svc.cluster.local",
        WEBHOOK + "." + namespace);
  }

  /**
   * Checks every {@link #CHECK_EVERY} on a daemon thread of its own, and at once when {@code
   * leader} gains the Lease. Closing stops it.
   */
  public synchronized InjectorTls start(StatusLeader leader) {
    scheduler =
        java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "jmesh-controller-injector-tls");
              t.setDaemon(true);
              return t;
            });
    ScheduledExecutorService s = scheduler;
    leader.onGained(
        () -> {
          try {
            s.execute(this::reconcileLogged); // off the election's thread: API calls block
          } catch (java.util.concurrent.RejectedExecutionException closed) {
            // Closed meanwhile: nothing to write.
          }
        });
    s.scheduleWithFixedDelay(
        this::reconcileLogged, 0, CHECK_EVERY.toSeconds(), TimeUnit.SECONDS);
    return this;
  }

  private void reconcileLogged() {
    try {
      reconcile();
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "injector TLS: check failed, next in " + CHECK_EVERY + ": " + e, e);
    }
  }

  /** What one check did. */
  enum Result {
    NOT_LEADING,
    UP_TO_DATE,
    ISSUED,
    FAILED
  }

  /**
   * One check: if leading, issues the certificate when due and sets the caBundle when it differs.
   *
   * @return {@link Result#ISSUED} when a certificate was written, {@link Result#FAILED} when an API
   *     call failed (logged once per distinct problem)
   */
  Result reconcile() {
    if (!leading.getAsBoolean()) {
      return Result.NOT_LEADING;
    }
    String anchors = ca.trustAnchorsPem();
    Result result;
    try {
      result = secret(anchors);
    } catch (KubernetesClientException e) {
      problem(location + ": cannot read or write: " + e.getCode() + " " + e.getMessage()
          + " (expected: get, create and update on secrets in " + namespace + ")");
      return Result.FAILED;
    }
    boolean webhookFound;
    try {
      webhookFound = caBundle(anchors);
    } catch (KubernetesClientException e) {
      problem("mutatingwebhookconfiguration " + WEBHOOK + ": cannot read or patch its caBundle: "
          + e.getCode() + " " + e.getMessage() + " (expected: get and patch on"
          + " mutatingwebhookconfigurations named " + WEBHOOK + ", as jmesh install grants)");
      return Result.FAILED;
    }
    if (webhookFound) {
      lastProblem = null;
    }
    return result;
  }

  private Result secret(String anchors) {
    Secret existing = client.secrets().inNamespace(namespace).withName(SECRET).get();
    String why = existing == null ? "absent" : whyRenew(existing, anchors);
    if (why == null) {
      return Result.UP_TO_DATE;
    }
    CertificateAuthority.IssuedPems issued = ca.issueServing(names, LIFETIME);
    Map<String, String> data = new LinkedHashMap<>();
    data.put("tls.crt", base64(issued.chain()));
    data.put("tls.key", base64(issued.key()));
    data.put("ca.crt", base64(anchors));
    Secret next =
        new SecretBuilder()
            .withNewMetadata()
            .withName(SECRET)
            .withNamespace(namespace)
            .addToLabels("app.kubernetes.io/part-of", "jmesh")
            .addToAnnotations(
                "jmesh.io/contents",
                "the injector webhook's serving certificate, written by the controller from the"
                    + " jmesh CA (controller README, Injector certificate)")
            .endMetadata()
            .withType("kubernetes.io/tls")
            .withData(data)
            .build();
    if (existing == null) {
      client.secrets().inNamespace(namespace).resource(next).create();
    } else {
      // Update with the version read: a concurrent writer makes this a 409, retried next check.
      next.getMetadata().setResourceVersion(existing.getMetadata().getResourceVersion());
      client.secrets().inNamespace(namespace).resource(next).update();
    }
    LOG.log(Level.INFO, "injector TLS: issued a certificate for " + names + " into " + location
        + " (" + why + "), valid for " + LIFETIME);
    return Result.ISSUED;
  }

  /** Why the Secret's certificate must be replaced, or null when it is good. */
  private String whyRenew(Secret secret, String anchors) {
    Map<String, String> data = secret.getData() == null ? Map.of() : secret.getData();
    if (data.get("tls.key") == null) {
      return "no tls.key";
    }
    String caCrt = decode(data.get("ca.crt"));
    if (!anchors.equals(caCrt)) {
      return "ca.crt is not the trust anchors";
    }
    List<X509Certificate> chain;
    try {
      chain = certificates(decode(data.get("tls.crt")));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      return "tls.crt unreadable: " + e.getMessage();
    }
    if (chain.isEmpty()) {
      return "no tls.crt";
    }
    X509Certificate leaf = chain.get(0);
    try {
      leaf.verify(ca.issuer().getPublicKey());
    } catch (GeneralSecurityException e) {
      return "tls.crt not signed by the CA's issuer";
    }
    Set<String> sans = new HashSet<>();
    try {
      if (leaf.getSubjectAlternativeNames() != null) {
        leaf.getSubjectAlternativeNames().forEach(n -> sans.add(String.valueOf(n.get(1))));
      }
    } catch (GeneralSecurityException e) {
      return "tls.crt's names unreadable";
    }
    if (!sans.equals(new HashSet<>(names))) {
      return "tls.crt names " + sans + " (expected: " + names + ")";
    }
    Instant from = leaf.getNotBefore().toInstant();
    Instant to = leaf.getNotAfter().toInstant();
    Instant renewAt = to.minus(Duration.between(from, to).dividedBy(3));
    if (!clock.instant().isBefore(renewAt)) {
      return "less than a third of its life left, ends " + to;
    }
    return null;
  }

  /** Sets the caBundle where it differs; false when the webhook is absent. */
  private boolean caBundle(String anchors) {
    MutatingWebhookConfiguration webhook =
        client.admissionRegistration().v1().mutatingWebhookConfigurations().withName(WEBHOOK).get();
    if (webhook == null) {
      problem("mutatingwebhookconfiguration " + WEBHOOK + " absent: no caBundle to set"
          + " (expected: applied by jmesh install)");
      return false;
    }
    String bundle = base64(anchors);
    List<String> differ = new ArrayList<>();
    for (MutatingWebhook w : webhook.getWebhooks()) {
      if (w.getClientConfig() == null || !bundle.equals(w.getClientConfig().getCaBundle())) {
        differ.add(w.getName());
      }
    }
    if (differ.isEmpty()) {
      return true;
    }
    client.admissionRegistration().v1().mutatingWebhookConfigurations().withName(WEBHOOK)
        .edit(w -> {
          w.getWebhooks().forEach(entry -> {
            if (entry.getClientConfig() != null) {
              entry.getClientConfig().setCaBundle(bundle);
            }
          });
          return w;
        });
    LOG.log(Level.INFO, "injector TLS: set the caBundle of mutatingwebhookconfiguration " + WEBHOOK
        + " " + differ + " to the trust anchors");
    return true;
  }

  private void problem(String message) {
    if (!message.equals(lastProblem)) {
      LOG.log(Level.WARNING, "injector TLS: " + message + "; next check in " + CHECK_EVERY);
      lastProblem = message;
    }
  }

  static List<X509Certificate> certificates(String pem) throws GeneralSecurityException {
    List<X509Certificate> out = new ArrayList<>();
    if (pem == null || pem.isBlank()) {
      return out;
    }
    for (var c : CertificateFactory.getInstance("X.509")
        .generateCertificates(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)))) {
      out.add((X509Certificate) c);
    }
    return out;
  }

  private static String base64(String text) {
    return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.US_ASCII));
  }

  private static String decode(String base64) {
    return base64 == null
        ? null
        : new String(Base64.getMimeDecoder().decode(base64), StandardCharsets.US_ASCII);
  }

  @Override
  public synchronized void close() {
    if (scheduler != null) {
      scheduler.shutdownNow();
    }
  }
}
