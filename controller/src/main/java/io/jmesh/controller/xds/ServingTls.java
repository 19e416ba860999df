package io.jmesh.controller.xds;

import io.grpc.netty.GrpcSslContexts;
import io.jmesh.controller.ca.ServingCertificate;
import io.jmesh.runtime.identity.ControllerTls;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.SSLException;

/**
 * TLS of the controller's gRPC port: the server presents the {@link ServingCertificate} in force
 * at each handshake, and asks the client for a certificate without requiring one (an agent before
 * its first certificate has none: it proves itself to the CA with its bootstrap token). A client
 * certificate that is presented must chain (PKIX) to one of {@code clientAnchors}, the CA's trust
 * anchors, or the handshake fails; {@link PeerIdentityInterceptor} then reads the stream's SPIFFE
 * identity from it.
 *
 * <p>Immutable; the SSL context is built once and shared by every connection.
 */
public final class ServingTls {
  private final ServingCertificate certificate;
  private final SslContext sslContext;

  private ServingTls(ServingCertificate certificate, SslContext sslContext) {
    this.certificate = certificate;
    this.sslContext = sslContext;
  }

  /**
   * @param clientAnchors the anchors a client certificate must chain to (the CA's)
   * @throws IOException if the JDK cannot build the context
   */
  public static ServingTls of(ServingCertificate certificate, List<X509Certificate> clientAnchors)
      throws IOException {
    Objects.requireNonNull(certificate, "certificate");
    if (clientAnchors.isEmpty()) {
      throw new IllegalArgumentException("clientAnchors: [] (expected: the CA's trust anchors)");
    }
    try {
      SslContext context =
          GrpcSslContexts.configure(
                  SslContextBuilder.forServer(certificate.keyManager()), SslProvider.JDK)
              .trustManager(ControllerTls.trustManager(clientAnchors))
              .clientAuth(ClientAuth.OPTIONAL)
              .build();
      return new ServingTls(certificate, context);
    } catch (SSLException | GeneralSecurityException e) {
      throw new IOException("TLS of the xDS port: cannot build the server context: " + e, e);
    }
  }

  /** The serving certificate presented. */
  public ServingCertificate certificate() {
    return certificate;
  }

  SslContext sslContext() {
    return sslContext;
  }
}
