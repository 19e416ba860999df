package io.jmesh.controller;

import static io.jmesh.controller.JsonPath.at;
import static io.jmesh.controller.JsonPath.parse;
import static io.jmesh.controller.JsonPath.string;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Value;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.jmesh.controller.ca.BootstrapTokens;
import io.jmesh.controller.ca.Csrs;
import io.jmesh.runtime.identity.ControllerTls;
import io.jmesh.runtime.identity.ca.IstioCertificateRequest;
import io.jmesh.runtime.identity.ca.IstioCertificateResponse;
import io.jmesh.runtime.identity.ca.IstioCertificateServiceGrpc;
import io.jmesh.runtime.identity.ca.IstioCertificateServiceGrpc.IstioCertificateServiceBlockingStub;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The certificate authority as an agent meets it: a controller started with a CA directory, and a
 * plain gRPC client on the xDS port sending a CSR and a bootstrap token.
 */
class CaServiceIT {
  private static final String HELLO = "spiffe://cluster.local/ns/default/sa/hello";

  @TempDir Path dir;
  private Controller controller;
  private ManagedChannel channel;

  @AfterEach
  void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (controller != null) {
      controller.close();
    }
  }

  private void start(Path caDir) throws Exception {
    Controller.Options options =
        Controller.Options.defaults(dir.resolve("mesh.yaml")) // absent: no xDS needed here
            .withXdsAddress("127.0.0.1", 0)
            .withAdminAddress("127.0.0.1", 0)
            .withCaDir(caDir)
            // Without a CA there is no serving certificate either.
            .withInsecurePlaintext(caDir == null);
    controller = Controller.start(options);
    // TLS verified with the anchors the controller wrote for operators to hand out.
    ControllerTls tls =
        caDir == null
            ? ControllerTls.insecurePlaintext()
            : ControllerTls.fromAnchorsFile(caDir.resolve("trust-anchors.pem"), null, null);
    channel = tls.channel("127.0.0.1", controller.xdsPort()).build();
  }

  private IstioCertificateServiceBlockingStub stub(String token) {
    IstioCertificateServiceBlockingStub stub =
        IstioCertificateServiceGrpc.newBlockingStub(channel)
            .withDeadlineAfter(10, TimeUnit.SECONDS);
    if (token == null) {
      return stub;
    }
    Metadata headers = new Metadata();
    headers.put(
        Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
    return stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
  }

  private static IstioCertificateRequest request(PKCS10CertificationRequest csr) throws Exception {
    StringWriter pem = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(pem)) {
      writer.writeObject(csr);
    }
    return IstioCertificateRequest.newBuilder()
        .setCsr(pem.toString())
        .setValidityDuration(Duration.ofHours(1).toSeconds())
        .build();
  }

  @Test
  void aWorkloadWithABootstrapTokenGetsItsCertificateAndNobodyElseDoes() throws Exception {
    Path caDir = dir.resolve("ca");
    start(caDir);
    String token =
        BootstrapTokens.load(caDir, "cluster.local", Clock.systemUTC())
            .issue("default", "hello", Duration.ofHours(1));

    // The identity the token proves: leaf, issuer, anchor.
    IstioCertificateResponse response = stub(token).createCertificate(request(Csrs.forUris(HELLO)));
    List<String> chain = response.getCertChainList();
    assertThat(chain).hasSize(3);
    X509Certificate leaf = Csrs.certificate(chain.get(0));
    assertThat(leaf.getSubjectAlternativeNames()).containsExactly(List.of(6, HELLO));
    assertThat(Duration.between(leaf.getNotBefore().toInstant(), leaf.getNotAfter().toInstant()))
        .isEqualTo(Duration.ofMinutes(61)); // the hour asked, plus a minute of clock skew
    assertThat(Csrs.certificate(chain.get(1)))
        .isEqualTo(Csrs.certificate(Files.readString(caDir.resolve("issuer.pem"))));
    assertThat(Csrs.certificate(chain.get(2)))
        .isEqualTo(Csrs.certificate(Files.readString(caDir.resolve("anchor.pem"))));

    // No token.
    assertThatThrownBy(() -> stub(null).createCertificate(request(Csrs.forUris(HELLO))))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
              assertThat(e.getStatus().getDescription())
                  .isEqualTo("no authorization header (expected: authorization: Bearer <token>)");
            });

    // Another scheme, and a token of another controller's key: each refused with its reason.
    Metadata basic = new Metadata();
    basic.put(
        Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Basic aGVsbG8=");
    assertThatThrownBy(
            () ->
                IstioCertificateServiceGrpc.newBlockingStub(channel)
                    .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(basic))
                    .createCertificate(request(Csrs.forUris(HELLO))))
        .hasMessage(
            "UNAUTHENTICATED: authorization header: not a bearer token (expected: Bearer <token>)");
    String foreign =
        BootstrapTokens.loadOrCreate(dir.resolve("other"), "cluster.local", Clock.systemUTC())
            .issue("default", "hello", Duration.ofHours(1));
    assertThatThrownBy(() -> stub(foreign).createCertificate(request(Csrs.forUris(HELLO))))
        .hasMessage(
            "UNAUTHENTICATED: bad signature (expected: a token issued with this controller's"
                + " bootstrap.key)");

    // A token for hello, a CSR for admin.
    assertThatThrownBy(
            () ->
                stub(token)
                    .createCertificate(
                        request(Csrs.forUris("spiffe://cluster.local/ns/default/sa/admin"))))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
              assertThat(e.getStatus().getDescription())
                  .isEqualTo(
                      "CSR asks for spiffe://cluster.local/ns/default/sa/admin but the caller is "
                          + HELLO);
            });

    // Not a CSR.
    assertThatThrownBy(
            () ->
                stub(token)
                    .createCertificate(
                        IstioCertificateRequest.newBuilder().setCsr("hello").build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
              assertThat(e.getStatus().getDescription())
                  .isEqualTo("csr: holds no PEM block (expected: one CERTIFICATE REQUEST)");
            });

    // Counted by reason, and the admin API shows what is served.
    AdminClient admin = new AdminClient(controller.adminPort());
    String metrics = admin.body("/metrics");
    assertThat(metrics)
        .contains("jmesh_ca_certificates_issued_total 1.0")
        .contains("jmesh_ca_requests_refused_total{reason=\"unauthenticated\"} 3.0")
        .contains("jmesh_ca_requests_refused_total{reason=\"wrong_identity\"} 1.0")
        .contains("jmesh_ca_requests_refused_total{reason=\"invalid_csr\"} 1.0")
        .contains("jmesh_ca_requests_refused_total{reason=\"internal\"} 0.0");
    Value ca = parse(admin.body("/ca"));
    assertThat(at(ca, "enabled").getBoolValue()).isTrue();
    assertThat(string(ca, "trustDomain")).isEqualTo("cluster.local");
    assertThat(at(ca, "maxLeafLifetimeSeconds").getNumberValue()).isEqualTo(86400);
    X509Certificate anchor = Csrs.certificate(chain.get(2));
    assertThat(string(ca, "anchors", "0", "serial"))
        .isEqualTo(anchor.getSerialNumber().toString(16));
    assertThat(string(ca, "anchors", "0", "notAfter"))
        .isEqualTo(anchor.getNotAfter().toInstant().toString());
    assertThat(string(ca, "issuer", "subject")).startsWith("CN=jmesh issuer cluster.local ");
    assertThat(admin.body("/ca")).doesNotContain("PRIVATE").doesNotContain("BEGIN");
  }

  @Test
  void withoutACaDirectoryThereIsNoCertificateService() throws Exception {
    start(null);

    assertThatThrownBy(() -> stub("x").createCertificate(request(Csrs.forUris(HELLO))))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNIMPLEMENTED));
    Value ca = parse(new AdminClient(controller.adminPort()).body("/ca"));
    assertThat(at(ca, "enabled").getBoolValue()).isFalse();
    assertThat(at(ca, "anchors").getListValue().getValuesCount()).isZero();
  }
}
