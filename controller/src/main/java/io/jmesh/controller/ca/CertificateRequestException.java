package io.jmesh.controller.ca;

/**
 * Why {@link CertificateAuthority#sign} refused a certificate request. The message is for the
 * caller: it names what was asked and what was expected, and never holds a secret.
 */
public final class CertificateRequestException extends Exception {
  private static final long serialVersionUID = 1L;

  /** What kind of refusal; the gRPC status follows from it. */
  public enum Kind {
    /** The request itself is wrong: unparseable, bad signature, a SAN the CA does not issue. */
    INVALID,
    /** The request is well formed but asks for an identity the caller does not have. */
    FORBIDDEN
  }

  private final Kind kind;

  CertificateRequestException(Kind kind, String message) {
    super(message);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
