package io.jmesh.controller.kubernetes;

import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.jmesh.controller.ca.AuthenticationException;
import io.jmesh.controller.ca.AuthenticationException.Reason;
import io.jmesh.controller.ca.WorkloadAuthenticator;
import io.jmesh.runtime.identity.SpiffeId;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Authenticates a certificate request by its projected service-account token: a TokenReview with
 * {@code audiences: [jmesh-ca]} asks the API server whether the token is good for the CA. The
 * caller is the service account the answer names, {@code system:serviceaccount:<ns>:<sa>}, and
 * the CA signs {@code spiffe://<trust domain>/ns/<ns>/sa/<sa>}.
 *
 * <p>It requires, as Kubernetes asks of an audience-aware client, that the answer be {@code
 * authenticated}, name a service-account user, and list {@code jmesh-ca} in {@code
 * status.audiences}. A token for another audience is refused as {@link Reason#WRONG_AUDIENCE},
 * naming the expected audience and the token's own {@code aud} (read from the token without trust,
 * for the message only: the error Istio users meet most is a token projected for the wrong
 * audience). A review that fails (API server unreachable, 403) is {@link Reason#REVIEW_FAILED}.
 * Messages never repeat the token.
 *
 * <p>Thread-safety: stateless apart from the client; called concurrently from gRPC's threads, each
 * call one blocking TokenReview (no cache).
 */
public final class TokenReviewAuthenticator implements WorkloadAuthenticator {
  /** The audience a workload's projected token must carry for the CA. */
  public static final String AUDIENCE = "jmesh-ca";

  private static final String SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:";

  private final KubernetesClient client;
  private final String trustDomain;

  public TokenReviewAuthenticator(KubernetesClient client, String trustDomain) {
    this.client = Objects.requireNonNull(client, "client");
    this.trustDomain = Objects.requireNonNull(trustDomain, "trustDomain");
    SpiffeId.of(trustDomain, "ns", "sa");
  }

  @Override
  public SpiffeId authenticate(String bearerToken) throws AuthenticationException {
    if (bearerToken.isEmpty()) {
      throw new AuthenticationException(
          "empty bearer token (expected: a projected service-account token with audience "
              + AUDIENCE
              + ")");
    }
    TokenReview review =
        new TokenReviewBuilder()
            .withNewSpec()
            .withToken(bearerToken)
            .withAudiences(AUDIENCE)
            .endSpec()
            .build();
    TokenReview answer;
    try {
      answer = client.authentication().v1().tokenReviews().create(review);
    } catch (KubernetesClientException e) {
      throw new AuthenticationException(
          Reason.REVIEW_FAILED,
          "TokenReview failed: " + e.getCode() + " " + e.getMessage() + " (the token is unchecked)");
    }
    TokenReviewStatus status = answer == null ? null : answer.getStatus();
    if (status == null) {
      throw new AuthenticationException(
          Reason.REVIEW_FAILED, "TokenReview answered without a status (the token is unchecked)");
    }
    List<String> tokenAudiences = tokenAudiences(bearerToken);
    if (!Boolean.TRUE.equals(status.getAuthenticated())) {
      String error = status.getError() == null ? "no error given" : status.getError();
      if (tokenAudiences != null && !tokenAudiences.contains(AUDIENCE)) {
        throw new AuthenticationException(
            Reason.WRONG_AUDIENCE,
            "token audiences "
                + tokenAudiences
                + " (expected: "
                + AUDIENCE
                + "; project the service-account token with audience: "
                + AUDIENCE
                + "); the API server says: "
                + error);
      }
      throw new AuthenticationException(
          "token not authenticated by the API server: "
              + error
              + " (expected: a valid projected service-account token with audience "
              + AUDIENCE
              + ")");
    }
    String user = status.getUser() == null ? null : status.getUser().getUsername();
    List<String> answered = status.getAudiences() == null ? List.of() : status.getAudiences();
    if (!answered.contains(AUDIENCE)) {
      throw new AuthenticationException(
          Reason.WRONG_AUDIENCE,
          "token of "
              + user
              + " is valid for audiences "
              + (tokenAudiences != null ? tokenAudiences : answered)
              + ", the TokenReview answered audiences "
              + answered
              + " (expected: "
              + AUDIENCE
              + "; project the service-account token with audience: "
              + AUDIENCE
              + ")");
    }
    return serviceAccountIdentity(user);
  }

  private SpiffeId serviceAccountIdentity(String user) throws AuthenticationException {
    String[] parts =
        user != null && user.startsWith(SERVICE_ACCOUNT_PREFIX)
            ? user.substring(SERVICE_ACCOUNT_PREFIX.length()).split(":", -1)
            : null;
    if (parts == null || parts.length != 2 || parts[0].isEmpty() || parts[1].isEmpty()) {
      throw new AuthenticationException(
          Reason.NOT_A_SERVICE_ACCOUNT,
          "token of user "
              + user
              + " (expected: a service account, system:serviceaccount:<namespace>:<name>)");
    }
    try {
      return SpiffeId.of(trustDomain, parts[0], parts[1]);
    } catch (IllegalArgumentException e) {
      throw new AuthenticationException(
          Reason.NOT_A_SERVICE_ACCOUNT, "token of user " + user + ": " + e.getMessage());
    }
  }

  /**
   * The {@code aud} claim of a JWT, read without checking the signature: for error messages only.
   * Null when the token is no JWT or has no such claim.
   */
  private List<String> tokenAudiences(String token) {
    String[] parts = token.split("\\.", -1);
    if (parts.length != 3) {
      return null;
    }
    try {
      String json = new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8);
      Map<?, ?> claims = client.getKubernetesSerialization().unmarshal(json, Map.class);
      Object aud = claims.get("aud");
      if (aud instanceof String) {
        return List.of((String) aud);
      }
      if (aud instanceof List<?> list) {
        return list.stream().map(String::valueOf).toList();
      }
      return null;
    } catch (RuntimeException e) {
      return null;
    }
  }
}
