package io.jmesh.controller.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Any;
import com.google.protobuf.Duration;
import com.google.protobuf.Struct;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.UnknownFieldSet;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.envoyproxy.envoy.config.route.v3.RedirectAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.jmesh.runtime.config.ServiceEndpoint;
import io.jmesh.runtime.xds.XdsDecoder;
import io.jmesh.runtime.xds.XdsResourceException;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The agent rejects what it cannot apply, with the resource, the field, the value and what it
 * expected: each case changes one field of a resource the translator made from the fixture.
 */
class XdsDecoderRejectionTest {
  static XdsResources good;

  @BeforeAll
  static void translate() throws Exception {
    good = XdsTranslator.translate(XdsTranslatorTest.fixture(), "cluster.local");
  }

  static Listener listener() {
    return good.listeners().get(0);
  }

  static RouteConfiguration routes() {
    return good.routes().get(0);
  }

  static Cluster cluster() {
    return good.clusters().get(0);
  }

  static ClusterLoadAssignment endpoints() {
    return good.endpoints().get(0);
  }

  // ---- Cluster -----------------------------------------------------------------------------

  @Test
  void clusterWithALoadBalancerJmeshLacks() {
    assertRejected(
        () -> XdsDecoder.cluster(cluster().toBuilder().setLbPolicy(Cluster.LbPolicy.MAGLEV).build()),
        "Cluster hello.shop: lb_policy: MAGLEV (expected: ROUND_ROBIN, LEAST_REQUEST or RANDOM,"
            + " or load_balancing_policy io.jmesh.peak_ewma)");
  }

  @Test
  void meshTlsThatNamesADnsSanOrAnotherTrustSourceIsRejected() throws Exception {
    // The fixture's hello.shop is a mesh-TLS destination.
    Cluster good = cluster();
    assertThat(XdsDecoder.clusterInfo(good).identities()).hasSize(2);
    var tls =
        good.getTransportSocket().getTypedConfig()
            .unpack(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext.class);

    var dns = tls.toBuilder();
    dns.getCommonTlsContextBuilder().getCombinedValidationContextBuilder().getDefaultValidationContextBuilder()
        .getMatchTypedSubjectAltNamesBuilder(1)
        .setSanType(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher.SanType.DNS);
    assertRejected(
        () -> XdsDecoder.clusterInfo(withTls(good, dns.build())),
        "Cluster hello.shop: transport_socket.typed_config.common_tls_context.combined_validation_context"
            + ".default_validation_context.match_typed_subject_alt_names[1].san_type: DNS (expected: URI)");

    var trust = tls.toBuilder();
    trust.getCommonTlsContextBuilder().getCombinedValidationContextBuilder()
        .getValidationContextSdsSecretConfigBuilder().setName("file-cert");
    assertRejected(
        () -> XdsDecoder.clusterInfo(withTls(good, trust.build())),
        "Cluster hello.shop: transport_socket.typed_config.common_tls_context.combined_validation_context"
            + ".validation_context_sds_secret_config.name: file-cert (expected: ROOTCA (the mesh's trust"
            + " anchors))");
  }

  private static Cluster withTls(
      Cluster c, io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext tls) {
    return c.toBuilder()
        .setTransportSocket(c.getTransportSocket().toBuilder().setTypedConfig(com.google.protobuf.Any.pack(tls)))
        .build();
  }

  @Test
  void clusterWithAFieldJmeshDoesNotImplement() {
    assertRejected(
        () ->
            XdsDecoder.cluster(
                cluster().toBuilder().setConnectTimeout(Duration.newBuilder().setSeconds(5)).build()),
        "Cluster hello.shop: connect_timeout: seconds: 5 (expected: unset: jmesh does not implement"
            + " connect_timeout; it reads only name, type, eds_cluster_config, lb_policy,"
            + " load_balancing_policy, lb_subset_config, outlier_detection, circuit_breakers,"
            + " metadata, transport_socket)");
  }

  @Test
  void clusterOfAnotherDiscoveryType() {
    assertRejected(
        () ->
            XdsDecoder.cluster(
                cluster().toBuilder().setType(Cluster.DiscoveryType.STRICT_DNS).build()),
        "Cluster hello.shop: type: STRICT_DNS (expected: EDS)");
  }

  @Test
  void outlierDetectionByGatewayFailures() {
    Cluster c = cluster();
    Cluster bad =
        c.toBuilder()
            .setOutlierDetection(
                c.getOutlierDetection().toBuilder().setConsecutiveGatewayFailure(UInt32Value.of(3)))
            .build();
    assertRejected(
        () -> XdsDecoder.cluster(bad),
        "Cluster hello.shop: outlier_detection.consecutive_gateway_failure: value: 3 (expected:"
            + " unset: jmesh does not implement consecutive_gateway_failure; it reads only"
            + " consecutive_5xx, base_ejection_time, max_ejection_time, max_ejection_percent,"
            + " enforcing_success_rate)");
  }

  @Test
  void outlierDetectionThatWouldEjectBySuccessRate() {
    Cluster c = cluster();
    Cluster bad =
        c.toBuilder()
            .setOutlierDetection(c.getOutlierDetection().toBuilder().clearEnforcingSuccessRate())
            .build();
    assertRejected(
        () -> XdsDecoder.cluster(bad),
        "Cluster hello.shop: outlier_detection.enforcing_success_rate: unset (Envoy's default 100)"
            + " (expected: 0: success-rate ejection is not applied from xDS)");
  }

  @Test
  void circuitBreakerOnRetries() {
    Cluster c = cluster();
    Cluster bad =
        c.toBuilder()
            .setCircuitBreakers(
                c.getCircuitBreakers().toBuilder()
                    .setThresholds(
                        0,
                        c.getCircuitBreakers().getThresholds(0).toBuilder()
                            .setMaxRetries(UInt32Value.of(3))))
            .build();
    assertRejected(
        () -> XdsDecoder.cluster(bad),
        "Cluster hello.shop: circuit_breakers.thresholds[0].max_retries: value: 3 (expected: unset:"
            + " jmesh does not implement max_retries; it reads only priority, max_requests,"
            + " max_pending_requests)");
  }

  @Test
  void unknownJmeshMetadata() {
    Cluster bad =
        cluster().toBuilder()
            .setMetadata(jmeshMetadata("retry_storm", Value.newBuilder().setBoolValue(true).build()))
            .build();
    assertRejected(
        () -> XdsDecoder.cluster(bad),
        "Cluster hello.shop: metadata.filter_metadata[io.jmesh].retry_storm: bool_value: true"
            + " (expected: one of retry_budget, ejection_jitter, rate_limit)");
  }

  @Test
  void retryBudgetRatioOfTheWrongKind() {
    Value budget =
        Value.newBuilder()
            .setStructValue(
                Struct.newBuilder()
                    .putFields("ratio", Value.newBuilder().setStringValue("20%").build()))
            .build();
    Cluster bad = cluster().toBuilder().setMetadata(jmeshMetadata("retry_budget", budget)).build();
    assertRejected(
        () -> XdsDecoder.cluster(bad),
        "Cluster hello.shop: metadata.filter_metadata[io.jmesh].retry_budget.ratio: string_value:"
            + " \"20%\" (expected: a number in 0.0..1000.0)");
  }

  @Test
  void unknownFieldNumbersAreNotIgnored() {
    Cluster bad =
        cluster().toBuilder()
            .setUnknownFields(
                UnknownFieldSet.newBuilder()
                    .addField(9999, UnknownFieldSet.Field.newBuilder().addVarint(1).build())
                    .build())
            .build();
    assertRejected(
        () -> XdsDecoder.cluster(bad),
        "Cluster hello.shop: Cluster: unknown field numbers [9999] (expected: only fields of"
            + " envoy.config.cluster.v3.Cluster jmesh knows)");
  }

  // ---- RouteConfiguration ------------------------------------------------------------------

  @Test
  void twoVirtualHosts() {
    RouteConfiguration bad =
        routes().toBuilder()
            .addVirtualHosts(VirtualHost.newBuilder().setName("other").addDomains("other"))
            .build();
    assertRejected(
        () -> XdsDecoder.routes(bad),
        "RouteConfiguration hello.shop: virtual_hosts: 2 virtual hosts (expected: exactly one: the"
            + " listener already chose the service)");
  }

  @Test
  void aRegexRewriteOtherThanTheWholePath() {
    RouteConfiguration bad =
        editRoute(
            0,
            r -> r.getRouteBuilder().setRegexRewrite(
                io.envoyproxy.envoy.type.matcher.v3.RegexMatchAndSubstitute.newBuilder()
                    .setPattern(io.envoyproxy.envoy.type.matcher.v3.RegexMatcher.newBuilder().setRegex("^/api/(.*)$"))
                    .setSubstitution("/\\1")));
    assertRejected(
        () -> XdsDecoder.routes(bad),
        "RouteConfiguration hello.shop: virtual_hosts[0].routes[0].route.regex_rewrite.pattern.regex:"
            + " ^/api/(.*)$ (expected: ^/.*$ (the whole path replaced))");
  }

  @Test
  void aHeaderAddedOnlyIfAbsent() {
    RouteConfiguration bad =
        editRoute(
            0,
            r -> r.addRequestHeadersToAdd(
                io.envoyproxy.envoy.config.core.v3.HeaderValueOption.newBuilder()
                    .setHeader(io.envoyproxy.envoy.config.core.v3.HeaderValue.newBuilder().setKey("x-a").setValue("1"))
                    .setAppendAction(io.envoyproxy.envoy.config.core.v3.HeaderValueOption.HeaderAppendAction.ADD_IF_ABSENT)));
    assertRejected(
        () -> XdsDecoder.routes(bad),
        "RouteConfiguration hello.shop: virtual_hosts[0].routes[0].request_headers_to_add[0].append_action:"
            + " ADD_IF_ABSENT (expected: OVERWRITE_IF_EXISTS_OR_ADD or APPEND_IF_EXISTS_OR_ADD)");
  }

  @Test
  void aQueryParameterPresenceMatch() {
    RouteConfiguration bad =
        editRoute(
            0,
            r -> r.getMatchBuilder().addQueryParameters(
                io.envoyproxy.envoy.config.route.v3.QueryParameterMatcher.newBuilder().setName("v").setPresentMatch(true)));
    assertRejected(
        () -> XdsDecoder.routes(bad),
        "RouteConfiguration hello.shop: virtual_hosts[0].routes[0].match.query_parameters[0].present_match:"
            + " true (expected: unset: jmesh does not implement present_match; it reads only name, string_match)");
  }

  @Test
  void aRedirect() {
    RouteConfiguration bad =
        editRoute(
            0,
            r -> r.clearRoute().setRedirect(RedirectAction.newBuilder().setHostRedirect("x")));
    assertRejected(
        () -> XdsDecoder.routes(bad),
        "RouteConfiguration hello.shop: virtual_hosts[0].routes[0].redirect: host_redirect: \"x\""
            + " (expected: unset: jmesh does not implement redirect; it reads only name, match,"
            + " route, per_request_buffer_limit_bytes, metadata, typed_per_filter_config,"
            + " request_headers_to_add, request_headers_to_remove, response_headers_to_add,"
            + " response_headers_to_remove)");
  }

  @Test
  void aRetryConditionJmeshLacks() {
    RouteConfiguration bad =
        editRoute(
            0,
            r ->
                r.setRoute(
                    r.getRoute().toBuilder()
                        .setRetryPolicy(
                            r.getRoute().getRetryPolicy().toBuilder().setRetryOn("5xx,reset"))));
    assertRejected(
        () -> XdsDecoder.routes(bad),
        "RouteConfiguration hello.shop: virtual_hosts[0].routes[0].route.retry_policy.retry_on:"
            + " 5xx,reset (expected: a comma-separated subset of cancelled, connect-failure,"
            + " deadline-exceeded, internal, reset, resource-exhausted, retriable-status-codes,"
            + " unavailable)");
  }

  @Test
  void aGrpcConditionEnvoyHasAndJmeshLacks() {
    // Envoy knows no not-found condition either; jmesh takes exactly Envoy's five gRPC names.
    RouteConfiguration bad =
        editRoute(
            0,
            r ->
                r.setRoute(
                    r.getRoute().toBuilder()
                        .setRetryPolicy(
                            r.getRoute().getRetryPolicy().toBuilder().setRetryOn("unavailable,not-found"))));
    assertRejected(
        () -> XdsDecoder.routes(bad),
        "RouteConfiguration hello.shop: virtual_hosts[0].routes[0].route.retry_policy.retry_on:"
            + " unavailable,not-found (expected: a comma-separated subset of cancelled, connect-failure,"
            + " deadline-exceeded, internal, reset, resource-exhausted, retriable-status-codes,"
            + " unavailable)");
  }

  @Test
  void aBackendOnAnotherCluster() {
    RouteConfiguration bad =
        editRoute(
            0,
            r ->
                r.setRoute(
                    r.getRoute().toBuilder()
                        .setWeightedClusters(
                            r.getRoute().getWeightedClusters().toBuilder()
                                .setClusters(
                                    0,
                                    r.getRoute().getWeightedClusters().getClusters(0).toBuilder()
                                        .setName("payments.shop")))));
    assertRejected(
        () -> XdsDecoder.routes(bad),
        "RouteConfiguration hello.shop:"
            + " virtual_hosts[0].routes[0].route.weighted_clusters.clusters[0].name: payments.shop"
            + " (expected: the service's own cluster hello.shop (route backends select subsets of"
            + " it))");
  }

  @Test
  void aHeaderPrefixMatch() {
    RouteConfiguration bad =
        editRoute(
            0,
            r ->
                r.setMatch(
                    r.getMatch().toBuilder()
                        .setHeaders(
                            0,
                            HeaderMatcher.newBuilder()
                                .setName("x-canary")
                                .setStringMatch(StringMatcher.newBuilder().setPrefix("al")))));
    assertRejected(
        () -> XdsDecoder.routes(bad),
        "RouteConfiguration hello.shop: virtual_hosts[0].routes[0].match.headers[0].string_match.prefix:"
            + " al (expected: unset: jmesh does not implement prefix; it reads only exact,"
            + " safe_regex)");
  }

  @Test
  void aFaultPercentageAboveTheWhole() {
    HTTPFault fault =
        RouteConfigurationTranslator.fault(
            new io.jmesh.runtime.config.RoutePolicy.Fault(10, 503, 0, java.time.Duration.ZERO));
    HTTPFault bad =
        fault.toBuilder()
            .setAbort(
                fault.getAbort().toBuilder()
                    .setPercentage(
                        FractionalPercent.newBuilder()
                            .setNumerator(150)
                            .setDenominator(FractionalPercent.DenominatorType.HUNDRED)))
            .build();
    RouteConfiguration config =
        editRoute(0, r -> r.putTypedPerFilterConfig("envoy.filters.http.fault", Any.pack(bad)));
    assertRejected(
        () -> XdsDecoder.routes(config),
        "RouteConfiguration hello.shop:"
            + " virtual_hosts[0].routes[0].typed_per_filter_config[envoy.filters.http.fault].abort.percentage:"
            + " numerator: 150 (expected: numerator <= denominator)");
  }

  @Test
  void aFilterConfigForAnotherFilter() {
    RouteConfiguration bad =
        editRoute(
            0,
            r ->
                r.putTypedPerFilterConfig(
                    "envoy.filters.http.cors", Any.pack(HTTPFault.getDefaultInstance())));
    assertRejected(
        () -> XdsDecoder.routes(bad),
        "RouteConfiguration hello.shop:"
            + " virtual_hosts[0].routes[0].typed_per_filter_config[envoy.filters.http.cors]:"
            + " envoy.filters.http.cors (expected: only envoy.filters.http.fault)");
  }

  // ---- Listener ----------------------------------------------------------------------------

  @Test
  void aListenerNotNamedAfterAService() {
    assertRejected(
        () -> XdsDecoder.listener(listener().toBuilder().setName("0.0.0.0_8080").build()),
        "Listener 0.0.0.0_8080: name: 0.0.0.0_8080 (expected:"
            + " <service>.<namespace>.svc.<cluster domain>:<port>)");
  }

  @Test
  void aListenerWithSocketAddress() {
    Listener bad =
        listener().toBuilder()
            .setAddress(
                Address.newBuilder()
                    .setSocketAddress(SocketAddress.newBuilder().setAddress("0.0.0.0").setPortValue(80)))
            .build();
    assertRejected(
        () -> XdsDecoder.listener(bad),
        "Listener hello.shop.svc.cluster.local:8080: address: socket_address { address: \"0.0.0.0\""
            + " port_value: 80 } (expected: unset: jmesh does not implement address; it reads only"
            + " name, api_listener)");
  }

  @Test
  void aListenerWithInlineRoutes() throws Exception {
    HttpConnectionManager hcm =
        listener().getApiListener().getApiListener().unpack(HttpConnectionManager.class);
    HttpConnectionManager bad =
        hcm.toBuilder().clearRds().setRouteConfig(RouteConfiguration.newBuilder().setName("x")).build();
    Listener l =
        listener().toBuilder()
            .setApiListener(listener().getApiListener().toBuilder().setApiListener(Any.pack(bad)))
            .build();
    assertRejected(
        () -> XdsDecoder.listener(l),
        "Listener hello.shop.svc.cluster.local:8080: api_listener.api_listener.route_config: name:"
            + " \"x\" (expected: unset: jmesh does not implement route_config; it reads only rds,"
            + " http_filters)");
  }

  @Test
  void aListenerWhoseApiListenerIsNotAnHcm() {
    Listener bad =
        listener().toBuilder()
            .setApiListener(
                listener().getApiListener().toBuilder()
                    .setApiListener(Any.pack(Cluster.getDefaultInstance())))
            .build();
    assertRejected(
        () -> XdsDecoder.listener(bad),
        "Listener hello.shop.svc.cluster.local:8080: api_listener.api_listener.type_url:"
            + " type.googleapis.com/envoy.config.cluster.v3.Cluster (expected:"
            + " type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager)");
  }

  // ---- Inbound listener (authorization) ----------------------------------------------------

  static Listener inbound() {
    return good.listeners().stream()
        .filter(l -> l.getName().equals("inbound|hello.shop"))
        .findFirst()
        .orElseThrow();
  }

  static RBAC rbac(Listener l) throws Exception {
    return l.getApiListener().getApiListener().unpack(HttpConnectionManager.class)
        .getHttpFilters(0).getTypedConfig().unpack(RBAC.class);
  }

  static Listener withRbac(Listener l, RBAC rbac) throws Exception {
    HttpConnectionManager hcm = l.getApiListener().getApiListener().unpack(HttpConnectionManager.class);
    HttpConnectionManager edited =
        hcm.toBuilder()
            .setHttpFilters(0, hcm.getHttpFilters(0).toBuilder().setTypedConfig(Any.pack(rbac)))
            .build();
    return l.toBuilder()
        .setApiListener(l.getApiListener().toBuilder().setApiListener(Any.pack(edited)))
        .build();
  }

  static final String RULES =
      "Listener inbound|hello.shop: api_listener.api_listener.http_filters[0].typed_config.shadow_rules";

  @Test
  void theFixturesPolicyIsReadFromTheInboundListener() throws Exception {
    var policy = XdsDecoder.inboundPolicy(inbound());
    assertThat(policy.name()).isEqualTo("hello.shop");
    assertThat(policy.rules()).extracting(r -> r.name())
        .containsExactly("ops-anything", "no-batch-writes", "shop-reads", "jobs-tcp");
  }

  @Test
  void anRbacFieldJmeshLacksIsRejected() throws Exception {
    Listener bad = withRbac(inbound(), rbac(inbound()).toBuilder().setShadowRulesStatPrefix("x").build());
    assertRejected(
        () -> XdsDecoder.inboundPolicy(bad),
        "Listener inbound|hello.shop: api_listener.api_listener.http_filters[0].typed_config"
            + ".shadow_rules_stat_prefix: x (expected: unset: jmesh does not implement"
            + " shadow_rules_stat_prefix; it reads only rules, shadow_rules)");
  }

  @Test
  void aPrincipalKindJmeshLacksIsRejected() throws Exception {
    RBAC good = rbac(inbound());
    var byIp =
        Principal.newBuilder()
            .setRemoteIp(CidrRange.newBuilder().setAddressPrefix("10.0.0.0").setPrefixLen(UInt32Value.of(8)))
            .build();
    var policy = good.getShadowRules().getPoliciesOrThrow("default:deny").toBuilder().setPrincipals(0, byIp);
    Listener bad =
        withRbac(inbound(), good.toBuilder().setShadowRules(good.getShadowRules().toBuilder().putPolicies("default:deny", policy.build())).build());
    assertRejected(
        () -> XdsDecoder.inboundPolicy(bad),
        RULES + ".policies[default:deny].principals[0].remote_ip: address_prefix: \"10.0.0.0\""
            + " prefix_len { value: 8 } (expected: unset: jmesh does not implement remote_ip; it"
            + " reads only and_ids, or_ids, not_id, any, authenticated, header, url_path)");
  }

  @Test
  void aHeaderOtherThanTheMethodIsRejected() throws Exception {
    RBAC good = rbac(inbound());
    var byHeader =
        Principal.newBuilder()
            .setHeader(HeaderMatcher.newBuilder().setName("x-user").setStringMatch(StringMatcher.newBuilder().setExact("bob")))
            .build();
    var policy = good.getShadowRules().getPoliciesOrThrow("default:deny").toBuilder().setPrincipals(0, byHeader);
    Listener bad =
        withRbac(inbound(), good.toBuilder().setShadowRules(good.getShadowRules().toBuilder().putPolicies("default:deny", policy.build())).build());
    assertRejected(
        () -> XdsDecoder.inboundPolicy(bad),
        RULES + ".policies[default:deny].principals[0].header.name: x-user"
            + " (expected: :method (jmesh rules match no other header))");
  }

  @Test
  void anAllowFilterIsRejected() throws Exception {
    RBAC good = rbac(inbound());
    Listener bad =
        withRbac(inbound(), good.toBuilder().setShadowRules(good.getShadowRules().toBuilder().setAction(
            io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.ALLOW)).build());
    assertRejected(
        () -> XdsDecoder.inboundPolicy(bad),
        RULES + ".action: ALLOW (expected: DENY (jmesh encodes what a policy denies))");
  }

  @Test
  void rbacThatDisagreesWithTheMetadataIsRejected() throws Exception {
    // Enforced by the filter, audited by the metadata: the agent must not pick one.
    RBAC good = rbac(inbound());
    Listener bad = withRbac(inbound(), good.toBuilder().clearShadowRules().setRules(good.getShadowRules()).build());
    assertThatThrownBy(() -> XdsDecoder.inboundPolicy(bad))
        .isInstanceOf(XdsResourceException.class)
        .hasMessageStartingWith(
            "Listener inbound|hello.shop: api_listener.api_listener.http_filters[0].typed_config: rules {")
        .hasMessageContaining(
            "(expected: the RBAC jmesh derives from metadata.filter_metadata[io.jmesh].authorization,"
                + " which disagrees: shadow_rules {");
  }

  @Test
  void aRuleFieldJmeshLacksInTheMetadataIsRejected() throws Exception {
    Struct jmesh = inbound().getMetadata().getFilterMetadataOrThrow("io.jmesh");
    Struct policy = jmesh.getFieldsOrThrow("authorization").getStructValue();
    Value rules = policy.getFieldsOrThrow("rules");
    Struct rule0 =
        rules.getListValue().getValues(0).getStructValue().toBuilder()
            .putFields("users", Value.newBuilder().setStringValue("bob").build())
            .build();
    Value editedRules =
        Value.newBuilder()
            .setListValue(rules.getListValue().toBuilder().setValues(0, Value.newBuilder().setStructValue(rule0)))
            .build();
    Listener bad =
        inbound().toBuilder()
            .setMetadata(
                jmeshMetadata(
                    "authorization",
                    Value.newBuilder().setStructValue(policy.toBuilder().putFields("rules", editedRules)).build()))
            .build();
    assertRejected(
        () -> XdsDecoder.inboundPolicy(bad),
        "Listener inbound|hello.shop: metadata.filter_metadata[io.jmesh].authorization.rules[0].users:"
            + " string_value: \"bob\" (expected: one of action, identities, methods, name, namespaces,"
            + " path_prefix, service_accounts)");
  }

  @Test
  void anInboundListenerWithoutItsPolicyIsRejected() {
    assertRejected(
        () -> XdsDecoder.inboundPolicy(inbound().toBuilder().clearMetadata().build()),
        "Listener inbound|hello.shop: metadata: unset (expected:"
            + " filter_metadata[io.jmesh].authorization: the policy)");
    assertRejected(
        () -> XdsDecoder.inboundPolicy(inbound().toBuilder().setName("inbound|hello").build()),
        "Listener inbound|hello: name: inbound|hello (expected: inbound|<service>.<namespace>)");
  }

  // ---- ClusterLoadAssignment ---------------------------------------------------------------

  @Test
  void endpointsWithALocality() {
    ClusterLoadAssignment e = endpoints();
    ClusterLoadAssignment bad =
        e.toBuilder()
            .setEndpoints(0, e.getEndpoints(0).toBuilder().setLocality(Locality.newBuilder().setZone("a")))
            .build();
    assertRejected(
        () -> XdsDecoder.endpoints(bad),
        "ClusterLoadAssignment hello.shop: endpoints[0].locality: zone: \"a\" (expected: unset: jmesh"
            + " does not implement locality; it reads only priority, lb_endpoints)");
  }

  @Test
  void anotherOverprovisioningFactor() {
    ClusterLoadAssignment e = endpoints();
    ClusterLoadAssignment bad =
        e.toBuilder()
            .setPolicy(e.getPolicy().toBuilder().setOverprovisioningFactor(UInt32Value.of(200)))
            .build();
    assertRejected(
        () -> XdsDecoder.endpoints(bad),
        "ClusterLoadAssignment hello.shop: policy.overprovisioning_factor: 200 (expected: 140"
            + " (jmesh's failover applies 1.4))");
  }

  @Test
  void aDegradedEndpoint() {
    ClusterLoadAssignment bad = editEndpoint(0, lb -> lb.setHealthStatus(HealthStatus.DEGRADED));
    assertRejected(
        () -> XdsDecoder.endpoints(bad),
        "ClusterLoadAssignment hello.shop: endpoints[0].lb_endpoints[0].health_status: DEGRADED"
            + " (expected: UNKNOWN, HEALTHY, UNHEALTHY or DRAINING)");
  }

  @Test
  void aZeroWeightEndpoint() {
    ClusterLoadAssignment bad =
        editEndpoint(0, lb -> lb.setLoadBalancingWeight(UInt32Value.of(0)));
    assertRejected(
        () -> XdsDecoder.endpoints(bad),
        "ClusterLoadAssignment hello.shop: endpoints[0].lb_endpoints[0].load_balancing_weight: 0"
            + " (expected: 1..2^31-1)");
  }

  // ---- accepted -----------------------------------------------------------------------------

  @Test
  void unhealthyAndDrainingEndpointsAreLeftOutAsEnvoyDoes() throws Exception {
    ClusterLoadAssignment e =
        editEndpoint(0, lb -> lb.setHealthStatus(HealthStatus.DRAINING));
    ClusterLoadAssignment both =
        e.toBuilder()
            .setEndpoints(
                0,
                e.getEndpoints(0).toBuilder()
                    .setLbEndpoints(
                        1,
                        e.getEndpoints(0).getLbEndpoints(1).toBuilder()
                            .setHealthStatus(HealthStatus.UNHEALTHY)))
            .build();
    List<ServiceEndpoint> decoded = XdsDecoder.endpoints(both);
    assertThat(decoded).extracting(ServiceEndpoint::host).containsExactly("127.0.0.4");
  }

  @Test
  void aPlainEnvoyClusterGetsJmeshDefaultsWhereXdsSaysNothing() throws Exception {
    Cluster plain =
        cluster().toBuilder()
            .clearMetadata()
            .clearCircuitBreakers()
            .clearOutlierDetection()
            .clearLbSubsetConfig()
            .build();
    var policy = XdsDecoder.cluster(plain);
    assertThat(policy.retryBudget())
        .isEqualTo(io.jmesh.runtime.config.DestinationPolicy.RetryBudget.DEFAULT);
    assertThat(policy.failureAccrual())
        .isEqualTo(io.jmesh.runtime.config.DestinationPolicy.FailureAccrual.DEFAULT);
    assertThat(policy.maxInFlight()).isZero();
    assertThat(policy.balancer())
        .isEqualTo(io.jmesh.runtime.config.DestinationPolicy.Balancer.LEAST_REQUEST);
  }

  // ---- helpers ------------------------------------------------------------------------------

  interface Decode {
    Object run() throws Exception;
  }

  static void assertRejected(Decode decode, String message) {
    assertThatThrownBy(decode::run).isInstanceOf(XdsResourceException.class).hasMessage(message);
  }

  static Metadata jmeshMetadata(String key, Value value) {
    return Metadata.newBuilder()
        .putFilterMetadata("io.jmesh", Struct.newBuilder().putFields(key, value).build())
        .build();
  }

  static RouteConfiguration editRoute(
      int index,
      java.util.function.Consumer<io.envoyproxy.envoy.config.route.v3.Route.Builder> edit) {
    RouteConfiguration rc = routes();
    VirtualHost host = rc.getVirtualHosts(0);
    io.envoyproxy.envoy.config.route.v3.Route.Builder route = host.getRoutes(index).toBuilder();
    edit.accept(route);
    return rc.toBuilder().setVirtualHosts(0, host.toBuilder().setRoutes(index, route)).build();
  }

  static ClusterLoadAssignment editEndpoint(
      int index, java.util.function.Consumer<io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint.Builder> edit) {
    ClusterLoadAssignment e = endpoints();
    var lb = e.getEndpoints(0).getLbEndpoints(index).toBuilder();
    edit.accept(lb);
    return e.toBuilder()
        .setEndpoints(0, e.getEndpoints(0).toBuilder().setLbEndpoints(index, lb))
        .build();
  }
}
