package io.jmesh.injector;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.GroupVersionKindBuilder;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionRequestBuilder;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponse;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReview;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReviewBuilder;
import java.util.Map;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

class PodAdmissionTest {
  private static final ObjectMeta SHOP =
      new ObjectMetaBuilder().withName("shop").addToLabels("jmesh.io/inject", "enabled").build();
  private final PodAdmission admission = new PodAdmission(new PodInjector(Fixtures.SETTINGS));

  private static Pod pod() {
    return new PodBuilder()
        .withNewMetadata().withName("hello").withNamespace("shop").endMetadata()
        .withNewSpec().addNewContainer().withName("app").withImage("hello:1").endContainer().endSpec()
        .build();
  }

  private static AdmissionReview request(String operation, String kind, Object object) {
    return new AdmissionReviewBuilder()
        .withRequest(
            new AdmissionRequestBuilder()
                .withUid("uid-1")
                .withKind(new GroupVersionKindBuilder().withGroup("").withVersion("v1").withKind(kind).build())
                .withOperation(operation)
                .withNamespace("shop")
                .withObject(object)
                .build())
        .build();
  }

  @Test
  void aReviewWithoutUidCannotBeAnswered() {
    assertThatThrownBy(() -> admission.review(new AdmissionReview(), SHOP))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("AdmissionReview: no request.uid (expected: an admission.k8s.io/v1 AdmissionReview with request.uid)");
  }

  @Test
  void anUpdateOrAnotherKindIsAllowedUnchanged() {
    for (AdmissionReview review :
        new AdmissionReview[] {request("UPDATE", "Pod", pod()), request("CREATE", "Service", Map.of())}) {
      AdmissionResponse r = admission.review(review, SHOP).getResponse();

      assertThat(r.getUid()).isEqualTo("uid-1");
      assertThat(r.getAllowed()).isTrue();
      assertThat(r.getPatch()).isNull();
      assertThat(r.getAuditAnnotations()).containsEntry(PodAdmission.AUDIT_KEY, "not_a_pod_create");
    }
  }

  @Test
  void theAnswerIsAnAdmissionReviewV1WithAPatchOfPlainOperations() {
    AdmissionReview answer = admission.review(request("CREATE", "Pod", pod()), SHOP);

    assertThat(answer.getApiVersion()).isEqualTo("admission.k8s.io/v1");
    assertThat(answer.getKind()).isEqualTo("AdmissionReview");
    AdmissionResponse r = answer.getResponse();
    assertThat(r.getUid()).isEqualTo("uid-1");
    assertThat(r.getPatchType()).isEqualTo("JSONPatch");
    JsonNode patch = Fixtures.JSON.readTree(java.util.Base64.getDecoder().decode(r.getPatch()));
    for (JsonNode op : patch) {
      assertThat(op.get("op").asString()).isIn("add", "replace", "remove");
    }
  }

  @Test
  void theCallersPodIsNotModified() {
    Pod pod = pod();
    Pod copy = new PodBuilder(pod).build();

    Outcome outcome = new PodInjector(Fixtures.SETTINGS).inject(pod, SHOP);

    assertThat(outcome.kind()).isEqualTo(Outcome.Kind.INJECTED);
    assertThat(pod).isEqualTo(copy);
    assertThat(outcome.pod()).isNotEqualTo(pod);
  }

  @Test
  void aProbeTheListenerCannotLetThroughIsAWarningForKubectl() {
    Pod pod = new PodBuilder(pod()).editSpec().editFirstContainer()
        .withNewReadinessProbe().withNewHttpGet().withPath("/ready").withScheme("HTTPS")
        .withNewPort(8443).endHttpGet().endReadinessProbe()
        .withNewLivenessProbe().withNewHttpGet().withPath("/../admin").withNewPort(8080).endHttpGet().endLivenessProbe()
        .endContainer().endSpec().build();

    AdmissionResponse r = admission.review(request("CREATE", "Pod", pod), SHOP).getResponse();

    assertThat(r.getAllowed()).isTrue();
    assertThat(r.getWarnings())
        .containsExactly(
            "container app: livenessProbe path \"/../admin\" is not exempted from mesh TLS (expected: starts with /, without spaces, #, .., or commas)",
            "container app: readinessProbe uses scheme HTTPS, which the mesh listener refuses in strict mode (expected: HTTP; the path is not exempted)");
  }

  @Test
  void aMissingNamedContainerIsRefusedNamingWhatThePodHas() {
    Pod pod = new PodBuilder(pod()).editMetadata()
        .addToAnnotations("jmesh.io/inject-containers", "app,server").endMetadata().build();

    AdmissionResponse r = admission.review(request("CREATE", "Pod", pod), SHOP).getResponse();

    assertThat(r.getAllowed()).isFalse();
    assertThat(r.getPatch()).isNull();
    assertThat(r.getStatus().getCode()).isEqualTo(400);
    assertThat(r.getStatus().getMessage())
        .isEqualTo("jmesh injector: container_not_found: pod shop/hello: jmesh.io/inject-containers"
            + " names \"server\", which the pod does not have (expected: one of app)");
    assertThat(r.getAuditAnnotations()).containsEntry(PodAdmission.AUDIT_KEY, "container_not_found");
  }

  @Test
  void aPodWithoutSpecIsABadRequest() {
    AdmissionResponse r =
        admission.review(request("CREATE", "Pod", Map.of("metadata", Map.of("name", "x"))), SHOP).getResponse();

    assertThat(r.getAllowed()).isFalse();
    assertThat(r.getStatus().getCode()).isEqualTo(400);
    assertThat(r.getStatus().getMessage())
        .isEqualTo("jmesh injector: bad_pod: pod: no spec (expected: a pod with metadata and spec)");
  }

  @Test
  void aPodTheModelCannotReadIsABadRequestNotACrash() {
    Object malformed = Map.of("metadata", Map.of("name", "x"), "spec", Map.of("containers", "app"));

    AdmissionResponse r = admission.review(request("CREATE", "Pod", malformed), SHOP).getResponse();

    assertThat(r.getAllowed()).isFalse();
    assertThat(r.getStatus().getCode()).isEqualTo(400);
    assertThat(r.getStatus().getMessage())
        .startsWith("jmesh injector: bad_pod: request.object: ")
        .endsWith(" (expected: a v1 Pod)");
  }

  @Test
  void aPodNotYetNamedIsNamedByItsGenerateNameInMessages() {
    Pod pod = new PodBuilder(pod()).editMetadata().withName(null).withNamespace(null)
        .withGenerateName("hello-7d4b9c-").addToAnnotations("jmesh.io/inject", "disabled").endMetadata().build();

    AdmissionResponse r = admission.review(request("CREATE", "Pod", pod), SHOP).getResponse();

    assertThat(r.getStatus().getMessage()).isEqualTo("pod shop/hello-7d4b9c-* says jmesh.io/inject: disabled");
  }

  @Test
  void anAdmissionReviewAsTheApiServerSendsItIsAnsweredInJson() {
    String body =
        """
        {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
         "request": {"uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
           "kind": {"group": "", "version": "v1", "kind": "Pod"},
           "resource": {"group": "", "version": "v1", "resource": "pods"},
           "namespace": "shop", "operation": "CREATE",
           "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller"},
           "object": {"apiVersion": "v1", "kind": "Pod",
             "metadata": {"generateName": "hello-7d4b9c-", "labels": {"app": "hello"}},
             "spec": {"serviceAccountName": "hello", "restartPolicy": "Always",
               "containers": [{"name": "app", "image": "hello:1", "terminationMessagePath": "/dev/termination-log"}]}},
           "dryRun": false}}
        """;
    AdmissionReview review = Fixtures.JSON.readValue(body, AdmissionReview.class);

    String answer = Fixtures.JSON.writeValueAsString(admission.review(review, SHOP));

    JsonNode json = Fixtures.JSON.readTree(answer);
    assertThat(json.get("response").get("uid").asString()).isEqualTo("705ab4f5-6393-11e8-b7cc-42010a800002");
    assertThat(json.get("response").get("allowed").asBoolean()).isTrue();
    assertThat(json.get("response").get("patchType").asString()).isEqualTo("JSONPatch");
    JsonNode patched =
        io.fabric8.zjsonpatch.JsonPatch.apply(
            Fixtures.JSON.readTree(java.util.Base64.getDecoder().decode(json.get("response").get("patch").asString())),
            Fixtures.JSON.readTree(body).get("request").get("object"));
    assertThat(patched.get("spec").get("containers").get(0).get("terminationMessagePath").asString())
        .isEqualTo("/dev/termination-log");
    assertThat(patched.get("metadata").get("annotations").get("jmesh.io/injected").asString())
        .isEqualTo("0.1.0-test");
  }
}
