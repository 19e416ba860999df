package io.jmesh.controller.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.config.Service;
import io.jmesh.runtime.config.ServiceEndpoint;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link XdsTranslator.Memo} and {@link ProxylessTranslator.Memo}: the same resources as the plain
 * translations, and the same objects for a Service object translated before.
 */
class XdsTranslatorMemoTest {
  private final XdsTranslator.Memo memo = new XdsTranslator.Memo("cluster.local");

  @Test
  void givesThePlainTranslation() throws Exception {
    MeshSnapshot snapshot = XdsTranslatorTest.fixture();

    assertThat(memo.translate(snapshot))
        .isEqualTo(XdsTranslator.translate(snapshot, "cluster.local"));
  }

  @Test
  void proxylessGivesThePlainTranslationBeforeAndAfterAChange() throws Exception {
    ProxylessTranslator.Memo proxyless = new ProxylessTranslator.Memo("cluster.local");
    MeshSnapshot before = XdsTranslatorTest.fixture();
    MeshSnapshot after = withAnEndpointMore(before);

    assertThat(proxyless.translate(before))
        .isEqualTo(ProxylessTranslator.translate(before, "cluster.local"));
    XdsResources first = proxyless.translate(before);
    XdsResources second = proxyless.translate(after);
    assertThat(second).isEqualTo(ProxylessTranslator.translate(after, "cluster.local"));
    // The last Service is unchanged: its resources are the same objects.
    int last = first.routes().size() - 1;
    assertThat(second.routes().get(last)).isSameAs(first.routes().get(last));
  }

  @Test
  void aChangedServiceIsTranslatedAgainAndTheOthersAreReused() throws Exception {
    MeshSnapshot before = XdsTranslatorTest.fixture();
    XdsResources first = memo.translate(before);
    MeshSnapshot after = withAnEndpointMore(before);
    List<Service> services = after.services();

    XdsResources second = memo.translate(after);

    assertThat(second).isEqualTo(XdsTranslator.translate(after, "cluster.local"));
    assertThat(second.endpoints().get(0)).isNotEqualTo(first.endpoints().get(0));
    for (int i = 1; i < services.size(); i++) {
      assertThat(second.endpoints().get(i)).isSameAs(first.endpoints().get(i));
      assertThat(second.clusters().get(i)).isSameAs(first.clusters().get(i));
      assertThat(second.routes().get(i)).isSameAs(first.routes().get(i));
    }
  }

  /** {@code snapshot} with one endpoint more in its first Service, a new object. */
  private static MeshSnapshot withAnEndpointMore(MeshSnapshot snapshot) {
    List<Service> services = new ArrayList<>(snapshot.services());
    Service hello = services.get(0);
    List<ServiceEndpoint> endpoints = new ArrayList<>(hello.endpoints());
    endpoints.add(new ServiceEndpoint("10.99.0.1", 8080, 1, java.util.Map.of()));
    services.set(
        0,
        new Service(hello.name(), hello.namespace(), hello.ports(), endpoints, hello.routes(),
            hello.policy(), hello.identities(), hello.authorization()));
    return new MeshSnapshot("v2", services);
  }
}
