package io.jmesh.controller.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.jmesh.controller.Controller;
import io.jmesh.controller.kubernetes.KubernetesMeshSource;
import io.jmesh.controller.kubernetes.StatusLeader;
import io.jmesh.controller.kubernetes.UninjectedPods;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Opted-in pods that run without the agent, end to end on fabric8's mock API server in CRUD mode:
 * a controller with the Kubernetes source (the Lease holder) puts one Warning Event on each, its
 * {@code /metrics} counts them by namespace, and {@code jmesh check --kubernetes} lists them.
 */
@EnableKubernetesMockClient(crud = true)
class UninjectedPodsIT {
  static final String CONTROL_PLANE = "jmesh-system";
  static final Duration PATIENCE = Duration.ofSeconds(15);
  static final HttpClient HTTP = HttpClient.newHttpClient();

  KubernetesClient client;
  KubernetesMockServer server;
  @TempDir Path dir;

  private final List<Controller> controllers = new ArrayList<>();

  @AfterEach
  void close() {
    controllers.forEach(Controller::close);
  }

  @Test
  void eachPodWithoutTheAgentGetsOneEventACountAndACheckLine() throws Exception {
    namespace(CONTROL_PLANE, Map.of());
    namespace("shop", Map.of(UninjectedPods.INJECT, "enabled"));
    namespace("web", Map.of(UninjectedPods.INJECT, "enabled"));
    Pod missed = client.resource(pod("shop", "hello-7d4b9c-x1")
        .editMetadata().addToLabels("pod-template-hash", "7d4b9c")
            .addNewOwnerReference().withApiVersion("apps/v1").withKind("ReplicaSet")
                .withName("hello-7d4b9c").withUid("rs-1").withController(true).endOwnerReference()
        .endMetadata().build()).create();
    client.resource(pod("shop", "injected").editMetadata()
        .addToAnnotations(UninjectedPods.INJECTED, "0.1.0").endMetadata().build()).create();
    client.resource(pod("shop", "opted-out").editMetadata()
        .addToLabels(UninjectedPods.INJECT, "disabled").endMetadata().build()).create();
    client.resource(pod("shop", "node-agent").editSpec().withHostNetwork(true).endSpec().build())
        .create();

    Controller a = controller("replica-a");

    // One Warning Event, on the pod that has no agent, naming why and what to do.
    await().atMost(PATIENCE).until(() -> !events("shop").isEmpty());
    Event event = events("shop").get(0);
    assertThat(events("shop")).hasSize(1);
    assertThat(event.getType()).isEqualTo("Warning");
    assertThat(event.getReason()).isEqualTo("JmeshNotInjected");
    assertThat(event.getInvolvedObject().getKind()).isEqualTo("Pod");
    assertThat(event.getInvolvedObject().getName()).isEqualTo("hello-7d4b9c-x1");
    assertThat(event.getInvolvedObject().getUid()).isEqualTo(missed.getMetadata().getUid());
    assertThat(event.getMessage()).isEqualTo(
        "pod shop/hello-7d4b9c-x1 is opted in by namespace label jmesh.io/inject=enabled but has no"
            + " jmesh agent: it was created while the injector was unavailable or before the label;"
            + " restart its workload (kubectl -n shop rollout restart deployment/hello)");
    assertThat(event.getReportingInstance()).isEqualTo("replica-a");
    await().atMost(PATIENCE).until(() -> metrics(a).contains(
        "jmesh_controller_pods_without_agent{namespace=\"shop\"} 1.0"));

    // A second pod elsewhere: its own Event; the first pod, looked at again, gets no second one.
    client.resource(pod("web", "api-0").editMetadata()
        .addNewOwnerReference().withApiVersion("apps/v1").withKind("StatefulSet").withName("api")
            .withUid("ss-1").withController(true).endOwnerReference()
        .endMetadata().build()).create();
    await().atMost(PATIENCE).until(() -> !events("web").isEmpty());
    assertThat(events("shop")).hasSize(1);
    await().atMost(PATIENCE).until(() -> metrics(a).contains(
        "jmesh_controller_pods_without_agent{namespace=\"web\"} 1.0"));

    // The workload restarted through the injector: the pod is replaced by an injected one, and
    // shop's series goes away.
    client.pods().inNamespace("shop").withName("hello-7d4b9c-x1").delete();
    client.resource(pod("shop", "hello-5f6a7b-y2").editMetadata()
        .addToAnnotations(UninjectedPods.INJECTED, "0.1.0").endMetadata().build()).create();
    await().atMost(PATIENCE).until(() -> !metrics(a).contains("namespace=\"shop\""));
    assertThat(metrics(a)).contains("jmesh_controller_pods_without_agent{namespace=\"web\"} 1.0");

    // A second replica, not leading, counts the pods but makes no Event: a new pod gets exactly
    // one create, the leader's.
    Controller b = controller("replica-b");
    await().atMost(PATIENCE).until(() -> metrics(b).contains(
        "jmesh_controller_pods_without_agent{namespace=\"web\"} 1.0"));
    drainRequests();
    client.resource(pod("web", "api-1").build()).create();
    await().atMost(PATIENCE).until(() -> events("web").size() == 2);
    await().atMost(PATIENCE).until(() -> metrics(b).contains(
        "jmesh_controller_pods_without_agent{namespace=\"web\"} 2.0"));
    assertThat(eventPosts("web", drainRequests())).isEqualTo(1);

    // The leader stops and the other takes over: it tries both Events, meets the ones that exist
    // (409), and makes no second.
    a.close();
    await().atMost(PATIENCE).until(() -> eventPosts("web", drainRequests()) > 0);
    assertThat(events("web")).hasSize(2).allSatisfy(e ->
        assertThat(e.getReportingInstance()).isEqualTo("replica-a"));
    client.pods().inNamespace("web").withName("api-1").delete();
    await().atMost(PATIENCE).until(() -> metrics(b).contains(
        "jmesh_controller_pods_without_agent{namespace=\"web\"} 1.0"));

    // jmesh check lists the pod, with what to do, and counts the skip apart.
    String out = check(b);
    assertThat(out).as(out).contains(
        "\u00d7 1 opted-in pod runs without the agent: web/api-0 (namespace label"
            + " jmesh.io/inject=enabled) (1 opted-in skipped on purpose by the injector: 1"
            + " host_network)\n"
            + "    hint: the injector sees a pod only when it is created: for web/api-0, restart its"
            + " workload (kubectl -n web rollout restart statefulset/api); the controller's Event on"
            + " each pod says what to do (kubectl get events -A --field-selector"
            + " reason=JmeshNotInjected)\n");
  }

  @Test
  void theCheckCapsItsListAndPassesWhenNoneIsLeft() {
    namespace("shop", Map.of(UninjectedPods.INJECT, "enabled"));
    for (int i = 0; i < 12; i++) {
      client.resource(pod("shop", "hello-" + (char) ('a' + i)).build()).create();
    }
    String out = check(null);
    assertThat(out).as(out).contains(
        "\u00d7 12 opted-in pods run without the agent: shop/hello-a (namespace label"
            + " jmesh.io/inject=enabled), shop/hello-b",
        "shop/hello-j (namespace label jmesh.io/inject=enabled) and 2 more\n");
    assertThat(out).doesNotContain("shop/hello-k");

    client.pods().inNamespace("shop").delete();
    assertThat(check(null)).contains("\u221a no opted-in pod runs without the agent\n");
  }

  private void namespace(String name, Map<String, String> labels) {
    client.resource(new NamespaceBuilder().withNewMetadata().withName(name).withLabels(labels)
        .endMetadata().build()).create();
  }

  /** A scheduled pod with one application container. */
  private static PodBuilder pod(String namespace, String name) {
    return new PodBuilder()
        .withNewMetadata().withNamespace(namespace).withName(name).endMetadata()
        .withNewSpec().withNodeName("node-1")
            .addNewContainer().withName("app").withImage("registry.example/shop/hello:1").endContainer()
        .endSpec()
        .withNewStatus().withPhase("Running").endStatus();
  }

  private List<Event> events(String namespace) {
    return client.v1().events().inNamespace(namespace).list().getItems().stream()
        .filter(e -> UninjectedPods.EVENT_REASON.equals(e.getReason()))
        .toList();
  }

  /** A controller with the Kubernetes source on a client of its own, campaigning as {@code identity}. */
  private Controller controller(String identity) throws Exception {
    KubernetesClient own =
        new KubernetesClientBuilder().withConfig(client.getConfiguration()).build();
    StatusLeader leader = new StatusLeader(own, new StatusLeader.Settings(
        CONTROL_PLANE, StatusLeader.Settings.DEFAULT_LEASE_NAME, identity, Duration.ofSeconds(2),
        Duration.ofSeconds(1), Duration.ofMillis(100)));
    Path mesh = Files.writeString(dir.resolve("mesh-" + identity + ".yaml"), "services: []\n");
    Controller c = Controller.start(
        Controller.Options.defaults(mesh)
            .withXdsAddress("127.0.0.1", 0)
            .withAdminAddress("127.0.0.1", 0)
            .withPollMillis(50)
            .withInsecurePlaintext(true),
        KubernetesMeshSource.create(own, "cluster.local", leader));
    controllers.add(c);
    return c;
  }

  private static String metrics(Controller c) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + c.adminPort() + "/metrics"))
            .timeout(Duration.ofSeconds(5)).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }

  private static long eventPosts(String namespace, List<RecordedRequest> requests) {
    return requests.stream().filter(r -> "POST".equals(r.getMethod())
        && r.getPath().startsWith("/api/v1/namespaces/" + namespace + "/events")).count();
  }

  private List<RecordedRequest> drainRequests() throws InterruptedException {
    List<RecordedRequest> requests = new ArrayList<>();
    for (RecordedRequest r; (r = server.takeRequest(0, TimeUnit.SECONDS)) != null; ) {
      requests.add(r);
    }
    return requests;
  }

  /** {@code jmesh check --kubernetes} on the mock server, against {@code c}'s admin port (none: a closed port). */
  private String check(Controller c) {
    Supplier<KubernetesClient> clients =
        () -> new KubernetesClientBuilder().withConfig(client.getConfiguration()).build();
    CommandLine.IFactory factory = new CommandLine.IFactory() {
      @Override
      public <K> K create(Class<K> cls) throws Exception {
        return cls == CheckCommand.class ? cls.cast(new CheckCommand(clients))
            : CommandLine.defaultFactory().create(cls);
      }
    };
    StringWriter out = new StringWriter();
    CommandLine cli = new CommandLine(new JmeshCli(), factory);
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(new StringWriter()));
    String admin = c == null ? "127.0.0.1:1" : "127.0.0.1:" + c.adminPort();
    cli.execute("check", "--kubernetes", "--controller-admin", admin);
    return out.toString();
  }
}
