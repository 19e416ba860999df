package io.jmesh.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ControllerOptionsTest {
  private final Controller.Options defaults = Controller.Options.defaults(Path.of("mesh.yaml"));

  @Test
  void defaultsAreTheDocumentedOnes() {
    assertThat(defaults)
        .isEqualTo(
            new Controller.Options(
                Path.of("mesh.yaml"), "127.0.0.1", 18000, "127.0.0.1", 18001, "default",
                "cluster.local", 500, null, null, "cluster.local", Duration.ofHours(24),
                Controller.Tls.DEFAULT));
    assertThat(defaults.withXdsAddress("0.0.0.0", 0).xdsPort()).isZero();
    assertThat(defaults.withAdminAddress("::1", 9).adminHost()).isEqualTo("::1");
    assertThat(defaults.withNamespace("prod").namespace()).isEqualTo("prod");
    assertThat(defaults.withClusterDomain("example.org").clusterDomain()).isEqualTo("example.org");
    assertThat(defaults.withPollMillis(50).pollMillis()).isEqualTo(50);
    assertThat(defaults.withOverrides(Path.of("o.json")).overrides()).isEqualTo(Path.of("o.json"));
    assertThat(defaults.withCaDir(Path.of("ca")).caDir()).isEqualTo(Path.of("ca"));
    assertThat(defaults.withTrustDomain("example.org").trustDomain()).isEqualTo("example.org");
    assertThat(defaults.withMaxLeafLifetime(Duration.ofHours(1)).maxLeafLifetime())
        .isEqualTo(Duration.ofHours(1));
    assertThat(defaults.tls().insecurePlaintext()).isFalse();
    assertThat(defaults.withInsecurePlaintext(true).tls().insecurePlaintext()).isTrue();
  }

  @Test
  void theServingCertificateNamesTheServiceLocalhostTheBindHostAndTheExtraNames() {
    assertThat(defaults.servingNames())
        .containsExactly("jmesh-controller.default.svc", "localhost", "127.0.0.1");
    assertThat(
            defaults
                .withNamespace("mesh")
                .withXdsAddress("0.0.0.0", 18000)
                .withTlsSans(java.util.List.of("10.0.0.7", "cp.example.org", "localhost"))
                .servingNames())
        .containsExactly("jmesh-controller.mesh.svc", "localhost", "10.0.0.7", "cp.example.org");
    assertThat(defaults.withTlsServiceName("jmesh.infra.svc").servingNames().get(0))
        .isEqualTo("jmesh.infra.svc");
    assertThatThrownBy(() -> defaults.withTlsSans(java.util.List.of("a b")))
        .hasMessage("tls san: \"a b\" (expected: a DNS name or an IP address)");
  }

  @Test
  void invalidValuesAreNamed() {
    assertThatThrownBy(() -> defaults.withXdsAddress("h", 65536))
        .hasMessage("xdsPort: 65536 (expected: 0..65535)");
    assertThatThrownBy(() -> defaults.withAdminAddress("h", -1))
        .hasMessage("adminPort: -1 (expected: 0..65535)");
    assertThatThrownBy(() -> defaults.withPollMillis(0))
        .hasMessage("pollMillis: 0 (expected: > 0)");
    assertThatThrownBy(() -> defaults.withNamespace(""))
        .hasMessage("namespace: \"\" (expected: a DNS label)");
    assertThatThrownBy(() -> defaults.withClusterDomain(""))
        .hasMessage("clusterDomain: \"\" (expected: a domain such as cluster.local)");
    assertThatThrownBy(() -> defaults.withTrustDomain("Example.org"))
        .hasMessageStartingWith("trustDomain: trust domain: \"Example.org\" (expected: ");
    assertThatThrownBy(() -> defaults.withMaxLeafLifetime(Duration.ofMillis(500)))
        .hasMessage("maxLeafLifetime: PT0.5S (expected: at least 1 second)");
  }
}
