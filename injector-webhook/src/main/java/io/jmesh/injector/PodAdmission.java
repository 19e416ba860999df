package io.jmesh.injector;

import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionRequest;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponse;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponseBuilder;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReview;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReviewBuilder;
import io.fabric8.zjsonpatch.DiffFlags;
import io.fabric8.zjsonpatch.JsonDiff;
import java.util.Base64;
import java.util.EnumSet;
import java.util.Map;
import java.util.Objects;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * AdmissionReview v1 in, AdmissionReview v1 out: the {@link PodInjector}'s decision as the API
 * server wants it. An injected pod gets a JSON Patch ({@code patchType: JSONPatch}, base64), the
 * difference between the pod as received and the pod the injector computed; a skipped pod is
 * allowed without a patch; a denied one is refused with the reason. The decision's code is in
 * {@code auditAnnotations} ({@code jmesh-outcome}), so the API server's audit log shows why.
 *
 * <p>Only {@code CREATE} of a core {@code v1} Pod is mutated; anything else is allowed unchanged.
 *
 * <p>Immutable and thread-safe; no I/O.
 */
public final class PodAdmission {
  /** The audit annotation key (the API server prefixes the webhook's name). */
  static final String AUDIT_KEY = "jmesh-outcome";

  private static final JsonMapper JSON = JsonMapper.builder().build();
  // Plain add/remove/replace: what every API server applies, and what a reader can follow.
  private static final EnumSet<DiffFlags> DIFF_FLAGS =
      EnumSet.of(
          DiffFlags.OMIT_MOVE_OPERATION, DiffFlags.OMIT_COPY_OPERATION, DiffFlags.OMIT_VALUE_ON_REMOVE);

  private final PodInjector injector;

  public PodAdmission(PodInjector injector) {
    this.injector = Objects.requireNonNull(injector, "injector");
  }

  /**
   * The response to {@code review}. {@code namespace} is the metadata of the request's namespace
   * (null when unknown).
   *
   * @throws IllegalArgumentException when the review has no request or the request no uid: there
   *     is nothing to answer to (the server answers 400)
   */
  public AdmissionReview review(AdmissionReview review, ObjectMeta namespace) {
    AdmissionRequest request = review == null ? null : review.getRequest();
    if (request == null || request.getUid() == null || request.getUid().isEmpty()) {
      throw new IllegalArgumentException(
          "AdmissionReview: no request.uid (expected: an admission.k8s.io/v1 AdmissionReview"
              + " with request.uid)");
    }
    AdmissionResponseBuilder response =
        new AdmissionResponseBuilder().withUid(request.getUid()).withAllowed(true);
    if (!isPodCreate(request) || request.getObject() == null) {
      return answer(
          response
              .withAuditAnnotations(Map.of(AUDIT_KEY, "not_a_pod_create"))
              .build());
    }
    Pod pod;
    try {
      pod = JSON.convertValue(request.getObject(), Pod.class);
    } catch (JacksonException e) {
      // A pod the model cannot read (a string where a list belongs, ...): refused, not a crash.
      return answer(
          refuse(
              response,
              400,
              "bad_pod",
              "request.object: " + e.getOriginalMessage() + " (expected: a v1 Pod)"));
    }
    if (namespace == null && request.getNamespace() != null) {
      // Unknown labels: only the pod can opt in, and messages still name the namespace.
      namespace = new ObjectMeta();
      namespace.setName(request.getNamespace());
    }
    Outcome outcome;
    try {
      outcome = injector.inject(pod, namespace);
    } catch (IllegalArgumentException e) {
      return answer(refuse(response, 400, "bad_pod", e.getMessage()));
    }
    response.withAuditAnnotations(Map.of(AUDIT_KEY, outcome.code()));
    switch (outcome.kind()) {
      case DENIED:
        return answer(refuse(response, 400, outcome.code(), outcome.message()));
      case SKIPPED:
        return answer(
            response.withStatus(new StatusBuilder().withMessage(outcome.message()).build()).build());
      default:
        JsonNode before = JSON.valueToTree(pod);
        JsonNode after = JSON.valueToTree(outcome.pod());
        JsonNode patch = JsonDiff.asJson(before, after, DIFF_FLAGS);
        if (!outcome.warnings().isEmpty()) {
          response.withWarnings(outcome.warnings());
        }
        if (patch.isEmpty()) {
          return answer(response.build());
        }
        return answer(
            response
                .withPatchType("JSONPatch")
                .withPatch(Base64.getEncoder().encodeToString(JSON.writeValueAsBytes(patch)))
                .build());
    }
  }

  /**
   * A refusal of the request {@code uid} that did not get as far as the injector (a review the
   * server could not use, a namespace it could not read): {@code allowed: false}, the status
   * {@code code} and {@code "jmesh injector: <reason>: <message>"}, and {@code reason} as the
   * audit annotation.
   */
  public static AdmissionReview refused(String uid, int code, String reason, String message) {
    return answer(
        refuse(
            new AdmissionResponseBuilder().withUid(uid),
            code,
            reason,
            message));
  }

  /** The outcome code of an answer made here: its {@code jmesh-outcome} audit annotation. */
  public static String outcomeCode(AdmissionReview answer) {
    AdmissionResponse response = answer.getResponse();
    if (response == null || response.getAuditAnnotations() == null) {
      return "unknown";
    }
    return response.getAuditAnnotations().getOrDefault(AUDIT_KEY, "unknown");
  }

  private static AdmissionResponse refuse(
      AdmissionResponseBuilder response, int code, String reason, String message) {
    return response
        .withAllowed(false)
        .withAuditAnnotations(Map.of(AUDIT_KEY, reason))
        .withStatus(
            new StatusBuilder()
                .withCode(code)
                .withMessage("jmesh injector: " + reason + ": " + message)
                .build())
        .build();
  }

  private static boolean isPodCreate(AdmissionRequest request) {
    return "CREATE".equals(request.getOperation())
        && request.getKind() != null
        && "".equals(Objects.toString(request.getKind().getGroup(), ""))
        && "v1".equals(request.getKind().getVersion())
        && "Pod".equals(request.getKind().getKind())
        && (request.getSubResource() == null || request.getSubResource().isEmpty());
  }

  private static AdmissionReview answer(AdmissionResponse response) {
    return new AdmissionReviewBuilder()
        .withApiVersion("admission.k8s.io/v1")
        .withKind("AdmissionReview")
        .withResponse(response)
        .build();
  }
}
