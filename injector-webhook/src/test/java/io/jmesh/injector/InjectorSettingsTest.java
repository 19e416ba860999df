package io.jmesh.injector;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.ContainerBuilder;
import org.junit.jupiter.api.Test;

class InjectorSettingsTest {

  @Test
  void badSettingsAreRefusedNamingTheValue() {
    InjectorSettings d = Fixtures.SETTINGS;
    assertThatThrownBy(() -> new InjectorSettings(d.version(), d.agentImage(), "jmesh-agent.jar",
            d.agentSource(), d.controller(), d.trustDomain(), 3600, d.trustAnchorsConfigMap(), 65532))
        .hasMessage("agentJarInImage: \"jmesh-agent.jar\" (expected: an absolute path in a folder, ending in .jar, for example /jmesh/jmesh-agent.jar)");
    assertThatThrownBy(() -> new InjectorSettings(d.version(), d.agentImage(), d.agentJarInImage(),
            d.agentSource(), d.controller(), d.trustDomain(), 300, d.trustAnchorsConfigMap(), 65532))
        .hasMessage("tokenExpirationSeconds: 300 (expected: 600..86400)");
    assertThatThrownBy(() -> new InjectorSettings(d.version(), d.agentImage(), d.agentJarInImage(),
            d.agentSource(), d.controller(), d.trustDomain(), 3600, d.trustAnchorsConfigMap(), 0))
        .hasMessage("initRunAsUser: 0 (expected: > 0, a non-root UID)");
    assertThatThrownBy(() -> InjectorSettings.defaults("1", "img", " "))
        .hasMessage("controller: \" \" (expected: a non-empty value)");
  }

  @Test
  void theJarsFolderIsTheImageVolumesSubPath() {
    assertThat(Fixtures.SETTINGS.agentJarName()).isEqualTo("jmesh-agent.jar");
    assertThat(Fixtures.SETTINGS.agentFolderInImage()).isEqualTo("jmesh");
  }

  @Test
  void proxiesAreKnownByNameOrImageWhateverTheRegistryTagOrDigest() {
    assertThat(proxy("sidecar", "localhost:5000/envoy:1.30")).isTrue();
    assertThat(proxy("sidecar", "envoyproxy/envoy-distroless@sha256:0123abcd")).isTrue();
    assertThat(proxy("sidecar", "gcr.io/istio-release/istio/proxyv2:1.24.0")).isTrue();
    assertThat(proxy("sidecar", "cr.l5d.io/linkerd/proxy:stable-2.14.10")).isTrue();
    assertThat(proxy("istio-proxy", "anything:1")).isTrue();
    // Names that merely contain a proxy's name are applications.
    assertThat(proxy("app", "registry.example/shop/envoy-config-loader:1")).isFalse();
    assertThat(proxy("app", "localhost:5000/myenvoy:1")).isFalse();
    assertThat(ContainerChoice.repository("localhost:5000/shop/hello")).isEqualTo("localhost:5000/shop/hello");
  }

  private static boolean proxy(String name, String image) {
    return ContainerChoice.isKnownProxy(new ContainerBuilder().withName(name).withImage(image).build());
  }
}
