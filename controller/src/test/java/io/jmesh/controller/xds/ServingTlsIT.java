package io.jmesh.controller.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmesh.controller.ca.CertificateAuthority;
import io.jmesh.controller.ca.ServingCertificate;
import io.jmesh.runtime.identity.ControllerTls;
import io.jmesh.runtime.time.FakeTicker;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.math.BigInteger;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The xDS port's serving certificate over real TLS handshakes: it carries the names given, chains
 * to the CA's anchors, and is renewed at two thirds of its life without a restart (the clock is
 * moved, nothing sleeps).
 */
class ServingTlsIT {
  @TempDir Path dir;

  @Test
  void theServingCertificateIsRenewedAtTwoThirdsOfItsLifeWithoutARestart() throws Exception {
    FakeTicker ticker = new FakeTicker();
    CertificateAuthority ca =
        CertificateAuthority.loadOrCreate(dir, "cluster.local", new TickerClock(ticker, Instant.now()));
    ServingCertificate serving =
        ca.servingCertificate(List.of("jmesh-controller.default.svc", "localhost", "127.0.0.1"));
    try (XdsServer server =
        XdsServer.start(
            "127.0.0.1",
            0,
            new SimpleMeterRegistry(),
            List.of(),
            ServingTls.of(serving, ca.anchors()))) {
      X509Certificate first = handshake(server.port(), ca.anchors());
      assertThat(first).isEqualTo(serving.certificate());
      assertThat(first.getSubjectAlternativeNames())
          .containsExactly(
              List.of(2, "jmesh-controller.default.svc"),
              List.of(2, "localhost"),
              List.of(7, "127.0.0.1"));
      assertThat(first.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.1"); // serverAuth
      assertThat(Duration.between(first.getNotBefore().toInstant(), first.getNotAfter().toInstant()))
          .isEqualTo(Duration.ofHours(24).plusMinutes(1)); // plus the minute of clock skew

      // Not yet due: the same leaf.
      ticker.advance(Duration.ofHours(15));
      assertThat(serving.renewIfDue()).isFalse();
      // The real clock has not moved: read what is served without checking its validity.
      assertThat(served(server.port()).getSerialNumber()).isEqualTo(first.getSerialNumber());

      // Two thirds in: a new key and leaf, served by the same running server.
      ticker.advance(Duration.ofHours(2));
      assertThat(serving.renewIfDue()).isTrue();
      X509Certificate second = served(server.port());
      second.verify(ca.issuer().getPublicKey());
      BigInteger serial = second.getSerialNumber();
      assertThat(serial).isNotEqualTo(first.getSerialNumber());
      assertThat(second).isEqualTo(serving.certificate());
      assertThat(second.getPublicKey()).isNotEqualTo(first.getPublicKey());
      assertThat(serving.renewAt()).isAfter(Instant.now().plus(Duration.ofHours(30)));
    }
  }

  /** One TLS handshake with the JDK client, verifying with the anchors; the server's leaf. */
  private static X509Certificate handshake(int port, List<X509Certificate> anchors)
      throws Exception {
    return handshake(port, ControllerTls.trustManager(anchors));
  }

  /** The leaf the server presents, unchecked (its validity starts in the fake future). */
  private static X509Certificate served(int port) throws Exception {
    X509Certificate[] seen = new X509Certificate[1];
    TrustManager recording =
        new javax.net.ssl.X509TrustManager() {
          @Override
          public void checkClientTrusted(X509Certificate[] chain, String authType) {
            throw new UnsupportedOperationException("a client trust manager");
          }

          @Override
          public void checkServerTrusted(X509Certificate[] chain, String authType) {
            seen[0] = chain[0];
          }

          @Override
          public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
          }
        };
    handshake(port, recording);
    return seen[0];
  }

  private static X509Certificate handshake(int port, TrustManager trust) throws Exception {
    SSLContext context = SSLContext.getInstance("TLSv1.3");
    context.init(null, new TrustManager[] {trust}, null);
    try (SSLSocket socket =
        (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", port)) {
      SSLParameters params = socket.getSSLParameters();
      params.setApplicationProtocols(new String[] {"h2"});
      params.setEndpointIdentificationAlgorithm("HTTPS");
      params.setServerNames(List.of(new SNIHostName("localhost")));
      socket.setSSLParameters(params);
      socket.setSoTimeout(10_000);
      socket.startHandshake();
      return (X509Certificate) socket.getSession().getPeerCertificates()[0];
    }
  }
}
