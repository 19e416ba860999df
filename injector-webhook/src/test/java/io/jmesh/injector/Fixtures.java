package io.jmesh.injector;

import io.fabric8.kubernetes.api.model.GroupVersionKindBuilder;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionRequestBuilder;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponse;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReview;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReviewBuilder;
import io.fabric8.zjsonpatch.JsonPatch;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.dataformat.yaml.YAMLMapper;
import tools.jackson.dataformat.yaml.YAMLWriteFeature;

/**
 * The fixture cases under {@code src/test/resources/fixtures/<case>/}: {@code case.yaml} holds
 * the pod in, its namespace's metadata, optional settings and the expected decision; {@code
 * expected.yaml} holds the patched pod out (for injected cases). With {@code
 * -Djmesh.fixtures.update=true} the expected pods are written from what the injector produces, to
 * be read and reviewed before committing.
 */
final class Fixtures {
  static final Path ROOT = Path.of("src/test/resources/fixtures");
  static final YAMLMapper YAML =
      YAMLMapper.builder()
          .disable(YAMLWriteFeature.WRITE_DOC_START_MARKER)
          .enable(YAMLWriteFeature.MINIMIZE_QUOTES)
          .enable(YAMLWriteFeature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS)
          .build();
  static final JsonMapper JSON = JsonMapper.builder().build();
  static final boolean UPDATE = Boolean.getBoolean("jmesh.fixtures.update");

  static final InjectorSettings SETTINGS =
      InjectorSettings.defaults(
          "0.1.0-test", "ghcr.io/jmesh/agent:0.1.0", "jmesh-controller.jmesh-system.svc:18000");

  /** One case. {@code expect} is {@code injected}, {@code skipped:<code>} or {@code denied:<code>}. */
  record Case(
      String name,
      String description,
      ObjectMeta namespace,
      InjectorSettings settings,
      String expect,
      JsonNode pod) {
    @Override
    public String toString() {
      return name;
    }

    boolean injected() {
      return expect.equals("injected");
    }

    Path expectedFile() {
      return ROOT.resolve(name).resolve("expected.yaml");
    }

    Pod inputPod() {
      return JSON.treeToValue(pod, Pod.class);
    }
  }

  /** The answer to one review and the pod it leads to. */
  record Reviewed(AdmissionResponse response, JsonNode patch, JsonNode patched) {}

  private Fixtures() {}

  static List<Case> all() {
    try (Stream<Path> dirs = Files.list(ROOT)) {
      List<Case> cases = new ArrayList<>();
      for (Path dir : dirs.sorted().toList()) {
        cases.add(load(dir));
      }
      return cases;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static List<Case> injected() {
    return all().stream().filter(Case::injected).toList();
  }

  private static Case load(Path dir) throws IOException {
    JsonNode doc = YAML.readTree(Files.readString(dir.resolve("case.yaml")));
    ObjectMeta ns = doc.has("namespace") ? JSON.treeToValue(doc.get("namespace"), ObjectMeta.class) : null;
    InjectorSettings settings = SETTINGS;
    if (doc.has("settings") && doc.get("settings").has("agentSource")) {
      settings =
          settings.withAgentSource(
              InjectorSettings.AgentSource.valueOf(doc.get("settings").get("agentSource").asString()));
    }
    return new Case(
        dir.getFileName().toString(),
        doc.get("description").asString(),
        ns,
        settings,
        doc.get("expect").asString(),
        doc.get("pod"));
  }

  /** Sends {@code pod} through {@link PodAdmission} as the API server would, and applies the patch. */
  static Reviewed review(InjectorSettings settings, ObjectMeta namespace, JsonNode pod) {
    AdmissionReview request =
        new AdmissionReviewBuilder()
            .withApiVersion("admission.k8s.io/v1")
            .withKind("AdmissionReview")
            .withRequest(
                new AdmissionRequestBuilder()
                    .withUid("705ab4f5-6393-11e8-b7cc-42010a800002")
                    .withKind(new GroupVersionKindBuilder().withGroup("").withVersion("v1").withKind("Pod").build())
                    .withOperation("CREATE")
                    .withNamespace(namespace == null ? "default" : namespace.getName())
                    // As the API server's JSON arrives: plain maps, not a typed Pod.
                    .withObject(JSON.convertValue(pod, Map.class))
                    .build())
            .build();
    AdmissionReview answer =
        new PodAdmission(new PodInjector(settings)).review(request, namespace);
    AdmissionResponse response = answer.getResponse();
    if (response.getPatch() == null) {
      return new Reviewed(response, null, pod);
    }
    JsonNode patch = JSON.readTree(Base64.getDecoder().decode(response.getPatch()));
    return new Reviewed(response, patch, JsonPatch.apply(patch, pod));
  }

  static JsonNode readYaml(Path file) {
    try {
      return YAML.readTree(Files.readString(file));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static void writeYaml(Path file, JsonNode node) {
    try {
      Files.writeString(file, YAML.writeValueAsString(node));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
