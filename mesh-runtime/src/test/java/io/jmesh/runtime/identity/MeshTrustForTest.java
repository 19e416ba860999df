package io.jmesh.runtime.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmesh.runtime.MeshRuntime;
import io.jmesh.runtime.config.MeshConfigParser;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.X509ExtendedTrustManager;
import org.junit.jupiter.api.Test;

/**
 * The key and trust managers that clients configured without an SSLContext (gRPC's
 * TlsChannelCredentials) get: the trust manager follows the destination's identities in the
 * config in force and ignores host names.
 */
class MeshTrustForTest {
  private static final SpiffeId CLIENT = SpiffeId.of("cluster.local", "default", "client");
  private static final SpiffeId SERVER = SpiffeId.of("cluster.local", "default", "secure");
  private static final SpiffeId OTHER = SpiffeId.of("cluster.local", "default", "someone-else");

  private static String yaml(SpiffeId secureIdentity) {
    return String.join(
        "\n",
        "services:",
        "  - name: secure",
        "    ports: [8080]",
        "    identities: [\"" + secureIdentity + "\"]",
        "    endpoints: [{address: 127.0.0.6, port: 15006}]",
        "  - name: plain",
        "    ports: [8080]",
        "    endpoints: [{address: 127.0.0.2, port: 8080}]",
        "");
  }

  @Test
  void checksTheServerAgainstTheDestinationsIdentitiesInForce() throws Exception {
    TestIdentities mesh = TestIdentities.mesh("trust-for");
    TlsRefusals refusals = new TlsRefusals();
    X509Certificate[] server = mesh.tls(SERVER, new TlsRefusals()).identity().current().chain();
    try (MeshRuntime runtime =
        MeshRuntime.builder()
            .identity(mesh.tls(CLIENT, refusals))
            .snapshot(MeshConfigParser.parse("t.yaml", yaml(SERVER), "default"))
            .build()) {
      assertThat(runtime.requiresMeshTls("secure", 8080)).isTrue();
      assertThat(runtime.requiresMeshTls("plain", 8080)).isFalse();
      assertThat(runtime.meshTrustFor("plain", 8080)).as("a plaintext destination").isNull();
      assertThat(runtime.meshTrustFor("nowhere", 8080)).as("no mesh destination").isNull();
      assertThat(runtime.meshTls().keyManager()).isNotNull();

      X509ExtendedTrustManager trust = runtime.meshTrustFor("secure", 8080);
      trust.checkServerTrusted(server, "ECDHE_ECDSA"); // SERVER is the destination's identity

      // The control plane now names someone else: the same server is refused.
      runtime.update(MeshConfigParser.parse("t.yaml", yaml(OTHER), "default"));
      X509ExtendedTrustManager changed = runtime.meshTrustFor("secure", 8080);
      assertThatThrownBy(() -> changed.checkServerTrusted(server, "ECDHE_ECDSA"))
          .isInstanceOf(CertificateException.class)
          .hasMessageContaining("is not one of [" + OTHER + "]");
      assertThat(refusals.count(TlsRefusals.Reason.WRONG_IDENTITY)).isEqualTo(1);
    }
  }
}
