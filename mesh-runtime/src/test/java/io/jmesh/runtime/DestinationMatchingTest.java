package io.jmesh.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.config.Service;
import io.jmesh.runtime.config.ServiceEndpoint;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class DestinationMatchingTest {
  private static final MeshSnapshot SNAPSHOT =
      new MeshSnapshot(
          "test",
          List.of(
              new Service("hello", "default", List.of(8080, 8443),
                  List.of(ServiceEndpoint.of("10.0.0.1", 18080)), List.of()),
              new Service("billing", "prod", List.of(80),
                  List.of(ServiceEndpoint.of("10.0.1.1", 18080)), List.of())));

  private final MeshRuntime runtime = MeshRuntime.of(SNAPSHOT, MeshRuntime.Options.defaults());

  @ParameterizedTest
  @ValueSource(strings = {
      "hello",
      "hello.default",
      "hello.default.svc",
      "hello.default.svc.cluster.local",
      "HELLO.Default.SVC.cluster.LOCAL",
      "hello.default.svc.cluster.local.",
      "hello."
  })
  void everyNameFormMatches(String host) {
    assertThat(runtime.isMeshDestination(host, 8080)).isTrue();
    assertThat(runtime.isMeshDestination(host, 8443)).isTrue();
    OutboundCall call = runtime.route(Requests.get(host, 8080, "/"));
    assertThat(call).isNotNull();
    assertThat(call.destination()).isEqualTo("hello.default");
    assertThat(call.routeName()).isEqualTo("default");
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "hello.default.svc.cluster",
      "hello.default.cluster.local",
      "hello.svc",
      "hello.other",
      "hellox.default",
      "unknown.example.com",
      "10.0.0.1",
      "127.0.0.1",
      "[::1]",
      "::1",
      ""
  })
  void otherHostsAreNotMeshTraffic(String host) {
    assertThat(runtime.isMeshDestination(host, 8080)).isFalse();
    assertThat(runtime.route(Requests.get(host, 8080, "/"))).isNull();
  }

  @Test
  void aPortThatIsNoServicePortIsNotMeshTraffic() {
    assertThat(runtime.isMeshDestination("hello", 8081)).isFalse();
    assertThat(runtime.isMeshDestination("hello.default", 80)).isFalse();
    assertThat(runtime.route(Requests.get("hello", 18080, "/"))).isNull();
  }

  @Test
  void aBareNameResolvesOnlyInTheRuntimesNamespace() {
    // billing lives in prod; this runtime's namespace is default.
    assertThat(runtime.isMeshDestination("billing", 80)).isFalse();
    assertThat(runtime.isMeshDestination("billing.prod", 80)).isTrue();
    assertThat(runtime.isMeshDestination("billing.prod.svc.cluster.local", 80)).isTrue();

    // A runtime in prod resolves the bare name billing, and no longer the bare name hello.
    MeshRuntime inProd = MeshRuntime.of(SNAPSHOT, new MeshRuntime.Options("prod", "cluster.local"));
    assertThat(inProd.isMeshDestination("billing", 80)).isTrue();
    assertThat(inProd.isMeshDestination("hello", 8080)).isFalse();
    assertThat(inProd.isMeshDestination("hello.default", 8080)).isTrue();
  }

  @Test
  void theClusterDomainIsAnOption() {
    MeshRuntime other = MeshRuntime.of(SNAPSHOT, new MeshRuntime.Options("default", "corp.example"));
    assertThat(other.isMeshDestination("hello.default.svc.corp.example", 8080)).isTrue();
    assertThat(other.isMeshDestination("hello.default.svc.cluster.local", 8080)).isFalse();
  }

  @Test
  void authorityOfAHostFormIsMadeOncePerConfigNotPerCall() {
    String first = runtime.route(Requests.get("hello.default", 8080, "/")).authority();

    assertThat(first).isEqualTo("hello.default:8080");
    assertThat(runtime.route(Requests.get("hello.default", 8080, "/")).authority()).isSameAs(first);
  }

  @Test
  void authorityIsWhatTheApplicationUsed() {
    assertThat(runtime.route(Requests.get("Hello.Default", 8080, "/")).authority())
        .isEqualTo("Hello.Default:8080");
    MeshRuntime onPort80 = MeshRuntime.of(SNAPSHOT, new MeshRuntime.Options("prod", "cluster.local"));
    assertThat(onPort80.route(OutboundRequest.of("http", "billing", -1, "GET", "/", null)).authority())
        .isEqualTo("billing");
  }

  @Test
  void effectivePortUsesTheSchemeDefault() throws Exception {
    assertThat(OutboundRequest.effectivePort("http", -1)).isEqualTo(80);
    assertThat(OutboundRequest.effectivePort("HTTPS", -1)).isEqualTo(443);
    assertThat(OutboundRequest.effectivePort("https", 8443)).isEqualTo(8443);
    assertThat(OutboundRequest.effectivePort("ftp", -1)).isEqualTo(-1);
    assertThat(OutboundRequest.effectivePort(new java.net.URI("https://hello.default/x"))).isEqualTo(443);
    assertThat(OutboundRequest.effectivePort(new java.net.URL("http://hello:8080/x"))).isEqualTo(8080);
  }

  @Test
  void requestViewNormalizes() {
    OutboundRequest request = OutboundRequest.of("HTTP", "hello", -1, "post", "/a?b=c", null);
    assertThat(request.scheme()).isEqualTo("http");
    assertThat(request.port()).isEqualTo(80);
    assertThat(request.method()).isEqualTo("POST");
    assertThat(request.path()).isEqualTo("/a");
    assertThat(request.header("x")).isNull();
    assertThat(OutboundRequest.of("http", "hello", 80, "GET", "", null).path()).isEqualTo("/");
  }
}
