package io.jmesh.controller.install;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.jmesh.controller.cli.JmeshCli;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code jmesh install}'s output: every document parses with fabric8's deserializer, RBAC has no
 * wildcard and is exactly the controller's permissions, the CRD schemas are structural and admit a
 * sample of each kind (and refuse a broken one), and the whole output matches
 * {@code src/test/resources/install/golden.yaml}.
 *
 * <p>To regenerate the golden file after an intended change, run this test with
 * {@code -Djmesh.install.golden.update=true} and review the diff.
 */
class ManifestsTest {
  static final String IMAGE = "ghcr.io/jmesh/controller:golden";
  static final Path GOLDEN = Path.of("src/test/resources/install/golden.yaml");
  private final KubernetesSerialization serialization = new KubernetesSerialization();

  /** The output of {@code jmesh install --image <IMAGE>}, through the CLI. */
  static String install(String... extra) {
    List<String> args = new ArrayList<>(List.of("install", "--image", IMAGE));
    args.addAll(List.of(extra));
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = JmeshCli.run(args.toArray(String[]::new), new PrintWriter(out), new PrintWriter(err));
    assertThat(code).as("exit code; stderr: %s", err).isZero();
    return out.toString();
  }

  /** The YAML documents of a stream, split on {@code ---} lines. */
  static List<String> documents(String yaml) {
    List<String> docs = new ArrayList<>();
    for (String doc : yaml.split("(?m)^---\\s*$")) {
      if (!doc.isBlank()) {
        docs.add(doc);
      }
    }
    return docs;
  }

  private List<HasMetadata> parsed(String yaml) {
    return documents(yaml).stream().map(d -> (HasMetadata) serialization.unmarshal(d)).toList();
  }

  @Test
  void everyDocumentParsesBackToTheObjectItWasMadeFrom() {
    List<HasMetadata> made = Manifests.objects(new InstallOptions(InstallOptions.DEFAULT_NAMESPACE, IMAGE));
    List<HasMetadata> parsed = parsed(install());

    assertThat(parsed).hasSameSizeAs(made);
    for (int i = 0; i < made.size(); i++) {
      // Typed, not generic: the deserializer knew each apiVersion and kind.
      assertThat(parsed.get(i)).as("document %d", i).isInstanceOf(made.get(i).getClass()).isEqualTo(made.get(i));
    }
    assertThat(parsed).extracting(HasMetadata::getKind).containsExactly(
        "Namespace", "CustomResourceDefinition", "CustomResourceDefinition", "CustomResourceDefinition",
        "CustomResourceDefinition", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role",
        "RoleBinding", "ConfigMap", "Service", "Deployment", "PodDisruptionBudget",
        "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Service", "Deployment", "PodDisruptionBudget",
        "MutatingWebhookConfiguration");
  }

  @Test
  void namespaceAndImageAreOptions() {
    List<HasMetadata> parsed = parsed(install("--namespace", "mesh-ops"));
    assertThat(parsed).filteredOn(o -> o.getMetadata().getNamespace() != null)
        .allSatisfy(o -> assertThat(o.getMetadata().getNamespace()).isEqualTo("mesh-ops"));
    assertThat(parsed.get(0).getMetadata().getName()).isEqualTo("mesh-ops");
    Deployment d = (Deployment) parsed.stream().filter(o -> o instanceof Deployment).findFirst().orElseThrow();
    assertThat(d.getSpec().getTemplate().getSpec().getContainers().get(0).getImage()).isEqualTo(IMAGE);
    // The injector is told where the controller of that namespace is, and never sent its pods.
    assertThat(injector(parsed).getArgs()).containsSequence("--controller-address", "jmesh-controller.mesh-ops.svc:18000");
    assertThat(webhook(parsed).getWebhooks()).allSatisfy(w ->
        assertThat(w.getNamespaceSelector().getMatchExpressions()).anySatisfy(e -> {
          assertThat(e.getKey()).isEqualTo("kubernetes.io/metadata.name");
          assertThat(e.getOperator()).isEqualTo("NotIn");
          assertThat(e.getValues()).containsExactly("kube-system", "mesh-ops");
        }));

    // The default image is the project's, tagged with its version.
    assertThat(InstallOptions.defaultImage()).matches("ghcr\\.io/jmesh/controller:[0-9]+\\.[0-9]+\\.[0-9]+.*");
  }

  @Test
  void aBadNamespaceIsRefusedWithWhatWasExpected() {
    StringWriter err = new StringWriter();
    int code = JmeshCli.run(new String[] {"install", "--namespace", "Jmesh_System"},
        new PrintWriter(new StringWriter()), new PrintWriter(err));
    assertThat(code).isEqualTo(2);
    assertThat(err.toString()).contains("--namespace: \"Jmesh_System\" (expected: a DNS label");
  }

  @Test
  void noRbacRuleHasAWildcardAndTheRulesAreExactlyThePermissions() {
    List<HasMetadata> parsed = parsed(install());
    List<PolicyRule> clusterRules = parsed.stream().filter(o -> o instanceof ClusterRole)
        .filter(o -> o.getMetadata().getName().equals(Manifests.CONTROLLER))
        .flatMap(o -> ((ClusterRole) o).getRules().stream()).toList();
    List<PolicyRule> roleRules = parsed.stream().filter(o -> o instanceof Role)
        .flatMap(o -> ((Role) o).getRules().stream()).toList();
    assertThat(clusterRules).isNotEmpty();
    assertThat(roleRules).isNotEmpty();

    List<PolicyRule> injectorRules = parsed.stream().filter(o -> o instanceof ClusterRole)
        .filter(o -> o.getMetadata().getName().equals(Manifests.INJECTOR))
        .flatMap(o -> ((ClusterRole) o).getRules().stream()).toList();
    // The injector reads namespaces, nothing else.
    assertThat(triples(injectorRules, null)).containsExactlyInAnyOrder(
        new ControllerPermission("", "namespaces", "get", null),
        new ControllerPermission("", "namespaces", "list", null),
        new ControllerPermission("", "namespaces", "watch", null));

    for (PolicyRule rule : concat(concat(clusterRules, roleRules), injectorRules)) {
      assertThat(rule.getVerbs()).as("verbs of %s", rule).isNotEmpty().doesNotContain("*");
      assertThat(rule.getResources()).as("resources of %s", rule).isNotEmpty()
          .allSatisfy(r -> assertThat(r).doesNotContain("*"));
      assertThat(rule.getApiGroups()).as("apiGroups of %s", rule).isNotEmpty().doesNotContain("*");
      assertThat(rule.getNonResourceURLs()).as("nonResourceURLs of %s", rule).isNullOrEmpty();
    }

    // Granted = needed, one triple at a time: nothing more, nothing missing.
    String ns = InstallOptions.DEFAULT_NAMESPACE;
    assertThat(triples(clusterRules, null)).containsExactlyInAnyOrderElementsOf(
        ControllerRbac.permissions(ns).stream().filter(p -> p.namespace() == null).toList());
    assertThat(triples(roleRules, ns)).containsExactlyInAnyOrderElementsOf(
        ControllerRbac.permissions(ns).stream().filter(p -> p.namespace() != null).toList());
    // Secrets only in its own namespace.
    assertThat(triples(clusterRules, null)).noneMatch(p -> p.resource().equals("secrets"));
    // ConfigMaps everywhere for the anchors' copies, but never delete or patch one.
    assertThat(triples(clusterRules, null).stream().filter(p -> p.resource().equals("configmaps"))
        .map(ControllerPermission::verb)).containsExactlyInAnyOrder("get", "list", "watch", "create", "update");
  }

  private static List<PolicyRule> concat(List<PolicyRule> a, List<PolicyRule> b) {
    List<PolicyRule> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }

  private static List<ControllerPermission> triples(List<PolicyRule> rules, String namespace) {
    List<ControllerPermission> out = new ArrayList<>();
    for (PolicyRule r : rules) {
      for (String g : r.getApiGroups()) {
        for (String res : r.getResources()) {
          for (String v : r.getVerbs()) {
            if (r.getResourceNames() == null || r.getResourceNames().isEmpty()) {
              out.add(new ControllerPermission(g, res, v, namespace));
            } else {
              r.getResourceNames().forEach(n -> out.add(new ControllerPermission(g, res, v, namespace, n)));
            }
          }
        }
      }
    }
    return out;
  }

  @Test
  void theControllerPodMeetsTheRestrictedPodSecurityStandard() {
    Deployment d = (Deployment) parsed(install()).stream().filter(o -> o instanceof Deployment).findFirst().orElseThrow();
    var pod = d.getSpec().getTemplate().getSpec();
    assertThat(d.getSpec().getReplicas()).isEqualTo(2);
    assertThat(pod.getSecurityContext().getRunAsNonRoot()).isTrue();
    assertThat(pod.getSecurityContext().getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
    assertThat(pod.getContainers()).singleElement().satisfies(c -> {
      assertThat(c.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
      assertThat(c.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
      assertThat(c.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
      assertThat(c.getSecurityContext().getCapabilities().getAdd()).isNullOrEmpty();
      assertThat(c.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/ready");
      assertThat(c.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/live");
      assertThat(c.getReadinessProbe().getHttpGet().getPort().getStrVal()).isEqualTo("http-admin");
      assertThat(c.getPorts()).anySatisfy(p -> {
        assertThat(p.getName()).isEqualTo("http-admin");
        assertThat(p.getContainerPort()).isEqualTo(Manifests.ADMIN_PORT);
      });
      assertThat(c.getResources().getRequests()).containsKeys("cpu", "memory");
      assertThat(c.getResources().getLimits()).containsKeys("cpu", "memory");
      // The controller's own flag for the admin port is the one the probes use.
      assertThat(String.join(" ", c.getArgs())).contains("--admin-address 0.0.0.0:" + Manifests.ADMIN_PORT);
    });
    assertThat(pod.getVolumes()).allSatisfy(v -> assertThat(v.getHostPath()).isNull());
  }

  private static io.fabric8.kubernetes.api.model.Container injector(List<HasMetadata> parsed) {
    Deployment d = (Deployment) parsed.stream().filter(o -> o instanceof Deployment)
        .filter(o -> o.getMetadata().getName().equals(Manifests.INJECTOR)).findFirst().orElseThrow();
    return d.getSpec().getTemplate().getSpec().getContainers().get(0);
  }

  private static MutatingWebhookConfiguration webhook(List<HasMetadata> parsed) {
    return (MutatingWebhookConfiguration) parsed.stream().filter(o -> o instanceof MutatingWebhookConfiguration)
        .findFirst().orElseThrow();
  }

  @Test
  void theInjectorMountsItsSecretWhereItReadsItAndIsProbedOnReady() {
    List<HasMetadata> parsed = parsed(install("--agent-image", "registry.example/agent:1", "--injector-image",
        "registry.example/injector:1"));
    Deployment d = (Deployment) parsed.stream().filter(o -> o instanceof Deployment)
        .filter(o -> o.getMetadata().getName().equals(Manifests.INJECTOR)).findFirst().orElseThrow();
    var pod = d.getSpec().getTemplate().getSpec();
    assertThat(d.getSpec().getReplicas()).isEqualTo(2);
    assertThat(pod.getServiceAccountName()).isEqualTo(Manifests.INJECTOR);
    assertThat(pod.getSecurityContext().getRunAsNonRoot()).isTrue();
    assertThat(pod.getSecurityContext().getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
    var c = injector(parsed);
    assertThat(c.getImage()).isEqualTo("registry.example/injector:1");
    assertThat(c.getArgs()).containsSequence("--agent-image", "registry.example/agent:1")
        .containsSequence("--tls-dir", "/var/run/jmesh/injector-tls")
        .containsSequence("--address", "0.0.0.0:8443");
    assertThat(c.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
    assertThat(c.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
    assertThat(c.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
    assertThat(c.getResources().getRequests()).containsKeys("cpu", "memory");
    assertThat(c.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/ready");
    assertThat(c.getReadinessProbe().getHttpGet().getScheme()).isEqualTo("HTTPS");
    assertThat(c.getPorts()).singleElement().satisfies(p -> assertThat(p.getContainerPort()).isEqualTo(8443));
    assertThat(c.getVolumeMounts()).anySatisfy(m -> {
      assertThat(m.getMountPath()).isEqualTo("/var/run/jmesh/injector-tls");
      assertThat(m.getReadOnly()).isTrue();
      assertThat(pod.getVolumes()).anySatisfy(v -> {
        assertThat(v.getName()).isEqualTo(m.getName());
        assertThat(v.getSecret().getSecretName()).isEqualTo(Manifests.INJECTOR_TLS_SECRET);
      });
    });
    assertThat(pod.getVolumes()).allSatisfy(v -> assertThat(v.getHostPath()).isNull());
    assertThat(parsed).anySatisfy(o -> {
      assertThat(o).isInstanceOf(io.fabric8.kubernetes.api.model.Service.class);
      assertThat(o.getMetadata().getName()).isEqualTo(Manifests.INJECTOR);
      var port = ((io.fabric8.kubernetes.api.model.Service) o).getSpec().getPorts().get(0);
      assertThat(port.getPort()).isEqualTo(443);
      assertThat(port.getTargetPort().getStrVal()).isEqualTo(c.getPorts().get(0).getName());
    });
  }

  @Test
  void theWebhookSelectsOnLabelsAndFailsClosed() {
    MutatingWebhookConfiguration config = webhook(parsed(install()));
    assertThat(config.getMetadata().getName()).isEqualTo(Manifests.INJECTOR);
    assertThat(config.getWebhooks()).extracting(MutatingWebhook::getName)
        .containsExactly("namespace.inject.jmesh.io", "pod.inject.jmesh.io");
    for (MutatingWebhook w : config.getWebhooks()) {
      assertThat(w.getAdmissionReviewVersions()).containsExactly("v1");
      assertThat(w.getSideEffects()).isEqualTo("None");
      assertThat(w.getFailurePolicy()).isEqualTo("Fail");
      assertThat(w.getReinvocationPolicy()).isEqualTo("IfNeeded");
      assertThat(w.getTimeoutSeconds()).isBetween(5, 10);
      // Filled by the controller at run time; re-applying must not erase it.
      assertThat(w.getClientConfig().getCaBundle()).isNull();
      assertThat(w.getClientConfig().getService().getName()).isEqualTo(Manifests.INJECTOR);
      assertThat(w.getClientConfig().getService().getPath()).isEqualTo("/inject");
      assertThat(w.getClientConfig().getService().getPort()).isEqualTo(443);
      assertThat(w.getRules()).singleElement().satisfies(r -> {
        assertThat(r.getOperations()).containsExactly("CREATE");
        assertThat(r.getResources()).containsExactly("pods");
      });
    }
    // A namespace is selected by exactly one entry, so no pod is sent twice.
    assertThat(selector(config.getWebhooks().get(0).getNamespaceSelector(), "jmesh.io/inject"))
        .isEqualTo("In [enabled]");
    assertThat(selector(config.getWebhooks().get(0).getObjectSelector(), "jmesh.io/inject"))
        .isEqualTo("NotIn [disabled]");
    assertThat(selector(config.getWebhooks().get(1).getNamespaceSelector(), "jmesh.io/inject"))
        .isEqualTo("NotIn [enabled]");
    assertThat(selector(config.getWebhooks().get(1).getObjectSelector(), "jmesh.io/inject"))
        .isEqualTo("In [enabled]");
  }

  private static String selector(io.fabric8.kubernetes.api.model.LabelSelector s, String key) {
    return s.getMatchExpressions().stream().filter(e -> e.getKey().equals(key))
        .map(e -> e.getOperator() + " " + e.getValues()).findFirst().orElse("none");
  }

  @Test
  void everyCrdSchemaIsStructural() {
    List<CustomResourceDefinition> crds = crds();
    assertThat(crds).extracting(c -> c.getMetadata().getName()).containsExactly(
        "retrybudgetpolicies.jmesh.io", "failureaccrualpolicies.jmesh.io", "ratelimitpolicies.jmesh.io",
        "authorizationpolicies.jmesh.io");
    for (CustomResourceDefinition crd : crds) {
      assertThat(crd.getSpec().getVersions()).singleElement().satisfies(v -> {
        assertThat(v.getName()).isEqualTo(JmeshCrds.VERSION);
        assertThat(v.getServed()).isTrue();
        assertThat(v.getStorage()).isTrue();
        assertThat(SchemaCheck.untyped(v.getSchema().getOpenAPIV3Schema(), crd.getMetadata().getName()))
            .as("untyped nodes").isEmpty();
      });
    }
  }

  @Test
  void aSampleOfEachKindValidatesAgainstItsSchema() throws IOException {
    for (CustomResourceDefinition crd : crds()) {
      String plural = crd.getSpec().getNames().getPlural();
      Map<String, Object> sample = sample(plural);
      assertThat(sample.get("kind")).isEqualTo(crd.getSpec().getNames().getKind());
      assertThat(sample.get("apiVersion")).isEqualTo(crd.getSpec().getGroup() + "/" + JmeshCrds.VERSION);
      assertThat(SchemaCheck.validate(schema(crd), sample, plural)).as(plural).isEmpty();
    }
  }

  @Test
  void theSchemasRefuseWhatMeshYamlRefuses() throws IOException {
    CustomResourceDefinition budget = crd("retrybudgetpolicies");
    Map<String, Object> s = sample("retrybudgetpolicies");
    spec(s).put("ratio", "a lot");
    spec(s).put("ttl", "ten seconds");
    spec(s).put("burst", 3);
    assertThat(SchemaCheck.validate(schema(budget), s, "rb")).containsExactlyInAnyOrder(
        "rb.spec.ratio: a lot (expected: a number)",
        "rb.spec.ttl: ten seconds (expected: to match ^([0-9]{1,5}(h|m|s|ms)){1,4}$)",
        "rb.spec.burst: unknown field (expected one of [targetRefs, ratio, minPerSecond, ttl])");

    Map<String, Object> rate = sample("ratelimitpolicies");
    spec(rate).remove("requestsPerSecond");
    spec(rate).put("targetRefs", List.of());
    assertThat(SchemaCheck.validate(schema(crd("ratelimitpolicies")), rate, "rl")).containsExactlyInAnyOrder(
        "rl.spec.requestsPerSecond: missing (expected: required)",
        "rl.spec.targetRefs: 0 items (expected: at least 1)");

    Map<String, Object> authz = sample("authorizationpolicies");
    spec(authz).put("mode", "permissive");
    spec(authz).put("rules", List.of(Map.of("name", "x", "action", "allow", "methods", List.of("get"))));
    assertThat(SchemaCheck.validate(schema(crd("authorizationpolicies")), authz, "az")).containsExactlyInAnyOrder(
        "az.spec.mode: permissive (expected one of [\"enforce\", \"audit\"])",
        "az.spec.rules[0].methods[0]: get (expected: to match ^[A-Z]+$)");
  }

  @Test
  void theAuthorizationRulesCarryTheCelChecksMeshYamlMakes() {
    JSONSchemaProps rule = schema(crd("authorizationpolicies")).getProperties().get("spec")
        .getProperties().get("rules").getItems().getSchema();
    assertThat(rule.getXKubernetesValidations()).extracting(v -> v.getRule()).containsExactly(
        "has(self.identities) || has(self.namespaces) || has(self.serviceAccounts)",
        "!(has(self.pathPrefix) && has(self.methods) && 'TCP' in self.methods)");
  }

  @Test
  void theTrustAnchorConfigMapIsCreatedWithoutData() {
    HasMetadata cm = parsed(install()).stream()
        .filter(o -> o.getMetadata().getName().equals(Manifests.TRUST_ANCHORS)).findFirst().orElseThrow();
    // No data: re-applying must never erase what the controller wrote.
    assertThat(((io.fabric8.kubernetes.api.model.ConfigMap) cm).getData()).isNullOrEmpty();
  }

  @Test
  void theOutputMatchesTheGoldenFile() throws IOException {
    String actual = install();
    if (Boolean.getBoolean("jmesh.install.golden.update")) {
      Files.writeString(GOLDEN, actual, StandardCharsets.UTF_8);
    }
    assertThat(actual)
        .as("jmesh install output; if the change is intended, regenerate %s with"
            + " -Djmesh.install.golden.update=true and review the diff", GOLDEN)
        .isEqualTo(Files.readString(GOLDEN, StandardCharsets.UTF_8));
  }

  private List<CustomResourceDefinition> crds() {
    return parsed(install()).stream().filter(o -> o instanceof CustomResourceDefinition)
        .map(o -> (CustomResourceDefinition) o).toList();
  }

  private CustomResourceDefinition crd(String plural) {
    return crds().stream().filter(c -> c.getSpec().getNames().getPlural().equals(plural)).findFirst().orElseThrow();
  }

  private static JSONSchemaProps schema(CustomResourceDefinition crd) {
    return crd.getSpec().getVersions().get(0).getSchema().getOpenAPIV3Schema();
  }

  @SuppressWarnings("unchecked")
  private Map<String, Object> sample(String plural) throws IOException {
    String yaml = Files.readString(Path.of("src/test/resources/install/samples/" + plural + ".yaml"));
    return serialization.unmarshal(yaml, Map.class);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> spec(Map<String, Object> resource) {
    return (Map<String, Object>) resource.get("spec");
  }
}
