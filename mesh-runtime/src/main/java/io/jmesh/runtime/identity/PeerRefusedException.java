package io.jmesh.runtime.identity;

import java.security.cert.CertificateException;

/** A peer certificate refused by the mesh, with the reason it is counted under. */
public final class PeerRefusedException extends CertificateException {
  private static final long serialVersionUID = 1L;
  private final TlsRefusals.Reason reason;

  PeerRefusedException(TlsRefusals.Reason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = reason;
  }

  public TlsRefusals.Reason reason() {
    return reason;
  }
}
