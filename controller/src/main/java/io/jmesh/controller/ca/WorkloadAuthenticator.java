package io.jmesh.controller.ca;

import io.jmesh.runtime.identity.SpiffeId;

/**
 * Turns the bearer token of a certificate request into the identity it proves. The CA signs a
 * certificate only for that identity. {@link BootstrapTokens} is the file mode's implementation; a
 * Kubernetes one (TokenReview of a projected service-account token) would be another.
 *
 * <p>Thread-safety: implementations are called concurrently from gRPC's threads.
 */
public interface WorkloadAuthenticator {

  /**
   * @param bearerToken the token after {@code Bearer }; never null, possibly empty
   * @return the identity the token proves
   * @throws AuthenticationException saying why the token proves nothing
   */
  SpiffeId authenticate(String bearerToken) throws AuthenticationException;
}
