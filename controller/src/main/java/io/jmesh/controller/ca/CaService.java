package io.jmesh.controller.ca;

import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.identity.ca.IstioCertificateRequest;
import io.jmesh.runtime.identity.ca.IstioCertificateResponse;
import io.jmesh.runtime.identity.ca.IstioCertificateServiceGrpc;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;

/**
 * The CA's gRPC service, wire-compatible with Istio's {@code IstioCertificateService}: the caller
 * proves who it is with {@code authorization: Bearer <token>}, sends a PEM CSR for that identity,
 * and gets back its leaf, the issuer and the trust anchors.
 *
 * <p>Refusals: no or bad token → {@code UNAUTHENTICATED} (reasons {@code unauthenticated}, {@code
 * wrong_audience}, {@code not_a_service_account}); a token that could not be checked → {@code
 * UNAVAILABLE} ({@code token_review_failed}); a CSR that does not parse, does not
 * verify or asks for names the CA does not issue → {@code INVALID_ARGUMENT}; a CSR for another
 * identity than the token's → {@code PERMISSION_DENIED}. Each status carries the reason, each
 * refusal is logged on one line and counted by reason ({@code
 * jmesh_ca_requests_refused_total{reason}}); each certificate issued is counted ({@code
 * jmesh_ca_certificates_issued_total}).
 *
 * <p>Thread-safety: calls are served concurrently on gRPC's threads. Bind {@link #definition()},
 * not this object: the token reaches the service through its interceptor.
 */
public final class CaService extends IstioCertificateServiceGrpc.IstioCertificateServiceImplBase {
  private static final Logger LOG = System.getLogger("io.jmesh.controller.ca");
  static final String ISSUED = "jmesh.ca.certificates.issued";
  static final String REFUSED = "jmesh.ca.requests.refused";
  private static final String BEARER = "bearer ";

  /** Why a request was refused: the {@code reason} tag of the refusal counter. */
  enum Refusal {
    /** No token, or one that proves nothing. */
    UNAUTHENTICATED,
    /** A valid token for another audience (TokenReview). */
    WRONG_AUDIENCE,
    /** A valid token of a user that is no service account (TokenReview). */
    NOT_A_SERVICE_ACCOUNT,
    /** The token could not be checked: the TokenReview failed. */
    TOKEN_REVIEW_FAILED,
    /** A CSR that does not parse or verify, or asks for names the CA does not issue. */
    INVALID_CSR,
    /** A CSR for another identity than the token's. */
    WRONG_IDENTITY,
    /** A fault of the CA (a bug, the issuer past its end). */
    INTERNAL;

    String tag() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  private final CertificateAuthority ca;
  private final WorkloadAuthenticator authenticator;
  private final Counter issued;
  private final Map<Refusal, Counter> refused = new EnumMap<>(Refusal.class);

  public CaService(
      CertificateAuthority ca, WorkloadAuthenticator authenticator, MeterRegistry registry) {
    this.ca = Objects.requireNonNull(ca, "ca");
    this.authenticator = Objects.requireNonNull(authenticator, "authenticator");
    Objects.requireNonNull(registry, "registry");
    this.issued =
        Counter.builder(ISSUED)
            .description("Leaf certificates signed by the controller's CA")
            .register(registry);
    // Every reason from the start, at 0: a rate over a series that appears with its first event
    // misses that event.
    for (Refusal reason : Refusal.values()) {
      refused.put(
          reason,
          Counter.builder(REFUSED)
              .description("Certificate requests the CA refused, by reason")
              .tag("reason", reason.tag())
              .register(registry));
    }
  }

  /** This service behind the interceptor that hands it the bearer token: what to bind. */
  public ServerServiceDefinition definition() {
    return ServerInterceptors.intercept(this, new BearerTokenInterceptor());
  }

  @Override
  public void createCertificate(
      IstioCertificateRequest request, StreamObserver<IstioCertificateResponse> response) {
    SpiffeId caller = null;
    try {
      caller = authenticator.authenticate(bearerToken());
      PKCS10CertificationRequest csr = CertificateAuthority.parseCsr(request.getCsr());
      List<String> chain =
          ca.sign(csr, caller, Duration.ofSeconds(Math.max(0, request.getValidityDuration())));
      issued.increment();
      LOG.log(
          Level.INFO,
          "issued a certificate to "
              + caller
              + " ("
              + BearerTokenInterceptor.REMOTE_ADDRESS.get()
              + ")");
      response.onNext(IstioCertificateResponse.newBuilder().addAllCertChain(chain).build());
      response.onCompleted();
    } catch (AuthenticationException e) {
      switch (e.reason()) {
        case WRONG_AUDIENCE ->
            refuse(response, Refusal.WRONG_AUDIENCE, Status.UNAUTHENTICATED, null, e.getMessage());
        case NOT_A_SERVICE_ACCOUNT ->
            refuse(
                response,
                Refusal.NOT_A_SERVICE_ACCOUNT,
                Status.UNAUTHENTICATED,
                null,
                e.getMessage());
        // Not the caller's fault: UNAVAILABLE, which the agent retries with backoff.
        case REVIEW_FAILED ->
            refuse(response, Refusal.TOKEN_REVIEW_FAILED, Status.UNAVAILABLE, null, e.getMessage());
        default ->
            refuse(response, Refusal.UNAUTHENTICATED, Status.UNAUTHENTICATED, null, e.getMessage());
      }
    } catch (CertificateRequestException e) {
      if (e.kind() == CertificateRequestException.Kind.FORBIDDEN) {
        refuse(response, Refusal.WRONG_IDENTITY, Status.PERMISSION_DENIED, caller, e.getMessage());
      } else {
        refuse(response, Refusal.INVALID_CSR, Status.INVALID_ARGUMENT, caller, e.getMessage());
      }
    } catch (RuntimeException e) {
      LOG.log(Level.ERROR, "certificate request from " + caller + " failed", e);
      refuse(response, Refusal.INTERNAL, Status.INTERNAL, caller, "the CA failed: " + e);
    }
  }

  /** The token of the current call, after {@code Bearer }. */
  private static String bearerToken() throws AuthenticationException {
    String header = BearerTokenInterceptor.AUTHORIZATION_HEADER.get();
    if (header == null) {
      throw new AuthenticationException(
          "no authorization header (expected: authorization: Bearer <token>)");
    }
    // The scheme is case-insensitive (RFC 9110); what follows is the token, verbatim.
    if (header.length() < BEARER.length()
        || !header.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
      throw new AuthenticationException(
          "authorization header: not a bearer token (expected: Bearer <token>)");
    }
    return header.substring(BEARER.length()).trim();
  }

  private void refuse(
      StreamObserver<IstioCertificateResponse> response,
      Refusal reason,
      Status status,
      SpiffeId caller,
      String message) {
    refused.get(reason).increment();
    LOG.log(
        Level.WARNING,
        "refused a certificate to "
            + (caller == null ? "an unauthenticated caller" : caller.toString())
            + " ("
            + BearerTokenInterceptor.REMOTE_ADDRESS.get()
            + "): "
            + status.getCode()
            + ": "
            + message);
    response.onError(status.withDescription(message).asRuntimeException());
  }
}
