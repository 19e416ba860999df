package io.jmesh.controller.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewStatus;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewStatusBuilder;
import io.fabric8.kubernetes.api.model.authorization.v1.ResourceAttributes;
import io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectAccessReview;
import io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectAccessReviewBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.jmesh.controller.Controller;
import io.jmesh.controller.ca.Csrs;
import io.jmesh.controller.ca.ServedCa;
import io.jmesh.runtime.identity.ControllerTls;
import io.jmesh.runtime.identity.GrpcCertificateClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The controller's CA in Kubernetes against fabric8's mock API server in CRUD mode: the Secret,
 * the ConfigMap and two replicas are real CRUD objects; TokenReviews and SelfSubjectAccessReviews,
 * which CRUD mode only stores, are answered by expectations the way an API server would (a table
 * of tokens; a set of denied permissions). Certificates are asked for with the runtime's own CA
 * client, over TLS on loopback, verified with the anchors read from the ConfigMap.
 */
@EnableKubernetesMockClient(crud = true)
class KubernetesCaIT {
  static final String NS = "jmesh-system";
  static final String SECRET = "jmesh-ca";
  static final String HELLO = "spiffe://cluster.local/ns/shop/sa/hello";
  static final String MESH = "services: []\n";

  KubernetesClient client;
  KubernetesMockServer server;
  @TempDir Path dir;

  /** Token → the TokenReview status the API server gives it; unknown tokens: not authenticated. */
  private final Map<String, TokenReviewStatus> tokens = new ConcurrentHashMap<>();
  private final List<TokenReview> reviews = new CopyOnWriteArrayList<>();
  /** "verb resource" pairs the access reviews deny. */
  private final Set<String> denied = ConcurrentHashMap.newKeySet();
  // Replicas start on the executor too.
  private final List<AutoCloseable> closeables = new CopyOnWriteArrayList<>();
  private final ExecutorService executor = Executors.newCachedThreadPool();

  @BeforeEach
  void answerReviews() {
    server
        .expect()
        .post()
        .withPath("/apis/authentication.k8s.io/v1/tokenreviews")
        .andReply(
            201,
            request -> {
              TokenReview review =
                  client
                      .getKubernetesSerialization()
                      .unmarshal(request.getUtf8Body(), TokenReview.class);
              reviews.add(review);
              TokenReviewStatus status =
                  tokens.getOrDefault(
                      review.getSpec().getToken(),
                      new TokenReviewStatusBuilder()
                          .withAuthenticated(false)
                          .withError("invalid bearer token")
                          .build());
              return new TokenReviewBuilder(review).withStatus(status).build();
            })
        .always();
    server
        .expect()
        .post()
        .withPath("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews")
        .andReply(
            201,
            request -> {
              SelfSubjectAccessReview review =
                  client
                      .getKubernetesSerialization()
                      .unmarshal(request.getUtf8Body(), SelfSubjectAccessReview.class);
              ResourceAttributes a = review.getSpec().getResourceAttributes();
              boolean allowed = !denied.contains(a.getVerb() + " " + a.getResource());
              return new SelfSubjectAccessReviewBuilder(review)
                  .withNewStatus()
                  .withAllowed(allowed)
                  .withReason(allowed ? "" : "no RBAC rule")
                  .endStatus()
                  .build();
            })
        .always();
  }

  @AfterEach
  void close() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
    executor.shutdownNow();
    assertThat(executor.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
  }

  /** A JWT-shaped token whose payload names {@code audiences}; the signature is not checked here. */
  private static String jwt(String name, String... audiences) {
    Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
    String payload =
        "{\"aud\":[\"" + String.join("\",\"", audiences) + "\"],\"sub\":\"" + name + "\"}";
    return b64.encodeToString("{\"alg\":\"RS256\"}".getBytes(StandardCharsets.UTF_8))
        + "."
        + b64.encodeToString(payload.getBytes(StandardCharsets.UTF_8))
        + ".c2ln";
  }

  private static TokenReviewStatus authenticated(String user, String... audiences) {
    return new TokenReviewStatusBuilder()
        .withAuthenticated(true)
        .withNewUser()
        .withUsername(user)
        .endUser()
        .withAudiences(audiences)
        .build();
  }

  /** A wait for the leader's Secret short enough for a test, long enough for a leader to act. */
  static final CaSecret.Wait WAIT =
      new CaSecret.Wait(Duration.ofSeconds(10), Duration.ofMillis(10), Duration.ofMillis(200));

  /** A replica's election, with short timings; released after the test. */
  private StatusLeader leader(String identity) {
    StatusLeader leader =
        new StatusLeader(client, KubernetesHaIT.lease(identity, Duration.ofSeconds(15)));
    closeables.add(leader);
    return leader;
  }

  private Controller replica() throws Exception {
    return replica(leader("replica-a"), WAIT);
  }

  private Controller replica(StatusLeader leader, CaSecret.Wait wait) throws Exception {
    ServedCa ca =
        KubernetesCa.start(
            client, NS, SECRET, "cluster.local", Duration.ofHours(24), Clock.systemUTC(), leader,
            wait);
    Path mesh = dir.resolve("mesh.yaml");
    Files.writeString(mesh, MESH);
    Controller c =
        Controller.start(
            Controller.Options.defaults(mesh)
                .withXdsAddress("127.0.0.1", 0)
                .withAdminAddress("127.0.0.1", 0),
            null,
            ca);
    closeables.add(c);
    return c;
  }

  /** The anchors as an agent mounts them: the ConfigMap's key, as a file. */
  private Path mountedAnchors() throws Exception {
    ConfigMap anchors =
        client.configMaps().inNamespace(NS).withName(TrustAnchorsConfigMap.NAME).get();
    Path file = Files.createTempFile(dir, "anchors", ".pem");
    Files.writeString(file, anchors.getData().get(TrustAnchorsConfigMap.KEY));
    return file;
  }

  private List<String> sign(Controller c, String token, String spiffeId) throws Exception {
    GrpcCertificateClient ca =
        new GrpcCertificateClient(
            "127.0.0.1",
            c.xdsPort(),
            () -> token,
            executor,
            ControllerTls.fromAnchorsFile(mountedAnchors(), null, null));
    closeables.add(ca);
    return ca.create(csrPem(spiffeId), Duration.ofHours(1)).toCompletableFuture().join();
  }

  private String refusal(Controller c, String token, String spiffeId) throws Exception {
    Throwable refused = catchThrowable(() -> sign(c, token, spiffeId));
    assertThat(refused).isInstanceOf(CompletionException.class);
    return refused.getCause().getMessage();
  }

  private static String csrPem(String spiffeId) throws Exception {
    java.io.StringWriter pem = new java.io.StringWriter();
    try (org.bouncycastle.openssl.jcajce.JcaPEMWriter writer =
        new org.bouncycastle.openssl.jcajce.JcaPEMWriter(pem)) {
      writer.writeObject(Csrs.forUris(spiffeId));
    }
    return pem.toString();
  }

  private static String metrics(Controller c) throws Exception {
    return get(c, "/metrics");
  }

  @Test
  void aTokenReviewAuthenticatedCsrGetsItsSpiffeId() throws Exception {
    String token = jwt("hello", "jmesh-ca");
    tokens.put(token, authenticated("system:serviceaccount:shop:hello", "jmesh-ca"));
    Controller c = replica();

    List<String> chain = sign(c, token, HELLO);

    X509Certificate leaf = Csrs.certificate(chain.get(0));
    assertThat(leaf.getSubjectAlternativeNames().stream().map(san -> (Object) san.get(1)).toList())
        .containsExactly((Object) HELLO);
    // The review asked the API server about the CA's audience, with the token as sent.
    assertThat(reviews).hasSize(1);
    assertThat(reviews.get(0).getSpec().getAudiences()).containsExactly("jmesh-ca");
    assertThat(reviews.get(0).getSpec().getToken()).isEqualTo(token);
    assertThat(metrics(c)).contains("jmesh_ca_certificates_issued_total 1.0");
  }

  @Test
  void refusalsNameTheirReasonAndAreCountedByIt() throws Exception {
    Controller c = replica();
    // Projected for the API server, not the CA: what a real API server answers.
    String otherAudience = jwt("hello", "https://kubernetes.default.svc");
    tokens.put(
        otherAudience,
        new TokenReviewStatusBuilder()
            .withAuthenticated(false)
            .withError(
                "[invalid bearer token, token audiences [\"https://kubernetes.default.svc\"] is"
                    + " invalid for the target audiences [\"jmesh-ca\"]]")
            .build());
    String expired = jwt("hello", "jmesh-ca");
    tokens.put(
        expired,
        new TokenReviewStatusBuilder()
            .withAuthenticated(false)
            .withError("[invalid bearer token, service account token has expired]")
            .build());
    String hello = jwt("hello-2", "jmesh-ca");
    tokens.put(hello, authenticated("system:serviceaccount:shop:hello", "jmesh-ca"));
    String alice = jwt("alice", "jmesh-ca");
    tokens.put(alice, authenticated("alice@example.com", "jmesh-ca"));

    assertThat(refusal(c, otherAudience, HELLO))
        .contains("UNAUTHENTICATED")
        .contains(
            "token audiences [https://kubernetes.default.svc] (expected: jmesh-ca; project the"
                + " service-account token with audience: jmesh-ca)");
    assertThat(refusal(c, expired, HELLO))
        .contains("UNAUTHENTICATED")
        .contains("token not authenticated by the API server: [invalid bearer token, service"
            + " account token has expired]");
    assertThat(refusal(c, hello, "spiffe://cluster.local/ns/shop/sa/admin"))
        .contains("PERMISSION_DENIED")
        .contains("CSR asks for spiffe://cluster.local/ns/shop/sa/admin but the caller is " + HELLO);
    assertThat(refusal(c, alice, HELLO))
        .contains("UNAUTHENTICATED")
        .contains(
            "token of user alice@example.com (expected: a service account,"
                + " system:serviceaccount:<namespace>:<name>)");

    assertThat(metrics(c))
        .contains("jmesh_ca_requests_refused_total{reason=\"wrong_audience\"} 1.0")
        .contains("jmesh_ca_requests_refused_total{reason=\"unauthenticated\"} 1.0")
        .contains("jmesh_ca_requests_refused_total{reason=\"wrong_identity\"} 1.0")
        .contains("jmesh_ca_requests_refused_total{reason=\"not_a_service_account\"} 1.0")
        .contains("jmesh_ca_certificates_issued_total 0.0");
  }

  @Test
  void aMissingTokenReviewPermissionFailsTheStartNamingIt() {
    denied.add("create tokenreviews");
    assertThatThrownBy(this::replica)
        .isInstanceOf(StartupAccessCheck.MissingPermissionException.class)
        .hasMessageStartingWith(
            "Kubernetes RBAC: the controller may not create authentication.k8s.io/tokenreviews"
                + " (no RBAC rule) (expected: allowed");
    // Nothing was made before the check.
    assertThat(client.secrets().inNamespace(NS).list().getItems()).isEmpty();
  }

  @Test
  void twoReplicasStartingWithoutASecretMakeOneCaAndBothSignWithIt() throws Exception {
    String token = jwt("hello", "jmesh-ca");
    tokens.put(token, authenticated("system:serviceaccount:shop:hello", "jmesh-ca"));
    drainRequests();

    // Both start at once on an empty namespace: the Lease's winner creates the Secret, the other
    // waits for it (or finds it, if it looks after the create).
    var startA = executor.submit(() -> replica(leader("replica-a"), WAIT));
    var startB = executor.submit(() -> replica(leader("replica-b"), WAIT));
    Controller a = startA.get(30, TimeUnit.SECONDS);
    Controller b = startB.get(30, TimeUnit.SECONDS);

    assertThat(drainRequests().stream()
            .filter(r -> r.getMethod().equals("POST"))
            .filter(r -> r.getPath().equals("/api/v1/namespaces/" + NS + "/secrets"))
            .count())
        .as("creates of the CA's Secret")
        .isEqualTo(1);
    assertThat(client.secrets().inNamespace(NS).list().getItems()).hasSize(1);
    assertBothSignWithOneCa(a, b, token);
  }

  @Test
  void aReplicaThatDoesNotLeadWaitsForTheLeadersSecretThenSigns() throws Exception {
    String token = jwt("hello", "jmesh-ca");
    tokens.put(token, authenticated("system:serviceaccount:shop:hello", "jmesh-ca"));
    // replica-a holds the Lease but has not started yet (its pod is being rescheduled).
    holdLease("replica-a");

    StatusLeader electionB = leader("replica-b");
    var startB = executor.submit(() -> replica(electionB, WAIT));
    // B has seen who leads, and waits for it: no Secret, no CA, no xDS port yet.
    await().atMost(Duration.ofSeconds(10)).until(() -> "replica-a".equals(electionB.leader()));
    assertThat(startB).isNotDone();
    assertThat(client.secrets().inNamespace(NS).withName(SECRET).get()).isNull();

    // The leader starts: it renews its own Lease and creates the Secret; B takes it up.
    Controller a = replica(leader("replica-a"), WAIT);
    Controller b = startB.get(30, TimeUnit.SECONDS);
    assertThat(electionB.leading()).isFalse();
    assertBothSignWithOneCa(a, b, token);
  }

  @Test
  void aWaitingReplicaThatWinsTheExpiredLeaseCreatesTheSecretItself() throws Exception {
    String token = jwt("hello", "jmesh-ca");
    tokens.put(token, authenticated("system:serviceaccount:shop:hello", "jmesh-ca"));
    // replica-z took a 1 s Lease and died before creating the Secret. Once its renewal is that
    // old (fabric8 reads the duration from the Lease), B takes the Lease and creates the Secret.
    holdLease("replica-z", 1);
    StatusLeader electionB = leader("replica-b");

    Controller b = replica(electionB, WAIT);

    assertThat(electionB.leading()).isTrue();
    assertThat(client.secrets().inNamespace(NS).list().getItems()).hasSize(1);
    assertBothSignWithOneCa(b, b, token);
  }

  @Test
  void aLeaderThatNeverCreatesTheSecretEndsTheWaitNamingIt() {
    holdLease("replica-z");
    StatusLeader election = leader("replica-b");
    // Long enough for the election to have looked at the Lease once (it looks at once).
    CaSecret.Wait shortWait =
        new CaSecret.Wait(Duration.ofSeconds(2), Duration.ofMillis(10), Duration.ofMillis(100));

    assertThatThrownBy(() -> replica(election, shortWait))
        .isInstanceOf(java.io.IOException.class)
        .hasMessageContaining(
            "secret " + NS + "/" + SECRET + ": still absent after PT2S waiting for the leader"
                + " replica-z (Lease " + NS + "/jmesh-controller) to create it (expected:");
    assertThat(client.secrets().inNamespace(NS).list().getItems()).isEmpty();
  }

  @Test
  void twoReplicasThatBothBelieveTheyLeadEndWithOneCaSecret() throws Exception {
    String token = jwt("hello", "jmesh-ca");
    tokens.put(token, authenticated("system:serviceaccount:shop:hello", "jmesh-ca"));
    Controller a = replica();
    // The safety net: around an expired Lease two replicas may lead for a moment. Simulated with
    // B under A's name (so B leads too) and a first look that finds no Secret: B makes a CA and
    // its create meets A's Secret (409 from the CRUD server); it must load A's, not keep its own.
    server
        .expect()
        .get()
        .withPath("/api/v1/namespaces/" + NS + "/secrets/" + SECRET)
        .andReturn(404, null)
        .once();
    StatusLeader alsoA = leader("replica-a");
    alsoA.start();
    await().atMost(Duration.ofSeconds(10)).until(alsoA::leading);
    Controller b = replica(alsoA, WAIT);

    assertThat(client.secrets().inNamespace(NS).list().getItems()).hasSize(1);
    assertBothSignWithOneCa(a, b, token);
    assertThat(get(b, "/ca")).contains("\"location\": \"secret " + NS + "/" + SECRET + "\"");
  }

  private void assertBothSignWithOneCa(Controller a, Controller b, String token) throws Exception {
    X509Certificate fromA = Csrs.certificate(sign(a, token, HELLO).get(1));
    X509Certificate fromB = Csrs.certificate(sign(b, token, HELLO).get(1));
    assertThat(fromB).isEqualTo(fromA);
    // The ConfigMap holds the one anchor, which both chains end with.
    String anchors =
        client
            .configMaps()
            .inNamespace(NS)
            .withName(TrustAnchorsConfigMap.NAME)
            .get()
            .getData()
            .get(TrustAnchorsConfigMap.KEY);
    assertThat(anchors.split("BEGIN CERTIFICATE", -1)).hasSize(2);
    assertThat(Csrs.certificate(anchors)).isEqualTo(Csrs.certificate(sign(a, token, HELLO).get(2)));
    assertThat(Csrs.certificate(anchors)).isEqualTo(Csrs.certificate(sign(b, token, HELLO).get(2)));
  }

  /** A Lease held by {@code holder}, renewed just now, for a minute: no one else can take it. */
  private void holdLease(String holder) {
    holdLease(holder, 60);
  }

  /** A Lease held by {@code holder}, renewed just now, expiring after {@code seconds}. */
  private void holdLease(String holder, int seconds) {
    client
        .resource(
            new LeaseBuilder()
                .withNewMetadata()
                .withName(StatusLeader.Settings.DEFAULT_LEASE_NAME)
                .withNamespace(NS)
                .endMetadata()
                .withNewSpec()
                .withHolderIdentity(holder)
                .withLeaseDurationSeconds(seconds)
                .withAcquireTime(ZonedDateTime.now(ZoneOffset.UTC))
                .withRenewTime(ZonedDateTime.now(ZoneOffset.UTC))
                .withLeaseTransitions(0)
                .endSpec()
                .build())
        .create();
  }

  private List<RecordedRequest> drainRequests() throws InterruptedException {
    return MockApi.drainRequests(server);
  }

  private static String get(Controller c, String path) throws Exception {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + c.adminPort() + path)).build(),
            HttpResponse.BodyHandlers.ofString())
        .body();
  }
}
