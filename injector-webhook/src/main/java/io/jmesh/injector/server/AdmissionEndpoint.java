package io.jmesh.injector.server;

import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReview;
import io.jmesh.injector.PodAdmission;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * One POST body in, one answer out: the JSON text of an AdmissionReview v1 from the API server,
 * checked, given its namespace's metadata and passed to {@link PodAdmission}.
 *
 * <ul>
 *   <li>Not JSON, not an object, no {@code request} or no {@code request.uid}: there is no uid to
 *       answer to, so HTTP 400 with one line of text.
 *   <li>A uid, but another {@code apiVersion}/{@code kind}, a request the model cannot read, or a
 *       namespace that cannot be read: an AdmissionReview with {@code allowed: false} naming the
 *       problem (the pod is refused; its ReplicaSet retries), never an admission without the
 *       agent.
 * </ul>
 *
 * <p>Every answer is logged on one line with its outcome code and counted in {@link
 * AdmissionMetrics}. Thread-safe; blocks while the namespace lookup reads the API.
 */
final class AdmissionEndpoint {
  private static final Logger LOG = System.getLogger("io.jmesh.injector.admission");
  private static final JsonMapper JSON = JsonMapper.builder().build();
  static final String API_VERSION = "admission.k8s.io/v1";
  static final String KIND = "AdmissionReview";
  private static final String EXPECTED =
      " (expected: an " + API_VERSION + " " + KIND + " with request.uid)";

  /** An HTTP answer: the status, and a JSON or one-line text body. */
  record Answer(int status, String contentType, byte[] body, String outcome) {
    static Answer text(int status, String outcome, String line) {
      return new Answer(
          status, "text/plain; charset=utf-8", (line + "\n").getBytes(StandardCharsets.UTF_8), outcome);
    }
  }

  private final PodAdmission admission;
  private final NamespaceLookup namespaces;
  private final AdmissionMetrics metrics;

  AdmissionEndpoint(PodAdmission admission, NamespaceLookup namespaces, AdmissionMetrics metrics) {
    this.admission = Objects.requireNonNull(admission, "admission");
    this.namespaces = Objects.requireNonNull(namespaces, "namespaces");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
  }

  Answer handle(byte[] body) {
    Answer answer;
    String subject = "-";
    JsonNode tree;
    try {
      tree = JSON.readTree(body);
    } catch (JacksonException e) {
      answer = Answer.text(400, "bad_json", "request body: not JSON: " + e.getOriginalMessage() + EXPECTED);
      return logged(answer, subject, null);
    }
    JsonNode request = tree == null ? null : tree.get("request");
    JsonNode uidNode = request == null || !request.isObject() ? null : request.get("uid");
    String uid = uidNode == null || !uidNode.isString() ? "" : uidNode.asString();
    if (tree == null || !tree.isObject()) {
      return logged(
          Answer.text(400, "bad_review", "request body: a JSON " + kindOf(tree) + EXPECTED),
          subject,
          null);
    }
    if (request == null || !request.isObject()) {
      return logged(Answer.text(400, "bad_review", "AdmissionReview: no request" + EXPECTED), subject, null);
    }
    if (uid.isEmpty()) {
      return logged(
          Answer.text(400, "bad_review", "AdmissionReview: no request.uid" + EXPECTED), subject, null);
    }
    subject = subject(request);
    String apiVersion = text(tree, "apiVersion");
    String kind = text(tree, "kind");
    if (!API_VERSION.equals(apiVersion) || !KIND.equals(kind)) {
      return logged(
          review(
              PodAdmission.refused(
                  uid,
                  400,
                  "bad_review",
                  "apiVersion \""
                      + apiVersion
                      + "\", kind \""
                      + kind
                      + "\" (expected: "
                      + API_VERSION
                      + ", "
                      + KIND
                      + "; list only v1 in the webhook's admissionReviewVersions)")),
          subject,
          uid);
    }
    AdmissionReview review;
    try {
      review = JSON.treeToValue(tree, AdmissionReview.class);
    } catch (JacksonException e) {
      return logged(
          review(
              PodAdmission.refused(
                  uid, 400, "bad_review", "request: " + e.getOriginalMessage() + EXPECTED)),
          subject,
          uid);
    }
    String namespace = review.getRequest().getNamespace();
    ObjectMeta meta = null;
    if (namespace != null && !namespace.isEmpty()) {
      try {
        meta = namespaces.metadata(namespace);
      } catch (NamespaceLookup.UnavailableException e) {
        // Deciding without the namespace's labels could admit an opted-in pod without the agent.
        return logged(
            review(PodAdmission.refused(uid, 503, "namespace_unavailable", e.getMessage())),
            subject,
            uid);
      }
    }
    try {
      return logged(review(admission.review(review, meta)), subject, uid);
    } catch (RuntimeException e) {
      LOG.log(Level.ERROR, "admission " + uid + " of " + subject + ": unexpected failure", e);
      return logged(
          review(PodAdmission.refused(uid, 500, "internal_error", "unexpected failure: " + e)),
          subject,
          uid);
    }
  }

  private static Answer review(AdmissionReview answer) {
    return new Answer(
        200, "application/json", JSON.writeValueAsBytes(answer), PodAdmission.outcomeCode(answer));
  }

  private Answer logged(Answer answer, String subject, String uid) {
    metrics.count(answer.outcome());
    LOG.log(
        answer.status() == 200 ? Level.INFO : Level.WARNING,
        "admission uid="
            + (uid == null ? "-" : uid)
            + " pod="
            + subject
            + " outcome="
            + answer.outcome()
            + " http="
            + answer.status()
            + (answer.status() == 200 ? "" : ": " + new String(answer.body(), StandardCharsets.UTF_8).strip()));
    return answer;
  }

  /** {@code namespace/name} of the request's object, {@code generateName*} before it has a name. */
  private static String subject(JsonNode request) {
    String ns = text(request, "namespace");
    String name = text(request, "name");
    if (name.isEmpty()) {
      JsonNode meta = request.path("object").path("metadata");
      name = meta.path("name").asString("");
      if (name.isEmpty() && meta.has("generateName")) {
        name = meta.path("generateName").asString("") + "*";
      }
    }
    return (ns.isEmpty() ? "" : ns + "/") + (name.isEmpty() ? "?" : name);
  }

  private static String text(JsonNode node, String field) {
    JsonNode value = node.get(field);
    return value == null || !value.isString() ? "" : value.asString();
  }

  private static String kindOf(JsonNode node) {
    if (node == null || node.isMissingNode()) {
      return "empty body";
    }
    return node.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
  }
}
