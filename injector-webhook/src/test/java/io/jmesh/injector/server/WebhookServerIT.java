package io.jmesh.injector.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * The webhook over real HTTPS on loopback, called as the API server calls it, with namespaces
 * from an informer on fabric8's mock API server (CRUD mode).
 */
@EnableKubernetesMockClient(crud = true)
class WebhookServerIT {
  KubernetesClient kubernetes;

  @TempDir Path tlsDir;
  private final TestCerts certs = new TestCerts("jmesh test ca");
  private InformerNamespaces namespaces;
  private ServerTls tls;
  private WebhookServer server;

  @BeforeEach
  void start() throws Exception {
    kubernetes.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName("shop")
        .addToLabels("jmesh.io/inject", "enabled").endMetadata().build()).create();
    kubernetes.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName("plain").endMetadata().build()).create();
    namespaces = InformerNamespaces.start(kubernetes);
    certs.write(tlsDir, certs.leaf());
    tls = ServerTls.load(tlsDir, Clock.systemUTC());
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
    namespaces.close();
  }

  private ApiServerClient serve(WebhookServer.Options options, HttpClient.Version version) throws Exception {
    server = WebhookServer.start(options.withAddress("127.0.0.1", 0), tls, namespaces, Reviews.admission());
    return new ApiServerClient(certs.clientContext(), server.port(), version);
  }

  private ApiServerClient serve() throws Exception {
    return serve(WebhookServer.Options.defaults(), HttpClient.Version.HTTP_1_1);
  }

  @Test
  void aPodOfAnOptedInNamespaceIsInjectedOverHttp1AndHttp2() throws Exception {
    ApiServerClient http1 = serve();
    await().atMost(Duration.ofSeconds(20)).until(namespaces::ready);
    assertThat(http1.get("/ready").statusCode()).isEqualTo(200);
    ApiServerClient http2 = new ApiServerClient(certs.clientContext(), server.port(), HttpClient.Version.HTTP_2);

    for (ApiServerClient client : new ApiServerClient[] {http1, http2}) {
      String review = Reviews.podCreate("uid-inject", "shop", "{\"app\":\"hello\"}");
      HttpResponse<String> answer = client.post("/inject", review);

      assertThat(answer.statusCode()).isEqualTo(200);
      assertThat(answer.headers().firstValue("content-type")).hasValue("application/json");
      JsonNode body = Reviews.JSON.readTree(answer.body());
      assertThat(body.get("apiVersion").asString()).isEqualTo("admission.k8s.io/v1");
      assertThat(body.get("kind").asString()).isEqualTo("AdmissionReview");
      JsonNode response = body.get("response");
      assertThat(response.get("uid").asString()).isEqualTo("uid-inject");
      assertThat(response.get("allowed").asBoolean()).isTrue();
      assertThat(response.get("patchType").asString()).isEqualTo("JSONPatch");
      // The patch applied to the pod as sent: the container has the agent.
      JsonNode pod = Reviews.patched(review, response);
      assertThat(pod.at("/spec/containers/0/env").toString())
          .contains("\"name\":\"JAVA_TOOL_OPTIONS\",\"value\":\"-javaagent:/var/run/jmesh/agent/jmesh-agent.jar\"");
      assertThat(pod.at("/spec/initContainers/0/name").asString()).isEqualTo("jmesh-agent-init");
    }
    assertThat(http2.get("/ready").version()).isEqualTo(HttpClient.Version.HTTP_2);
    assertThat(server.metrics().total("injected")).isEqualTo(2);
    assertThat(http1.get("/metrics").body()).contains("jmesh_injector_admissions_total{outcome=\"injected\"} 2");
  }

  @Test
  void aPodOfANamespaceWithoutTheLabelIsAllowedUnchanged() throws Exception {
    ApiServerClient client = serve();
    await().atMost(Duration.ofSeconds(20)).until(namespaces::ready);

    JsonNode response = Reviews.response(client.post("/inject", Reviews.podCreate("uid-skip", "plain", "{}")).body());

    assertThat(response.get("uid").asString()).isEqualTo("uid-skip");
    assertThat(response.get("allowed").asBoolean()).isTrue();
    assertThat(response.has("patch")).isFalse();
    assertThat(response.at("/auditAnnotations/jmesh-outcome").asString()).isEqualTo("not_opted_in");
  }

  @Test
  void badInputsGetAClearAnswerAndTheServerGoesOn() throws Exception {
    ApiServerClient client = serve();

    HttpResponse<String> notJson = client.post("/inject", "{\"kind\": AdmissionReview");
    assertThat(notJson.statusCode()).isEqualTo(400);
    assertThat(notJson.body()).startsWith("request body: not JSON: ").endsWith(
        "(expected: an admission.k8s.io/v1 AdmissionReview with request.uid)\n");

    HttpResponse<String> noRequest = client.post("/inject", "{\"kind\":\"AdmissionReview\",\"apiVersion\":\"admission.k8s.io/v1\"}");
    assertThat(noRequest.statusCode()).isEqualTo(400);
    assertThat(noRequest.body()).startsWith("AdmissionReview: no request (expected: ");

    HttpResponse<String> noUid = client.post("/inject", Reviews.podCreate("", "shop", "{}"));
    assertThat(noUid.statusCode()).isEqualTo(400);
    assertThat(noUid.body()).startsWith("AdmissionReview: no request.uid (expected: ");

    JsonNode wrongKind = Reviews.response(client.post("/inject",
        Reviews.podCreate("uid-kind", "shop", "{}").replace("\"kind\":\"AdmissionReview\"", "\"kind\":\"TokenReview\"")).body());
    assertThat(wrongKind.get("uid").asString()).isEqualTo("uid-kind");
    assertThat(wrongKind.get("allowed").asBoolean()).isFalse();
    assertThat(wrongKind.at("/status/message").asString()).contains("kind \"TokenReview\" (expected: admission.k8s.io/v1, AdmissionReview");

    JsonNode wrongVersion = Reviews.response(client.post("/inject",
        Reviews.podCreate("uid-version", "shop", "{}").replace("admission.k8s.io/v1", "admission.k8s.io/v2")).body());
    assertThat(wrongVersion.get("allowed").asBoolean()).isFalse();
    assertThat(wrongVersion.at("/status/message").asString()).contains("apiVersion \"admission.k8s.io/v2\"");

    HttpResponse<String> get = client.get("/inject");
    assertThat(get.statusCode()).isEqualTo(405);
    assertThat(get.headers().firstValue("allow")).hasValue("POST");
    assertThat(get.body()).isEqualTo("GET /inject (expected: POST with an AdmissionReview)\n");

    HttpResponse<String> elsewhere = client.post("/mutate", Reviews.podCreate("uid-path", "shop", "{}"));
    assertThat(elsewhere.statusCode()).isEqualTo(404);
    assertThat(elsewhere.body()).isEqualTo("POST /mutate (expected: POST /inject, GET /ready or GET /metrics)\n");

    String badHttp = client.raw("POST /inject HTTP/1.1 extra\r\nHost: x\r\n\r\n");
    assertThat(badHttp).startsWith("HTTP/1.1 400 Bad Request").contains("bad HTTP request: ");

    // After all that, a good review is still answered.
    assertThat(Reviews.response(client.post("/inject", Reviews.podCreate("uid-ok", "shop", "{}")).body())
        .get("allowed").asBoolean()).isTrue();
  }

  @Test
  void anOversizedBodyGets413BeforeItIsRead() throws Exception {
    ApiServerClient client =
        serve(WebhookServer.Options.defaults().withLimits(64 * 1024, Duration.ofSeconds(10), Duration.ofSeconds(120), 512),
            HttpClient.Version.HTTP_1_1);

    // Announced: answered from the headers, without waiting for 10 MB.
    String announced = client.raw("POST /inject HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        + "Content-Length: 10000000\r\n\r\n{");
    assertThat(announced).startsWith("HTTP/1.1 413 Request Entity Too Large")
        .endsWith("request body: more than 65536 bytes (expected: at most --max-body-bytes, 65536)\n");

    // Chunked: refused when the chunks pass the limit.
    StringBuilder chunked = new StringBuilder("POST /inject HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n");
    String chunk = "x".repeat(16 * 1024);
    for (int i = 0; i < 5; i++) {
      chunked.append(Integer.toHexString(chunk.length())).append("\r\n").append(chunk).append("\r\n");
    }
    assertThat(client.raw(chunked.toString())).startsWith("HTTP/1.1 413 Request Entity Too Large");

    // HTTP/2: the stream is answered 413 too.
    ApiServerClient http2 = new ApiServerClient(certs.clientContext(), server.port(), HttpClient.Version.HTTP_2);
    HttpResponse<String> answer = http2.post("/inject", "{" + "x".repeat(100 * 1024) + "}");
    assertThat(answer.statusCode()).isEqualTo(413);
    assertThat(server.metrics().total("too_large")).isEqualTo(3);
  }

  @Test
  void aRequestThatStallsGets408AndAnIdleConnectionIsClosed() throws Exception {
    ApiServerClient client =
        serve(WebhookServer.Options.defaults().withLimits(64 * 1024, Duration.ofMillis(300), Duration.ofMillis(500), 512),
            HttpClient.Version.HTTP_1_1);

    // Half a body, then nothing: the deadline answers (the read is bounded by the socket timeout).
    String stalled = client.raw("POST /inject HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{\"kind\"");
    assertThat(stalled).startsWith("HTTP/1.1 408 Request Timeout").endsWith("request not received within 300 ms (--read-timeout)\n");

    // A connection that sends nothing is closed by the idle timeout.
    try (SSLSocket idle = client.socket()) {
      assertThat(idle.getInputStream().read()).isEqualTo(-1);
    }
  }

  @Test
  void connectionsPastTheLimitAreClosedAtAccept() throws Exception {
    ApiServerClient client =
        serve(WebhookServer.Options.defaults().withLimits(64 * 1024, Duration.ofSeconds(10), Duration.ofSeconds(120), 2),
            HttpClient.Version.HTTP_1_1);
    SSLSocket first = client.socket();
    SSLSocket second = client.socket();
    await().atMost(Duration.ofSeconds(10)).until(() -> server.openConnections() == 2);

    assertThatThrownBy(client::socket).isInstanceOf(IOException.class);

    // One closes: a new connection is served again.
    first.close();
    await().atMost(Duration.ofSeconds(10)).until(() -> server.openConnections() == 1);
    try (SSLSocket third = client.socket()) {
      third.getOutputStream().write("GET /ready HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes());
      assertThat(ApiServerClient.readResponse(third.getInputStream())).startsWith("HTTP/1.1 ");
    }
    second.close();
  }

  @Test
  void aNamespaceTheCacheHasNotSeenCostsOneRead() throws Exception {
    await().atMost(Duration.ofSeconds(20)).until(namespaces::ready);
    assertThat(namespaces.metadata("shop").getLabels()).containsEntry("jmesh.io/inject", "enabled");
    assertThat(namespaces.gets()).isZero();

    assertThat(namespaces.metadata("absent")).isNull();
    assertThat(namespaces.gets()).isEqualTo(1);

    // A label set later reaches the cache through the watch.
    kubernetes.namespaces().withName("plain").edit(n -> new NamespaceBuilder(n).editMetadata()
        .addToLabels("jmesh.io/inject", "enabled").endMetadata().build());
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
        assertThat(namespaces.metadata("plain").getLabels()).containsEntry("jmesh.io/inject", "enabled"));
    assertThat(namespaces.gets()).isEqualTo(1);
  }

  @Test
  void anApiServerThatCannotBeReachedRefusesThePodByUid() throws Exception {
    // Port 1 on loopback: nothing listens, every read fails at once.
    try (KubernetesClient down = new io.fabric8.kubernetes.client.KubernetesClientBuilder()
            .withConfig(new io.fabric8.kubernetes.client.ConfigBuilder().withMasterUrl("https://127.0.0.1:1")
                .withRequestTimeout(2000).withConnectionTimeout(2000).withRequestRetryBackoffLimit(0).build())
            .build();
        InformerNamespaces unreachable = InformerNamespaces.start(down)) {
      server = WebhookServer.start(WebhookServer.Options.defaults().withAddress("127.0.0.1", 0), tls, unreachable, Reviews.admission());
      ApiServerClient client = new ApiServerClient(certs.clientContext(), server.port(), HttpClient.Version.HTTP_1_1);

      assertThat(client.get("/ready").statusCode()).isEqualTo(503);
      JsonNode response = Reviews.response(client.post("/inject", Reviews.podCreate("uid-down", "shop", "{}")).body());
      assertThat(response.get("uid").asString()).isEqualTo("uid-down");
      assertThat(response.get("allowed").asBoolean()).isFalse();
      assertThat(response.at("/status/code").asInt()).isEqualTo(503);
      assertThat(response.at("/status/message").asString())
          .startsWith("jmesh injector: namespace_unavailable: namespace shop: cannot read it from the Kubernetes API at"
              + " https://127.0.0.1:1/: ")
          .contains("ConnectException");
    }
  }

  @Test
  void pipelinedRequestsAreAnsweredInTheirOrder() throws Exception {
    ApiServerClient client = serve();
    StringBuilder requests = new StringBuilder();
    for (String uid : new String[] {"uid-p1", "uid-p2"}) {
      byte[] body = Reviews.podCreate(uid, "shop", "{}").getBytes(java.nio.charset.StandardCharsets.UTF_8);
      requests.append("POST /inject HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ")
          .append(body.length).append("\r\n\r\n").append(new String(body, java.nio.charset.StandardCharsets.UTF_8));
    }
    requests.append("GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n");

    try (SSLSocket socket = client.socket()) {
      // All three in one write: the second and third arrive while the first is in progress.
      socket.getOutputStream().write(requests.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
      socket.getOutputStream().flush();
      assertThat(ApiServerClient.readResponse(socket.getInputStream())).contains("\"uid\":\"uid-p1\"");
      assertThat(ApiServerClient.readResponse(socket.getInputStream())).contains("\"uid\":\"uid-p2\"");
      assertThat(ApiServerClient.readResponse(socket.getInputStream())).contains("jmesh_injector_admissions_total");
    }
  }
}
