package io.jmesh.controller.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.jmesh.controller.kubernetes.UninjectedPods.PodWithoutAgent;
import io.jmesh.controller.kubernetes.UninjectedPods.Verdict;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

class UninjectedPodsTest {
  static final String CONTROL_PLANE = "jmesh-system";
  /** The injector's fixture cases: each a pod, its namespace and the injector's decision. */
  static final Path INJECTOR_FIXTURES = Path.of("../injector-webhook/src/test/resources/fixtures");

  private static UninjectedPods.Findings findings() {
    List<Pod> pods = new ArrayList<>();
    Map<String, ObjectMeta> namespaces = new HashMap<>();
    for (HasMetadata o : Fixtures.objects("uninjected/objects.yaml")) {
      if (o instanceof Namespace ns) {
        namespaces.put(ns.getMetadata().getName(), ns.getMetadata());
      } else {
        pods.add((Pod) o);
      }
    }
    return UninjectedPods.find(pods, namespaces, CONTROL_PLANE);
  }

  @Test
  void findsTheLiveOptedInPodsWithoutTheAgent() {
    List<String> found =
        findings().withoutAgent().stream()
            .map(p -> p.ref() + " by " + p.optedInBy() + (p.webhookSees() ? "" : " (unseen)")
                + (p.badValue() ? " (refused)" : ""))
            .toList();
    assertThat(found).containsExactly(
        "annotated/batch-x by namespace annotation jmesh.io/inject=enabled (unseen)",
        "ghost/lonely by pod label jmesh.io/inject=enabled",
        "off/pod-wins by pod label jmesh.io/inject=enabled",
        "plain/by-annotation by pod annotation jmesh.io/inject=enabled (unseen)",
        "plain/typo by label jmesh.io/inject=\"enable\" (unseen) (refused)",
        "plain/web-0 by pod label jmesh.io/inject=enabled",
        "shop/hello-7d4b9c-x1 by namespace label jmesh.io/inject=enabled",
        "shop/proxy-named by namespace label jmesh.io/inject=enabled",
        "shop/starting by namespace label jmesh.io/inject=enabled");
  }

  @Test
  void podsSkippedOnPurposeAreReportedApart() {
    assertThat(findings().skipped().stream().map(s -> s.ref() + " " + s.verdict().code()))
        .containsExactly("shop/node-agent host_network", "shop/proxy-only no_jvm_container");
  }

  @Test
  void eachMessageSaysWhyAndWhatToDo() {
    Map<String, String> messages = new HashMap<>();
    findings().withoutAgent().forEach(p -> messages.put(p.ref(), p.message()));
    assertThat(messages.get("shop/hello-7d4b9c-x1")).isEqualTo(
        "pod shop/hello-7d4b9c-x1 is opted in by namespace label jmesh.io/inject=enabled but has no"
            + " jmesh agent: it was created while the injector was unavailable or before the label;"
            + " restart its workload (kubectl -n shop rollout restart deployment/hello)");
    assertThat(messages.get("plain/web-0")).endsWith(
        "restart its workload (kubectl -n plain rollout restart statefulset/web)");
    assertThat(messages.get("plain/by-annotation")).isEqualTo(
        "pod plain/by-annotation is opted in by pod annotation jmesh.io/inject=enabled but has no"
            + " jmesh agent: the injector's webhook selects by label only and never saw it; label the"
            + " pod template or the namespace jmesh.io/inject=enabled, then create it again"
            + " (kubectl -n plain delete pod by-annotation, then apply it)");
    assertThat(messages.get("plain/typo")).isEqualTo(
        "pod plain/typo has label jmesh.io/inject=\"enable\" (expected: enabled or disabled) and no"
            + " jmesh agent: the injector refuses a pod with this value, so it never went through the"
            + " injector; fix the value in the pod template, then create it again (kubectl -n plain"
            + " delete pod typo, then apply it)");
    assertThat(messages.get("annotated/batch-x")).endsWith(
        "then delete it so that its Job batch makes a new one (kubectl -n annotated delete pod batch-x)");
  }

  @Test
  void aLongPodNameKeepsItsEventNameWithinTheLimit() {
    String uid = "0f8e2f4c-1d1e-4d5a-9b7c-3e2a1f0b9c8d";
    PodWithoutAgent shortName =
        new PodWithoutAgent("shop", "hello-1", uid, "x", true, false, "restart");
    assertThat(UninjectedPodReporter.eventName(shortName))
        .isEqualTo("hello-1.jmesh-not-injected." + uid);
    PodWithoutAgent longName =
        new PodWithoutAgent("shop", "a".repeat(190) + "-" + "b".repeat(60), uid, "x", true, false, "r");
    String name = UninjectedPodReporter.eventName(longName);
    assertThat(name).hasSizeLessThanOrEqualTo(253).endsWith(".jmesh-not-injected." + uid)
        .doesNotContain("-.");
  }

  /**
   * The tie to the injector: over every case of the injector's own fixtures, this rule decides as
   * the injector does. A pod the injector injects or refuses is, when it runs without the
   * annotation, one without the agent.
   */
  @Test
  void decidesAsTheInjectorOnEveryInjectorFixture() throws IOException {
    KubernetesSerialization json = new KubernetesSerialization();
    List<String> disagreements = new ArrayList<>();
    int cases = 0;
    try (Stream<Path> dirs = Files.list(INJECTOR_FIXTURES)) {
      for (Path dir : dirs.sorted().toList()) {
        Path file = dir.resolve("case.yaml");
        if (!Files.exists(file)) {
          continue;
        }
        cases++;
        Map<String, Object> c = new Yaml().load(Files.readString(file));
        Pod pod = json.convertValue(c.get("pod"), Pod.class);
        ObjectMeta namespace =
            c.get("namespace") == null ? null : json.convertValue(c.get("namespace"), ObjectMeta.class);
        String expect = (String) c.get("expect");
        String injector = expect.equals("injected") || expect.startsWith("denied:")
            ? Verdict.WITHOUT_AGENT.code() : expect.substring("skipped:".length());
        Verdict verdict = UninjectedPods.judge(pod, namespace, CONTROL_PLANE).verdict();
        if (!verdict.code().equals(injector)) {
          disagreements.add(dir.getFileName() + ": injector " + expect + ", controller " + verdict.code());
        }
      }
    }
    assertThat(cases).as("cases under " + INJECTOR_FIXTURES.toAbsolutePath()).isGreaterThanOrEqualTo(50);
    assertThat(disagreements).isEmpty();
  }
}
