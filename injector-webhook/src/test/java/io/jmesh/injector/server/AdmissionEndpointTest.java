package io.jmesh.injector.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ObjectMeta;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

class AdmissionEndpointTest {
  private final List<String> looked = new ArrayList<>();
  private final Map<String, ObjectMeta> namespaces = Map.of("shop", Reviews.namespace("shop", "enabled"));
  private final AdmissionMetrics metrics = new AdmissionMetrics();
  private final AdmissionEndpoint endpoint =
      new AdmissionEndpoint(
          Reviews.admission(),
          new NamespaceLookup() {
            @Override
            public ObjectMeta metadata(String namespace) throws UnavailableException {
              looked.add(namespace);
              if (namespace.equals("down")) {
                throw new UnavailableException("namespace down: cannot read it from the Kubernetes API: 503", null);
              }
              return namespaces.get(namespace);
            }

            @Override
            public boolean ready() {
              return true;
            }
          },
          metrics);

  private AdmissionEndpoint.Answer post(String body) {
    return endpoint.handle(body.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void thePodOfALabelledNamespaceIsInjected() {
    String review = Reviews.podCreate("u-1", "shop", "{\"app\":\"hello\"}");
    AdmissionEndpoint.Answer answer = post(review);

    assertThat(answer.status()).isEqualTo(200);
    JsonNode response = Reviews.response(answer.body());
    assertThat(response.get("uid").asString()).isEqualTo("u-1");
    assertThat(response.get("allowed").asBoolean()).isTrue();
    assertThat(Reviews.patched(review, response).at("/metadata/annotations/jmesh.io~1injected").asString())
        .isEqualTo("0.1.0-test");
    assertThat(looked).containsExactly("shop");
    assertThat(metrics.total("injected")).isEqualTo(1);
  }

  @Test
  void aNamespaceThatCannotBeReadRefusesThePodRatherThanSkipIt() {
    JsonNode response = Reviews.response(post(Reviews.podCreate("u-2", "down", "{}")).body());

    assertThat(response.get("allowed").asBoolean()).isFalse();
    assertThat(response.at("/status/code").asInt()).isEqualTo(503);
    assertThat(response.at("/status/message").asString())
        .isEqualTo("jmesh injector: namespace_unavailable: namespace down: cannot read it from the Kubernetes API: 503");
  }

  @Test
  void reviewsWithoutAUidGetA400Line() {
    String expected = " (expected: an admission.k8s.io/v1 AdmissionReview with request.uid)\n";
    Map<String, String> cases =
        Map.of(
            "{\"kind\": \"AdmissionReview\", ", "request body: not JSON: ",
            "[1, 2]", "request body: a JSON array" + expected,
            "", "request body: a JSON empty body" + expected,
            "{\"kind\":\"AdmissionReview\",\"apiVersion\":\"admission.k8s.io/v1\"}", "AdmissionReview: no request" + expected,
            "{\"kind\":\"AdmissionReview\",\"apiVersion\":\"admission.k8s.io/v1\",\"request\":{\"uid\":\"\"}}",
                "AdmissionReview: no request.uid" + expected);
    cases.forEach(
        (body, line) -> {
          AdmissionEndpoint.Answer answer = post(body);
          assertThat(answer.status()).as(body).isEqualTo(400);
          assertThat(answer.contentType()).startsWith("text/plain");
          assertThat(new String(answer.body(), StandardCharsets.UTF_8)).as(body).startsWith(line);
        });
    assertThat(metrics.total("bad_json") + metrics.total("bad_review")).isEqualTo(5);
  }

  @Test
  void aReviewOfAnotherVersionOrKindIsRefusedByUid() {
    String review =
        Reviews.podCreate("u-3", "shop", "{}").replace("admission.k8s.io/v1", "admission.k8s.io/v1beta1");
    JsonNode response = Reviews.response(post(review).body());

    assertThat(response.get("uid").asString()).isEqualTo("u-3");
    assertThat(response.get("allowed").asBoolean()).isFalse();
    assertThat(response.at("/status/message").asString())
        .isEqualTo(
            "jmesh injector: bad_review: apiVersion \"admission.k8s.io/v1beta1\", kind \"AdmissionReview\""
                + " (expected: admission.k8s.io/v1, AdmissionReview; list only v1 in the webhook's"
                + " admissionReviewVersions)");
    assertThat(looked).isEmpty();
  }

  @Test
  void aRequestTheModelCannotReadIsRefusedByUid() {
    String review = Reviews.podCreate("u-4", "shop", "{}").replace("\"operation\":\"CREATE\"", "\"operation\":[1]");
    JsonNode response = Reviews.response(post(review).body());

    assertThat(response.get("uid").asString()).isEqualTo("u-4");
    assertThat(response.get("allowed").asBoolean()).isFalse();
    assertThat(response.at("/status/message").asString()).startsWith("jmesh injector: bad_review: request: ");
  }
}
