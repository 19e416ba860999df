package io.jmesh.controller.ca;

import java.util.Objects;

/**
 * A bearer token did not prove an identity. The message says why ("token expired at ...", "bad
 * signature", the audiences expected and found) and never repeats the token; the {@link Reason}
 * says which refusal counter it adds to.
 */
public final class AuthenticationException extends Exception {
  private static final long serialVersionUID = 1L;

  /** Why the token proved nothing: the refusal's {@code reason} tag in the CA's metrics. */
  public enum Reason {
    /** No token, a malformed one, or one the issuer does not vouch for (bad, expired). */
    UNAUTHENTICATED,
    /** A valid token for another audience than the CA's ({@code jmesh-ca}). */
    WRONG_AUDIENCE,
    /** A valid token of a user that is not a service account. */
    NOT_A_SERVICE_ACCOUNT,
    /** The token could not be checked (the API server did not answer): try again later. */
    REVIEW_FAILED
  }

  private final Reason reason;

  public AuthenticationException(String message) {
    this(Reason.UNAUTHENTICATED, message);
  }

  public AuthenticationException(Reason reason, String message) {
    super(message);
    this.reason = Objects.requireNonNull(reason, "reason");
  }

  public Reason reason() {
    return reason;
  }
}
