package io.jmesh.runtime.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.BoolValue;
import io.envoyproxy.envoy.config.core.v3.RuntimeFractionalPercent;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.jmesh.runtime.config.RequestMirror;
import io.jmesh.runtime.config.RouteFilters;
import org.junit.jupiter.api.Test;

/** {@code request_mirror_policies} of a route: one policy, decoded strictly. */
class XdsMirrorDecodingTest {
  private static final String AT = "RouteConfiguration hello.shop: virtual_hosts[0].routes[0].route.request_mirror_policies";

  private static RouteConfiguration withMirror(RouteAction.RequestMirrorPolicy... policies) {
    RouteAction.Builder action = RouteAction.newBuilder().setCluster("hello.shop");
    for (RouteAction.RequestMirrorPolicy p : policies) {
      action.addRequestMirrorPolicies(p);
    }
    return RouteConfiguration.newBuilder()
        .setName("hello.shop")
        .addVirtualHosts(
            VirtualHost.newBuilder()
                .setName("hello.shop")
                .addDomains("*")
                .addRoutes(
                    Route.newBuilder()
                        .setName("api")
                        .setMatch(RouteMatch.newBuilder().setPrefix("/api"))
                        .setRoute(action)))
        .build();
  }

  private static RouteAction.RequestMirrorPolicy.Builder policy(String cluster) {
    return RouteAction.RequestMirrorPolicy.newBuilder().setCluster(cluster);
  }

  private static RequestMirror decoded(RouteConfiguration rc) throws XdsResourceException {
    return XdsRouteConfigurationResource.decode(rc, true).get(0).filters().mirror();
  }

  @Test
  void aPolicyWithoutFractionCopiesEveryRequest() throws Exception {
    assertThat(decoded(withMirror(policy("shadow.test").build())))
        .isEqualTo(new RequestMirror("shadow", "test", 100));
  }

  @Test
  void theRuntimeFractionIsTheShare() throws Exception {
    RouteAction.RequestMirrorPolicy p =
        policy("shadow.shop")
            .setRuntimeFraction(
                RuntimeFractionalPercent.newBuilder()
                    .setDefaultValue(
                        FractionalPercent.newBuilder()
                            .setNumerator(125_000)
                            .setDenominator(FractionalPercent.DenominatorType.MILLION)))
            .build();
    assertThat(decoded(withMirror(p))).isEqualTo(new RequestMirror("shadow", "shop", 12.5));
  }

  @Test
  void aRouteWithoutPolicyHasNoMirror() throws Exception {
    assertThat(decoded(withMirror())).isNull();
  }

  @Test
  void severalPoliciesAreRejected() {
    assertThatThrownBy(() -> decoded(withMirror(policy("a.shop").build(), policy("b.shop").build())))
        .isInstanceOf(XdsResourceException.class)
        .hasMessage(AT + ": 2 policies (expected: at most one mirror per route)");
  }

  @Test
  void unsupportedSubFieldsAreRejectedByName() {
    assertThatThrownBy(() -> decoded(withMirror(policy("a.shop").setTraceSampled(BoolValue.of(false)).build())))
        .isInstanceOf(XdsResourceException.class)
        .hasMessageStartingWith(AT + "[0].trace_sampled: ");
    assertThatThrownBy(() -> decoded(withMirror(policy("").setClusterHeader("x-mirror").build())))
        .isInstanceOf(XdsResourceException.class)
        .hasMessageStartingWith(AT + "[0].cluster_header: ");
    RouteAction.RequestMirrorPolicy runtimeKey =
        policy("a.shop")
            .setRuntimeFraction(RuntimeFractionalPercent.newBuilder().setRuntimeKey("mirror.share"))
            .build();
    assertThatThrownBy(() -> decoded(withMirror(runtimeKey)))
        .isInstanceOf(XdsResourceException.class)
        .hasMessageStartingWith(AT + "[0].runtime_fraction.runtime_key: ");
  }

  @Test
  void aClusterThatNamesNoServiceIsRejected() {
    assertThatThrownBy(() -> decoded(withMirror(policy("outbound|8080||shadow").build())))
        .isInstanceOf(XdsResourceException.class)
        .hasMessage(AT + "[0].cluster: \"outbound|8080||shadow\" (expected: a service's cluster, <service>.<namespace>)");
  }

  @Test
  void aMirrorIsNackedWhereTheClientsWouldNotApplyIt() throws Exception {
    assertThat(XdsDecoder.routes(withMirror(policy("shadow.shop").build())).get(0).filters().mirror())
        .isEqualTo(new RequestMirror("shadow", "shop", 100));
    assertThatThrownBy(() -> XdsRouteConfigurationResource.decode(withMirror(policy("shadow.shop").build()), false))
        .isInstanceOf(XdsResourceException.class)
        .hasMessage(AT + "[0].cluster: shadow.shop (expected: unset: " + RouteFilters.NOT_APPLIED + ")");
  }
}
