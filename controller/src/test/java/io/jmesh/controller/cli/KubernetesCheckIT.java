package io.jmesh.controller.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.authorization.v1.ResourceAttributes;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReview;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReviewBuilder;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.jmesh.controller.Controller;
import io.jmesh.controller.install.InstallOptions;
import io.jmesh.controller.install.Manifests;
import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code jmesh check --kubernetes} against fabric8's mock API server in CRUD mode, with {@code jmesh
 * install}'s objects applied, and a real controller for the admin checks (agents connected).
 * CRUD mode only stores a SubjectAccessReview, so an expectation answers each one the way the RBAC
 * authorizer would, from the ClusterRole, Role and bindings that were applied: a rule removed from
 * the Role is a permission the check reports missing.
 */
@EnableKubernetesMockClient(crud = true)
class KubernetesCheckIT {
  static final String NS = InstallOptions.DEFAULT_NAMESPACE;
  static final String USER = "system:serviceaccount:" + NS + ":" + Manifests.CONTROLLER;
  static final String PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

  KubernetesClient client;
  KubernetesMockServer server;
  @TempDir Path dir;

  /** The rules the access-review expectation answers from: cluster-wide, and in NS. */
  private final AtomicReference<List<PolicyRule>> clusterRules = new AtomicReference<>(List.of());
  private final AtomicReference<List<PolicyRule>> namespaceRules = new AtomicReference<>(List.of());
  private final List<SubjectAccessReview> reviews = new java.util.concurrent.CopyOnWriteArrayList<>();
  private Controller controller;

  @BeforeEach
  void answerAccessReviews() {
    server.expect().post().withPath("/apis/authorization.k8s.io/v1/subjectaccessreviews")
        .andReply(201, request -> {
          SubjectAccessReview review = client.getKubernetesSerialization()
              .unmarshal(request.getUtf8Body(), SubjectAccessReview.class);
          reviews.add(review);
          ResourceAttributes a = review.getSpec().getResourceAttributes();
          String resource = a.getResource() + (a.getSubresource() == null ? "" : "/" + a.getSubresource());
          boolean allowed = USER.equals(review.getSpec().getUser())
              && (grants(clusterRules.get(), a.getGroup(), resource, a.getVerb(), a.getName())
                  || (NS.equals(a.getNamespace())
                      && grants(namespaceRules.get(), a.getGroup(), resource, a.getVerb(), a.getName())));
          return new SubjectAccessReviewBuilder(review).withNewStatus().withAllowed(allowed).endStatus().build();
        })
        .always();
  }

  @AfterEach
  void close() {
    if (controller != null) {
      controller.close();
    }
  }

  /** As the RBAC authorizer reads a rule (the install uses no wildcard); resourceNames limit it to names. */
  private static boolean grants(List<PolicyRule> rules, String group, String resource, String verb, String name) {
    return rules.stream().anyMatch(r -> r.getApiGroups().contains(group == null ? "" : group)
        && r.getResources().contains(resource) && r.getVerbs().contains(verb)
        && (r.getResourceNames() == null || r.getResourceNames().isEmpty() || r.getResourceNames().contains(name)));
  }

  private void install() {
    String yaml = run(new String[] {"install"}, null).out;
    for (HasMetadata o : client.load(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8))).items()) {
      client.resource(o).create();
    }
    snapshotRbac();
  }

  /** What the authorizer answers from: the rules bound to the controller's service account. */
  private void snapshotRbac() {
    var binding = client.rbac().clusterRoleBindings().withName(Manifests.CONTROLLER).get();
    boolean bound = binding != null && binding.getSubjects().stream()
        .anyMatch(s -> s.getName().equals(Manifests.CONTROLLER) && NS.equals(s.getNamespace()));
    var role = client.rbac().clusterRoles().withName(Manifests.CONTROLLER).get();
    clusterRules.set(bound && role != null ? role.getRules() : List.of());
    Role nsRole = client.rbac().roles().inNamespace(NS).withName(Manifests.CONTROLLER).get();
    namespaceRules.set(nsRole != null ? nsRole.getRules() : List.of());
  }

  private void gatewayApi() {
    for (String plural : List.of("httproutes", "grpcroutes", "referencegrants")) {
      String kind = switch (plural) {
        case "httproutes" -> "HTTPRoute";
        case "grpcroutes" -> "GRPCRoute";
        default -> "ReferenceGrant";
      };
      String version = plural.equals("referencegrants") ? "v1beta1" : "v1";
      client.resource(new CustomResourceDefinitionBuilder()
          .withNewMetadata().withName(plural + ".gateway.networking.k8s.io").endMetadata()
          .withNewSpec().withGroup("gateway.networking.k8s.io").withScope("Namespaced")
              .withNewNames().withKind(kind).withPlural(plural).endNames()
              .addNewVersion().withName(version).withServed(true).withStorage(true).endVersion()
          .endSpec().build()).create();
    }
  }

  private void controllerReady(int ready) {
    ready(Manifests.CONTROLLER, ready);
  }

  private void ready(String name, int ready) {
    Deployment d = client.apps().deployments().inNamespace(NS).withName(name).get();
    client.resource(new DeploymentBuilder(d).withNewStatus().withReadyReplicas(ready).withReplicas(2).endStatus()
        .build()).updateStatus();
  }

  private void anchorsWritten() {
    ConfigMap cm = client.configMaps().inNamespace(NS).withName(Manifests.TRUST_ANCHORS).get();
    client.resource(new ConfigMapBuilder(cm).withData(Map.of(Manifests.TRUST_ANCHORS_KEY, PEM)).build()).update();
  }

  /** What the controller's leader does: the webhook's caBundle set to {@code pem}. */
  private void caBundle(String pem) {
    client.admissionRegistration().v1().mutatingWebhookConfigurations().withName(Manifests.INJECTOR).edit(w -> {
      w.getWebhooks().forEach(e -> e.getClientConfig().setCaBundle(
          java.util.Base64.getEncoder().encodeToString(pem.getBytes(StandardCharsets.US_ASCII))));
      return w;
    });
  }

  private String startController() throws Exception {
    Path file = Files.writeString(dir.resolve("mesh.yaml"), "services: []\n");
    controller = Controller.start(Controller.Options.defaults(file)
        .withXdsAddress("127.0.0.1", 0).withAdminAddress("127.0.0.1", 0).withPollMillis(50).withCaDir(dir.resolve("ca")));
    String admin = "127.0.0.1:" + controller.adminPort();
    await().atMost(Duration.ofSeconds(10)).until(() -> run(new String[] {"check", "--controller-admin", admin}, null).code == 0);
    return admin;
  }

  record Result(int code, String out, String err) {}

  /** Runs the CLI; {@code check} gets a client of {@code config} (the mock server's when null). */
  private Result run(String[] args, Config config) {
    Supplier<KubernetesClient> clients = () ->
        new KubernetesClientBuilder().withConfig(config == null ? client.getConfiguration() : config).build();
    CommandLine.IFactory factory = new CommandLine.IFactory() {
      @Override
      public <K> K create(Class<K> cls) throws Exception {
        return cls == CheckCommand.class ? cls.cast(new CheckCommand(clients)) : CommandLine.defaultFactory().create(cls);
      }
    };
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = new CommandLine(new JmeshCli(), factory);
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    int code = cli.execute(args);
    return new Result(code, out.toString(), err.toString());
  }

  @Test
  void aHealthyInstallPassesEveryCheck() throws Exception {
    install();
    gatewayApi();
    controllerReady(2);
    anchorsWritten();
    ready(Manifests.INJECTOR, 2);
    caBundle(PEM);
    String admin = startController();

    Result r = run(new String[] {"check", "--kubernetes", "--controller-admin", admin}, null);

    assertThat(r.out).as(r.out).contains(
        "\u221a Kubernetes API " + client.getMasterUrl() + " is reachable\n",
        "\u221a namespace jmesh-system exists\n",
        "\u221a CRD retrybudgetpolicies.jmesh.io serves v1alpha1\n",
        "\u221a CRD failureaccrualpolicies.jmesh.io serves v1alpha1\n",
        "\u221a CRD ratelimitpolicies.jmesh.io serves v1alpha1\n",
        "\u221a CRD authorizationpolicies.jmesh.io serves v1alpha1\n",
        "\u221a CRD httproutes.gateway.networking.k8s.io serves v1\n",
        "\u221a CRD grpcroutes.gateway.networking.k8s.io serves v1\n",
        "\u221a CRD referencegrants.gateway.networking.k8s.io serves v1beta1\n",
        "\u221a service account " + USER + " has the 51 permissions the controller needs\n",
        "\u221a deployment jmesh-system/jmesh-controller: 2 of 2 replicas ready\n",
        "\u221a configmap jmesh-system/jmesh-trust-anchors holds the trust anchors\n",
        "\u221a no injected pod yet: no namespace needs a copy of configmap jmesh-trust-anchors\n",
        "\u221a deployment jmesh-system/jmesh-injector: 2 of 2 replicas ready\n",
        "\u221a mutatingwebhookconfiguration jmesh-injector: caBundle set to the trust anchors\n",
        "\u221a no opted-in pod runs without the agent\n",
        "\u221a controller admin " + admin + " is ready\n",
        "\u203c no agent is connected yet",
        "Status check results are \u221a");
    assertThat(r.out).doesNotContain("\u00d7");
    assertThat(r.code).isZero();
    // One review per permission, each for the controller's service account.
    assertThat(reviews).hasSize(51).allSatisfy(rv -> assertThat(rv.getSpec().getUser()).isEqualTo(USER));
  }

  @Test
  void whatIsMissingIsNamedWithAHint() throws Exception {
    install();
    // No Gateway API; a Role without the leases rule; no replica ready; the anchors not written yet.
    Role role = client.rbac().roles().inNamespace(NS).withName(Manifests.CONTROLLER).get();
    List<PolicyRule> kept = new ArrayList<>(role.getRules());
    kept.removeIf(rule -> rule.getApiGroups().contains("coordination.k8s.io"));
    client.resource(new RoleBuilder(role).withRules(kept).build()).update();
    snapshotRbac();
    String admin = startController();

    Result r = run(new String[] {"check", "--kubernetes", "--controller-admin", admin}, null);

    assertThat(r.out).as(r.out).contains(
        "\u00d7 CRD httproutes.gateway.networking.k8s.io is not installed\n    hint: install Gateway API",
        "\u00d7 CRD grpcroutes.gateway.networking.k8s.io is not installed\n",
        "\u00d7 CRD referencegrants.gateway.networking.k8s.io is not installed\n",
        "\u00d7 service account " + USER + " may not get coordination.k8s.io/leases in jmesh-system,"
            + " create coordination.k8s.io/leases in jmesh-system, update coordination.k8s.io/leases in"
            + " jmesh-system, patch coordination.k8s.io/leases in jmesh-system\n    hint: re-apply the RBAC of jmesh install --namespace jmesh-system | kubectl apply -f -;"
            + " kubectl auth can-i <verb> <resource> --as=" + USER + "\n",
        "\u00d7 deployment jmesh-system/jmesh-controller: 0 of 2 replicas ready\n    hint: kubectl -n jmesh-system"
            + " describe deployment jmesh-controller; kubectl -n jmesh-system logs deployment/jmesh-controller\n",
        "\u203c configmap jmesh-system/jmesh-trust-anchors exists but holds no certificate under trust-anchors.pem",
        "\u00d7 deployment jmesh-system/jmesh-injector: 0 of 2 replicas ready\n",
        "\u00d7 mutatingwebhookconfiguration jmesh-injector: caBundle not set in namespace.inject.jmesh.io,"
            + " pod.inject.jmesh.io (the API server cannot verify the injector; opted-in pods are refused)\n"
            + "    hint: the controller's leader writes it (--ca-secret)",
        "7 checks failed");
    assertThat(r.code).isEqualTo(1);
  }

  @Test
  void namespacesWithInjectedPodsNeedACurrentCopyOfTheAnchors() throws Exception {
    install();
    anchorsWritten();
    String admin = startController();
    // Injected pods in shop (a current copy), web (a stale one), batch (none), legacy (a copy by
    // hand); a pod without the agent in plain, which needs none.
    for (String ns : List.of("shop", "web", "batch", "legacy", "plain")) {
      client.resource(new PodBuilder().withNewMetadata().withName("app").withNamespace(ns)
          .addToAnnotations(ns.equals("plain") ? Map.of() : Map.of("jmesh.io/injected", "0.1.0"))
          .endMetadata().build()).create();
    }
    copy("shop", PEM, true);
    copy("web", "an anchor rotated away", true);
    copy("legacy", PEM, false);

    Result r = run(new String[] {"check", "--kubernetes", "--controller-admin", admin}, null);

    assertThat(r.out).as(r.out).contains(
        "\u203c configmap jmesh-trust-anchors not written by the controller (no label"
            + " app.kubernetes.io/managed-by=jmesh-controller) in legacy: the controller leaves it alone\n"
            + "    hint: delete it to let the controller keep it: kubectl -n <namespace> delete configmap"
            + " jmesh-trust-anchors\n",
        "\u00d7 configmap jmesh-trust-anchors missing in batch (injected pods there cannot mount it and do"
            + " not start); stale in web (not the anchors of configmap jmesh-system/jmesh-trust-anchors)\n"
            + "    hint: the controller's leader writes them (--trust-anchors-namespaces); kubectl -n"
            + " jmesh-system logs deployment/jmesh-controller | grep 'trust anchors'\n");
    assertThat(r.out).doesNotContain("plain");
    assertThat(r.code).isEqualTo(1);

    // What the controller's leader does.
    copy("web", PEM, true);
    copy("batch", PEM, true);
    r = run(new String[] {"check", "--kubernetes", "--controller-admin", admin}, null);
    assertThat(r.out).as(r.out).contains("\u221a configmap jmesh-trust-anchors present and current in 3"
        + " namespaces with injected pods (batch, shop, web)\n");
    assertThat(r.out).doesNotContain("missing in", "stale in");
  }

  private void copy(String ns, String pem, boolean ours) {
    client.resource(new ConfigMapBuilder().withNewMetadata().withName(Manifests.TRUST_ANCHORS).withNamespace(ns)
        .withLabels(ours ? Map.of("app.kubernetes.io/managed-by", "jmesh-controller") : Map.of()).endMetadata()
        .withData(Map.of(Manifests.TRUST_ANCHORS_KEY, pem)).build()).createOr(c -> c.update());
  }

  @Test
  void nothingInstalledSaysToInstall() throws Exception {
    String admin = startController();
    Result r = run(new String[] {"check", "--kubernetes", "--controller-admin", admin}, null);
    assertThat(r.out).as(r.out).contains(
        "\u00d7 namespace jmesh-system does not exist\n    hint: jmesh install --namespace jmesh-system | kubectl apply -f -\n",
        "\u00d7 CRD retrybudgetpolicies.jmesh.io is not installed\n    hint: jmesh install",
        "\u00d7 deployment jmesh-system/jmesh-controller does not exist\n",
        "\u00d7 configmap jmesh-system/jmesh-trust-anchors does not exist (agents mount it as JMESH_TRUST_ANCHORS_FILE)\n",
        "\u00d7 deployment jmesh-system/jmesh-injector does not exist\n",
        "\u00d7 mutatingwebhookconfiguration jmesh-injector does not exist\n");
    assertThat(r.code).isEqualTo(1);
  }

  @Test
  void anUnreachableApiAndControllerAreNamedWithWhatToCheck() {
    Config nowhere = new ConfigBuilder(client.getConfiguration())
        .withMasterUrl("http://127.0.0.1:1/")
        .withRequestRetryBackoffLimit(0)
        .withConnectionTimeout(2_000)
        .build();
    Result r = run(new String[] {"check", "--kubernetes", "--controller-admin", "127.0.0.1:1"}, nowhere);
    assertThat(r.out).as(r.out).contains(
        "\u00d7 Kubernetes API http://127.0.0.1:1/: ",
        "    hint: is the kube config right? (KUBECONFIG, kubectl config current-context)\n",
        "    hint: in Kubernetes: kubectl -n jmesh-system port-forward deployment/jmesh-controller 18001,"
            + " then --controller-admin 127.0.0.1:18001\n");
    assertThat(r.code).isEqualTo(1);
  }
}
