package io.jmesh.controller.ca;

import java.util.Objects;

/**
 * A certificate authority made outside the controller (for example from a Kubernetes Secret),
 * handed to it to serve: the CA, how it authenticates callers, and where agents find its trust
 * anchors (for log lines).
 *
 * @param ca signs the leaves and the controller's serving certificate
 * @param authenticator turns a request's bearer token into the identity to sign
 * @param anchorsPublishedAt where the trust anchors are published ({@code configmap ns/name})
 */
public record ServedCa(
    CertificateAuthority ca, WorkloadAuthenticator authenticator, String anchorsPublishedAt) {
  public ServedCa {
    Objects.requireNonNull(ca, "ca");
    Objects.requireNonNull(authenticator, "authenticator");
    Objects.requireNonNull(anchorsPublishedAt, "anchorsPublishedAt");
  }
}
