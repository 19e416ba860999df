package io.jmesh.smoke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodIPBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewStatusBuilder;
import io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectAccessReview;
import io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectAccessReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.zjsonpatch.JsonPatch;
import io.jmesh.smoke.apps.HelloServer;
import io.jmesh.smoke.apps.PodWorkload;
import io.jmesh.smoke.support.ControllerProcess;
import io.jmesh.smoke.support.Jvm;
import io.jmesh.smoke.support.Ports;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * From admission to a meshed JVM, with no cluster (issue 19's last point). fabric8's mock API
 * server (CRUD mode, in this JVM) is the API server; TokenReviews and SelfSubjectAccessReviews,
 * which CRUD mode only stores, are answered by expectations as an API server would.
 *
 * <ol>
 *   <li>A controller JVM ({@code --kubernetes --ca-secret jmesh-system/jmesh-ca}) makes the CA's
 *       Secret, the anchors' ConfigMap and the injector's Secret {@code jmesh-injector-tls}, and,
 *       holding the Lease, copies the anchors' ConfigMap into namespace {@code shop} (labelled
 *       {@code jmesh.io/inject=enabled}), where the pod mounts it.
 *   <li>The real {@code jmesh-injector.jar} serves with that Secret's {@code tls.crt}, {@code
 *       tls.key} and {@code ca.crt} as files; a ReplicaSet's pod of Deployment {@code web} is sent
 *       to it as the API server does: AdmissionReview v1 JSON POSTed over HTTPS, the server's
 *       certificate verified against {@code ca.crt} for {@code jmesh-injector.jmesh-system.svc}.
 *   <li>The answer's JSON Patch is applied (zjsonpatch), the pod stored with a name and pod IP
 *       127.0.0.40, and its container started by {@link Kubelet}: the init container's copy of the
 *       real agent jar into the emptyDir, the token (minted for the projected source's audience and
 *       answered by the TokenReview expectation as {@code system:serviceaccount:shop:web}), the
 *       anchors, the downward-API values and {@code $(…)} expansion. The container's {@code
 *       JAVA_TOOL_OPTIONS} (the pod's own options, with {@code $(POD_NAME)}, plus the injector's
 *       {@code -javaagent}) attach the agent.
 *   <li>It is meshed: (1) its calls to {@code hello} follow the HTTPRoute (0/100: every call to
 *       {@code hello-v2}); (2) it holds {@code spiffe://cluster.local/ns/shop/sa/web}, issued after
 *       a TokenReview of the file's token with audience {@code jmesh-ca}; (3) its port on the pod IP
 *       is the mesh listener's: plaintext is refused, the application itself answers on loopback.
 * </ol>
 *
 * <p>No sleeps: each wait is a bounded poll of a process's output, a port or the API server.
 */
@EnableKubernetesMockClient(crud = true, https = false)
class InjectionSmokeTest {
  private static final String NS = "shop";
  private static final String SYSTEM = "jmesh-system";
  private static final String POD_IP = "127.0.0.40";
  private static final String WEB_ID = "spiffe://cluster.local/ns/shop/sa/web";
  /** The name the API server verifies the webhook's certificate for (its Service). */
  private static final String INJECTOR_HOST = "jmesh-injector.jmesh-system.svc";
  private static final Pattern SERVING = Pattern.compile("on https://[^:]+:(\\d+)/inject");
  private static final JsonMapper JSON = JsonMapper.builder().build();
  private static final java.util.logging.Logger MOCK_SERVER_LOG =
      java.util.logging.Logger.getLogger("io.fabric8.mockwebserver");

  static {
    MOCK_SERVER_LOG.setLevel(java.util.logging.Level.WARNING);
  }

  KubernetesClient client;
  KubernetesMockServer server;
  @TempDir Path dir;

  /** Tokens the TokenRequest gave: token → its service account's user and audience. */
  private final Map<String, String[]> tokens = new ConcurrentHashMap<>();
  private final List<TokenReview> reviews = new CopyOnWriteArrayList<>();
  private final List<AutoCloseable> toClose = new ArrayList<>();

  @BeforeEach
  void answerReviews() {
    server.expect().post().withPath("/apis/authentication.k8s.io/v1/tokenreviews")
        .andReply(201, request -> {
          TokenReview review =
              client.getKubernetesSerialization().unmarshal(request.getUtf8Body(), TokenReview.class);
          reviews.add(review);
          String[] issued = tokens.get(review.getSpec().getToken());
          // As an API server: a known token, asked about with its own audience.
          boolean ok = issued != null && review.getSpec().getAudiences().contains(issued[1]);
          return new TokenReviewBuilder(review).withStatus(ok
              ? new TokenReviewStatusBuilder().withAuthenticated(true).withNewUser().withUsername(issued[0])
                  .endUser().withAudiences(issued[1]).build()
              : new TokenReviewStatusBuilder().withAuthenticated(false).withError("invalid bearer token").build())
              .build();
        })
        .always();
    // The controller's start-up permission check: every right granted, as jmesh install's RBAC.
    server.expect().post().withPath("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews")
        .andReply(201, request -> new SelfSubjectAccessReviewBuilder(client.getKubernetesSerialization()
                .unmarshal(request.getUtf8Body(), SelfSubjectAccessReview.class))
            .withNewStatus().withAllowed(true).endStatus().build())
        .always();
  }

  @AfterEach
  void stopAll() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  @Test
  void aDeploymentsPodGoesThroughTheWebhookAndRunsMeshed() throws Exception {
    // The mesh: Service hello, split by an HTTPRoute over hello-v1 and hello-v2 (0/100), each one
    // plain HelloServer on its own address, reached only through the EndpointSlices.
    int helloPort = KubernetesSmokeTest.portFreeOn(List.of("127.0.0.41", "127.0.0.42"));
    startServer("hello-v1-a", "v1", "127.0.0.41", helloPort);
    startServer("hello-v2-a", "v2", "127.0.0.42", helloPort);
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(SYSTEM).endMetadata().build())
        .create();
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(NS)
        .addToLabels("jmesh.io/inject", "enabled").endMetadata().build()).create();
    apply(KubernetesSmokeTest.service("hello", "http", 8080), KubernetesSmokeTest.service("hello-v1", "http", 8080),
        KubernetesSmokeTest.service("hello-v2", "http", 8080),
        KubernetesSmokeTest.pod("hello-v1-a", "hello-v1"), KubernetesSmokeTest.pod("hello-v2-a", "hello-v2"),
        KubernetesSmokeTest.slice("hello-v1-1", "hello-v1", "http", helloPort,
            List.of(new KubernetesSmokeTest.Ep("127.0.0.41", "hello-v1-a", true, true, false))),
        KubernetesSmokeTest.slice("hello-v2-1", "hello-v2", "http", helloPort,
            List.of(new KubernetesSmokeTest.Ep("127.0.0.42", "hello-v2-a", true, true, false))),
        KubernetesSmokeTest.httpRoute(0, 100));

    // 1. The controller, the CA in a Secret; it writes the anchors and the injector's certificate.
    ControllerProcess controller = new ControllerProcess(null, null)
        .withArgs("--kubernetes", "--ca-secret", SYSTEM + "/jmesh-ca")
        .withEnv(kubernetesEnv("jmesh-controller-0"));
    toClose.add(controller);
    controller.start();
    Secret injectorTls = await("the injector's Secret written by the controller").atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(100))
        .until(() -> client.secrets().inNamespace(SYSTEM).withName("jmesh-injector-tls").get(), s -> s != null);
    ConfigMap anchors = client.configMaps().inNamespace(SYSTEM).withName("jmesh-trust-anchors").get();
    assertThat(anchors).as("the controller's anchors ConfigMap").isNotNull();
    // The leader copies it into the workload namespace, as istiod writes istio-ca-root-cert.
    ConfigMap copy = await("the anchors copied into " + NS + " by the controller").atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(100))
        .until(() -> client.configMaps().inNamespace(NS).withName("jmesh-trust-anchors").get(), c -> c != null);
    assertThat(copy.getData()).isEqualTo(anchors.getData());
    assertThat(copy.getMetadata().getLabels()).containsEntry("app.kubernetes.io/managed-by", "jmesh-controller");

    // 2. The injector jar, its certificate as the kubelet mounts the Secret.
    Path tlsDir = Files.createDirectories(dir.resolve("injector-tls"));
    for (String key : List.of("tls.crt", "tls.key", "ca.crt")) {
      Files.write(tlsDir.resolve(key), Base64.getDecoder().decode(injectorTls.getData().get(key)));
    }
    Path injectorJar = Path.of(System.getProperty("jmesh.injector.jar", "injector-webhook/target/jmesh-injector.jar"));
    assertThat(injectorJar).as("built by ./mvnw package -pl injector-webhook").exists();
    Jvm injector = start(Jvm.builder("injector")
        .classPath(injectorJar.toString())
        .env(kubernetesEnv("jmesh-injector-0"))
        .main("io.jmesh.injector.InjectorMain", "--address", "127.0.0.1:0", "--tls-dir", tlsDir.toString(),
            "--agent-image", "ghcr.io/jmesh/agent:smoke", "--controller-address", controller.xdsAddress()));
    Matcher serving = SERVING.matcher(injector.awaitLine(l -> SERVING.matcher(l).find(), 60_000));
    assertThat(serving.find()).isTrue();
    URI webhook = URI.create("https://127.0.0.1:" + serving.group(1));
    SSLContext trustCa = trusting(tlsDir.resolve("ca.crt"));
    await("the injector's /ready (its namespace informer synced)").atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(100)).ignoreExceptions()
        .until(() -> https(trustCa, webhook.resolve("/ready"), null).status() == 200);

    // 3. The ReplicaSet's pod, admitted as the API server does.
    int appPort = KubernetesSmokeTest.portFreeOn(List.of("127.0.0.1", POD_IP));
    int adminPort = Ports.unused();
    String podJson = deploymentPod(appPort, adminPort);
    String review = """
        {"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1",
         "request":{"uid":"e2e-1","kind":{"group":"","version":"v1","kind":"Pod"},
          "resource":{"group":"","version":"v1","resource":"pods"},
          "namespace":"shop","operation":"CREATE",
          "userInfo":{"username":"system:serviceaccount:kube-system:replicaset-controller"},
          "object":%s,"oldObject":null,"dryRun":false}}
        """.formatted(podJson);
    Answer answer = https(trustCa, webhook.resolve("/inject"), review);
    assertThat(answer.status()).as("the webhook's answer: %s", answer.body()).isEqualTo(200);
    JsonNode response = JSON.readTree(answer.body()).get("response");
    assertThat(response.get("uid").asString()).isEqualTo("e2e-1");
    assertThat(response.get("allowed").asBoolean()).as(answer.body()).isTrue();
    assertThat(response.get("patchType").asString()).isEqualTo("JSONPatch");
    JsonNode patch = JSON.readTree(Base64.getDecoder().decode(response.get("patch").asString()));
    ObjectNode patched = (ObjectNode) JsonPatch.apply(patch, JSON.readTree(podJson));
    // What the API server and the scheduler add after admission: the name, the pod IP.
    ((ObjectNode) patched.get("metadata")).put("name", "web-5f7c8d9b4-x2kq9");
    patched.set("status", JSON.readTree("{\"phase\":\"Pending\",\"podIP\":\"" + POD_IP
        + "\",\"podIPs\":[{\"ip\":\"" + POD_IP + "\"}],\"hostIP\":\"127.0.0.1\"}"));
    Pod pod = client.getKubernetesSerialization().unmarshal(JSON.writeValueAsString(patched), Pod.class);
    pod = client.pods().inNamespace(NS).resource(pod).create();
    pod.setStatus(client.getKubernetesSerialization().unmarshal(patched.get("status").toString(),
        io.fabric8.kubernetes.api.model.PodStatus.class));
    assertThat(pod.getMetadata().getAnnotations()).containsEntry("jmesh.io/inject", "enabled")
        .containsKey("jmesh.io/injected");
    Container init = pod.getSpec().getInitContainers().get(0);
    assertThat(init.getCommand()).as("the init container copies the jar into the agent's volume")
        .containsExactly("cp", "/jmesh/jmesh-agent.jar", "/var/run/jmesh/agent/jmesh-agent.jar");

    // 4. The kubelet's part, then the container as a real JVM.
    Kubelet kubelet = new Kubelet(client, dir.resolve("kubelet"),
        Map.of("/jmesh/jmesh-agent.jar", Jvm.agentJar(), "/app/classes", Jvm.appClasses()),
        this::tokenRequest);
    Jvm.Builder container = kubelet.prepare(pod, "app");
    Path copiedJar = kubelet.volume("jmesh-agent").resolve("jmesh-agent.jar");
    assertThat(copiedJar).hasSameBinaryContentAs(Jvm.agentJar());
    Jvm web = start(container);

    // (2) Its identity: the token file's token reviewed for audience jmesh-ca, the certificate
    // issued for the pod's namespace and service account.
    String identity = web.awaitLine(l -> l.contains(" jmesh INFO identity: ") || l.contains(" jmesh WARN identity"), 90_000);
    assertThat(identity).as("the agent's identity line\n%s", web.output()).contains(" jmesh INFO identity: " + WEB_ID + " (serial ");
    String token = Files.readString(kubelet.volume("jmesh-token").resolve("token"));
    assertThat(reviews).as("TokenReviews").anySatisfy(r -> {
      assertThat(r.getSpec().getToken()).isEqualTo(token);
      assertThat(r.getSpec().getAudiences()).containsExactly("jmesh-ca");
    });
    assertThat(web.output()).as("the token is never logged").doesNotContain(token);
    // The agent came from the init container's copy, through the patched JAVA_TOOL_OPTIONS.
    assertThat(web.lines()).as("the options the JVM picked up").contains(
        "Picked up JAVA_TOOL_OPTIONS: -Dworkload.pod=web-5f7c8d9b4-x2kq9 -Dworkload.literal=$(POD_NAME) -javaagent:"
            + copiedJar);
    // The JVM got the pod's own options, $(POD_NAME) expanded and $$ kept as one $.
    // Printed at the application's start, which may come before or after the identity line
    // (JDK 25 printed it before): looked for in all output, not after the last line awaited.
    await().atMost(java.time.Duration.ofSeconds(30)).until(
        () -> web.lines().stream().anyMatch(l -> l.startsWith("PROPERTY ")));
    assertThat(web.lines().stream().filter(l -> l.startsWith("PROPERTY ")).toList())
        .containsExactly("PROPERTY workload.pod=web-5f7c8d9b4-x2kq9 literal=$(POD_NAME)");

    // (1) Its calls to hello follow the HTTPRoute: every one to hello-v2.
    String done = web.awaitLine(l -> l.startsWith("DONE "), 120_000);
    assertThat(done).as("the application's calls\n%s", web.output()).isEqualTo("DONE ok=20 failed=0");
    List<String> results = web.lines().stream().filter(l -> l.startsWith("RESULT ")).toList();
    assertThat(results).hasSize(20).allSatisfy(l -> assertThat(l).startsWith("RESULT 200 instance=hello-v2-a version=v2"));

    // (3) Its port on the pod IP is the mesh listener's (strict mTLS): plaintext is refused;
    // the application itself answers on loopback only.
    assertThat(web.lines()).as("the agent's capture line").anyMatch(l -> l.contains("inbound capture: the application's port "
        + appPort + " is on 127.0.0.1; mesh inbound listener on " + POD_IP + ":" + appPort + " (strict mTLS)"));
    HttpClient plain = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5)).build();
    assertThatThrownBy(() -> plain.send(HttpRequest.newBuilder(URI.create("http://" + POD_IP + ":" + appPort + "/"))
            .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()))
        .as("plaintext to the pod IP").isInstanceOf(IOException.class);
    assertThat(plain.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + appPort + "/"))
            .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).body())
        .isEqualTo("server=web client=null");
    System.out.println("InjectionSmokeTest: the injected pod's JVM:");
    web.lines().stream().filter(l -> l.startsWith("Picked up") || l.contains(" jmesh INFO ")).forEach(System.out::println);
  }

  // --- the pod -------------------------------------------------------------------------------

  /**
   * A pod as a ReplicaSet of Deployment {@code web} creates it, with the API server's defaults
   * filled in. Its container sets, besides the application's own options: the agent's admin port
   * (pods here share this host's loopback, so each gets a free one) and longer first waits for the
   * controller and the certificate, for a loaded test machine.
   */
  private static String deploymentPod(int appPort, int adminPort) {
    return """
        {"kind":"Pod","apiVersion":"v1",
         "metadata":{"generateName":"web-5f7c8d9b4-","namespace":"shop",
          "labels":{"app":"web","pod-template-hash":"5f7c8d9b4"},
          "ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-5f7c8d9b4",
            "uid":"6b1e","controller":true,"blockOwnerDeletion":true}]},
         "spec":{"serviceAccountName":"web","serviceAccount":"web",
          "containers":[{"name":"app","image":"registry.example/shop/web:1.0",
            "command":["java","-cp","/app/classes","%s"],
            "args":["--name","web","--port","%d","--call","http://hello:8080/","--count","20"],
            "ports":[{"name":"http","containerPort":%d,"protocol":"TCP"}],
            "env":[
              {"name":"POD_NAME","valueFrom":{"fieldRef":{"apiVersion":"v1","fieldPath":"metadata.name"}}},
              {"name":"JAVA_TOOL_OPTIONS","value":"-Dworkload.pod=$(POD_NAME) -Dworkload.literal=$$(POD_NAME)"},
              {"name":"JMESH_ADMIN_PORT","value":"%d"},
              {"name":"JMESH_XDS_INITIAL_WAIT_MS","value":"60000"},
              {"name":"JMESH_XDS_FIRST_USE_TIMEOUT_MS","value":"60000"},
              {"name":"JMESH_IDENTITY_WAIT_MS","value":"60000"}],
            "resources":{},"terminationMessagePath":"/dev/termination-log",
            "terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent"}],
          "restartPolicy":"Always","dnsPolicy":"ClusterFirst","schedulerName":"default-scheduler",
          "terminationGracePeriodSeconds":30,"securityContext":{}},
         "status":{}}
        """.formatted(PodWorkload.class.getName(), appPort, appPort, adminPort);
  }

  /** The TokenRequest the kubelet makes for a projected token: a new token, known to the reviews. */
  private String tokenRequest(Pod pod, String audience) {
    Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
    String user = "system:serviceaccount:" + pod.getMetadata().getNamespace() + ":" + pod.getSpec().getServiceAccountName();
    String token = b64.encodeToString("{\"alg\":\"RS256\"}".getBytes(StandardCharsets.UTF_8)) + "."
        + b64.encodeToString(("{\"aud\":[\"" + audience + "\"],\"sub\":\"" + user + "\",\"jti\":\"" + UUID.randomUUID()
            + "\"}").getBytes(StandardCharsets.UTF_8)) + ".c2ln";
    tokens.put(token, new String[] {user, audience});
    return token;
  }

  // --- processes and calls -------------------------------------------------------------------

  /** fabric8's client in a JVM reads these: the mock server, no kube config, no service account. */
  private Map<String, String> kubernetesEnv(String hostname) {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("KUBERNETES_MASTER", client.getMasterUrl().toString());
    env.put("KUBERNETES_AUTH_TRYKUBECONFIG", "false");
    env.put("KUBERNETES_AUTH_TRYSERVICEACCOUNT", "false");
    env.put("KUBERNETES_NAMESPACE", SYSTEM);
    env.put("HOSTNAME", hostname);
    return env;
  }

  private void startServer(String name, String version, String address, int port) throws Exception {
    Jvm server = start(Jvm.builder(name).main(HelloServer.class.getName(), "--name", name, "--version", version,
        "--bind", address, "--port", Integer.toString(port)));
    server.awaitReady(60_000);
  }

  private Jvm start(Jvm.Builder builder) throws IOException {
    Jvm jvm = builder.start();
    toClose.add(jvm);
    return jvm;
  }

  private void apply(String... yamls) {
    for (String yaml : yamls) {
      client.resource(yaml).inNamespace(NS).createOr(r -> r.update());
    }
  }

  record Answer(int status, String body) {}

  /**
   * A GET (no body) or a JSON POST as the API server calls a webhook: TLS verified against the
   * {@code caBundle} ({@code ca.crt}) for the Service's name, not the address dialled.
   */
  private static Answer https(SSLContext tls, URI uri, String json) throws IOException {
    HttpsURLConnection c = (HttpsURLConnection) uri.toURL().openConnection();
    c.setSSLSocketFactory(tls.getSocketFactory());
    // The chain is checked by the context; the name is checked here, as the API server checks it.
    c.setHostnameVerifier((host, session) -> {
      try {
        return ((X509Certificate) session.getPeerCertificates()[0]).getSubjectAlternativeNames().stream()
            .anyMatch(san -> INJECTOR_HOST.equals(san.get(1)));
      } catch (Exception e) {
        return false;
      }
    });
    c.setConnectTimeout(5_000);
    c.setReadTimeout(10_000);
    if (json != null) {
      c.setRequestMethod("POST");
      c.setDoOutput(true);
      c.setRequestProperty("Content-Type", "application/json");
      c.setRequestProperty("Accept", "application/json, */*");
      try (OutputStream out = c.getOutputStream()) {
        out.write(json.getBytes(StandardCharsets.UTF_8));
      }
    }
    int status = c.getResponseCode();
    try (var in = status < 400 ? c.getInputStream() : c.getErrorStream()) {
      return new Answer(status, in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8));
    }
  }

  private static SSLContext trusting(Path caFile) throws Exception {
    KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
    store.load(null, null);
    int i = 0;
    for (Certificate cert : CertificateFactory.getInstance("X.509")
        .generateCertificates(new ByteArrayInputStream(Files.readAllBytes(caFile)))) {
      store.setCertificateEntry("ca-" + i++, cert);
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(store);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, tmf.getTrustManagers(), null);
    return context;
  }
}
