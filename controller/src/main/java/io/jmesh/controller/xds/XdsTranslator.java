package io.jmesh.controller.xds;

import com.github.xds.type.v3.TypedStruct;
import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.LoadBalancingPolicy;
import io.envoyproxy.envoy.config.cluster.v3.OutlierDetection;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.ApiListener;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.extensions.filters.common.fault.v3.FaultDelay;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.FaultAbort;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.jmesh.runtime.config.Backend;
import io.jmesh.runtime.config.DestinationPolicy;
import io.jmesh.runtime.config.GrpcRetryConditions;
import io.jmesh.runtime.config.HeaderMatch;
import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.config.PathMatch;
import io.jmesh.runtime.config.Route;
import io.jmesh.runtime.config.RouteMatch;
import io.jmesh.runtime.config.RoutePolicy;
import io.jmesh.runtime.config.Service;
import io.jmesh.runtime.config.ServiceEndpoint;
import io.jmesh.runtime.inbound.AuthorizationPolicy;
import io.jmesh.runtime.xds.XdsAuthorization;
import io.jmesh.runtime.xds.XdsNames;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Translates a mesh snapshot into xDS v3 resources of the proxyless-gRPC shape (Listener with an
 * {@code api_listener} → RouteConfiguration → Cluster → ClusterLoadAssignment), named as {@link
 * io.jmesh.runtime.xds.XdsNames} says. A pure function: same snapshot, same resources. The field
 * by field mapping is the table in {@code controller/README.md} ("xDS mapping"); the agent's
 * {@link io.jmesh.runtime.xds.XdsDecoder} is its inverse.
 */
public final class XdsTranslator {
  /** Fault percentages travel as parts per million: four decimals of a percent survive. */
  static final int PER_MILLION_PER_PERCENT = 10_000;

  static final ConfigSource ADS =
      ConfigSource.newBuilder()
          .setAds(AggregatedConfigSource.getDefaultInstance())
          .setResourceApiVersion(ApiVersion.V3)
          .build();

  private XdsTranslator() {}

  public static XdsResources translate(MeshSnapshot snapshot, String clusterDomain) {
    List<Listener> listeners = new ArrayList<>();
    List<RouteConfiguration> routes = new ArrayList<>();
    List<Cluster> clusters = new ArrayList<>();
    List<ClusterLoadAssignment> endpoints = new ArrayList<>();
    for (Service service : snapshot.services()) {
      String name = XdsNames.service(service.name(), service.namespace());
      for (int port : service.ports()) {
        listeners.add(listener(service, clusterDomain, port));
      }
      // Only a policy other than the default travels: an agent assumes the default for a service
      // without an inbound listener, so the default needs no resource, and removing a policy
      // removes its listener.
      if (!service.authorization().isDefault()) {
        listeners.add(inboundListener(service));
      }
      routes.add(routeConfiguration(name, service.routes()));
      clusters.add(cluster(name, service));
      endpoints.add(loadAssignment(name, service.endpoints()));
    }
    return new XdsResources(snapshot.version(), listeners, routes, clusters, endpoints);
  }

  // ---- Listener --------------------------------------------------------------------------------

  static Listener listener(Service service, String clusterDomain, int port) {
    HttpConnectionManager hcm =
        HttpConnectionManager.newBuilder()
            .setRds(
                Rds.newBuilder()
                    .setConfigSource(ADS)
                    .setRouteConfigName(XdsNames.service(service.name(), service.namespace())))
            .addHttpFilters(
                HttpFilter.newBuilder()
                    .setName(XdsNames.FAULT_FILTER)
                    .setTypedConfig(Any.pack(HTTPFault.getDefaultInstance())))
            .addHttpFilters(
                HttpFilter.newBuilder()
                    .setName(XdsNames.ROUTER_FILTER)
                    .setTypedConfig(Any.pack(Router.getDefaultInstance())))
            .build();
    return Listener.newBuilder()
        .setName(XdsNames.listener(service.name(), service.namespace(), clusterDomain, port))
        .setApiListener(ApiListener.newBuilder().setApiListener(Any.pack(hcm)))
        .build();
  }

  /**
   * Who may call the service's workloads, for the agents that serve it: an RBAC filter that
   * decides as the policy does (see {@link XdsAuthorization}) and, since RBAC keeps neither rule
   * order nor allow rules' names, the policy itself as {@code io.jmesh} metadata. No routes: the
   * inbound terminator forwards every admitted request to the application.
   */
  static Listener inboundListener(Service service) {
    AuthorizationPolicy policy = service.authorization();
    HttpConnectionManager hcm =
        HttpConnectionManager.newBuilder()
            .addHttpFilters(
                HttpFilter.newBuilder()
                    .setName(XdsNames.RBAC_FILTER)
                    .setTypedConfig(Any.pack(XdsAuthorization.filter(policy))))
            .addHttpFilters(
                HttpFilter.newBuilder()
                    .setName(XdsNames.ROUTER_FILTER)
                    .setTypedConfig(Any.pack(Router.getDefaultInstance())))
            .build();
    return Listener.newBuilder()
        .setName(XdsNames.inboundListener(service.name(), service.namespace()))
        .setApiListener(ApiListener.newBuilder().setApiListener(Any.pack(hcm)))
        .setMetadata(
            Metadata.newBuilder()
                .putFilterMetadata(
                    XdsNames.JMESH_METADATA,
                    Struct.newBuilder()
                        .putFields("authorization", authorization(policy))
                        .build()))
        .build();
  }

  static Value authorization(AuthorizationPolicy policy) {
    Map<String, Value> fields = new LinkedHashMap<>();
    fields.put("mode", string(policy.mode().name().toLowerCase(java.util.Locale.ROOT)));
    fields.put(
        "default",
        string(policy.fallback().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-')));
    com.google.protobuf.ListValue.Builder rules = com.google.protobuf.ListValue.newBuilder();
    for (AuthorizationPolicy.Rule rule : policy.rules()) {
      Map<String, Value> r = new LinkedHashMap<>();
      r.put("name", string(rule.name()));
      r.put("action", string(rule.allow() ? "allow" : "deny"));
      if (!rule.identities().isEmpty()) {
        r.put("identities", strings(rule.identities().stream().map(Object::toString).toList()));
      }
      if (!rule.namespaces().isEmpty()) {
        r.put("namespaces", strings(rule.namespaces()));
      }
      if (!rule.serviceAccounts().isEmpty()) {
        r.put("service_accounts", strings(rule.serviceAccounts()));
      }
      if (rule.pathPrefix() != null) {
        r.put("path_prefix", string(rule.pathPrefix()));
      }
      if (!rule.methods().isEmpty()) {
        r.put("methods", strings(rule.methods()));
      }
      rules.addValues(struct(r));
    }
    fields.put("rules", Value.newBuilder().setListValue(rules).build());
    return struct(fields);
  }

  private static Value string(String s) {
    return Value.newBuilder().setStringValue(s).build();
  }

  private static Value strings(List<String> values) {
    com.google.protobuf.ListValue.Builder list = com.google.protobuf.ListValue.newBuilder();
    values.forEach(v -> list.addValues(string(v)));
    return Value.newBuilder().setListValue(list).build();
  }

  // ---- RouteConfiguration ----------------------------------------------------------------------

  static RouteConfiguration routeConfiguration(String name, List<Route> routes) {
    VirtualHost.Builder host = VirtualHost.newBuilder().setName(name).addDomains("*");
    for (Route route : routes) {
      for (RouteMatch match : route.matches()) {
        host.addRoutes(route(name, route, match));
      }
    }
    host.addRoutes(defaultRoute(name));
    return RouteConfiguration.newBuilder().setName(name).addVirtualHosts(host).build();
  }

  /**
   * What the runtime does after the service's own routes: every endpoint, default policy. Sent so
   * that any xDS client (a proxyless gRPC one too) routes the same; the decoder drops it again.
   */
  static io.envoyproxy.envoy.config.route.v3.Route defaultRoute(String cluster) {
    return io.envoyproxy.envoy.config.route.v3.Route.newBuilder()
        .setName(XdsNames.DEFAULT_ROUTE)
        .setMatch(io.envoyproxy.envoy.config.route.v3.RouteMatch.newBuilder().setPrefix("/"))
        .setRoute(action(RouteAction.newBuilder().setCluster(cluster), RoutePolicy.DEFAULT))
        .setPerRequestBufferLimitBytes(
            UInt32Value.of(RoutePolicy.DEFAULT.retry().maxReplayBytes()))
        .build();
  }

  /** One xDS route per match: xDS routes have one match each, jmesh's a list. */
  static io.envoyproxy.envoy.config.route.v3.Route route(
      String cluster, Route route, RouteMatch match) {
    io.envoyproxy.envoy.config.route.v3.Route.Builder out =
        io.envoyproxy.envoy.config.route.v3.Route.newBuilder()
            .setName(route.name())
            .setMatch(match(match));
    WeightedCluster.Builder weighted = WeightedCluster.newBuilder();
    for (Backend backend : route.backends()) {
      WeightedCluster.ClusterWeight.Builder w =
          WeightedCluster.ClusterWeight.newBuilder()
              .setName(cluster)
              .setWeight(UInt32Value.of(backend.weight()));
      if (!backend.subset().isEmpty()) {
        w.setMetadataMatch(lbMetadata(backend.subset()));
      }
      weighted.addClusters(w);
    }
    RoutePolicy policy = route.policy();
    out.setRoute(action(RouteAction.newBuilder().setWeightedClusters(weighted), policy));
    out.setPerRequestBufferLimitBytes(UInt32Value.of(policy.retry().maxReplayBytes()));
    if (policy.retry().nonIdempotent()) {
      out.setMetadata(
          Metadata.newBuilder()
              .putFilterMetadata(
                  XdsNames.JMESH_METADATA,
                  Struct.newBuilder()
                      .putFields("retry_non_idempotent", Value.newBuilder().setBoolValue(true).build())
                      .build()));
    }
    if (!policy.fault().isNone()) {
      out.putTypedPerFilterConfig(XdsNames.FAULT_FILTER, Any.pack(fault(policy.fault())));
    }
    return out.build();
  }

  static io.envoyproxy.envoy.config.route.v3.RouteMatch match(RouteMatch match) {
    io.envoyproxy.envoy.config.route.v3.RouteMatch.Builder out =
        io.envoyproxy.envoy.config.route.v3.RouteMatch.newBuilder();
    PathMatch path = match.path();
    switch (path.type()) {
      case PREFIX -> out.setPrefix(path.value());
      case EXACT -> out.setPath(path.value());
      case REGEX -> out.setSafeRegex(RegexMatcher.newBuilder().setRegex(path.value()));
    }
    if (match.method() != null) {
      out.addHeaders(
          HeaderMatcher.newBuilder()
              .setName(":method")
              .setStringMatch(StringMatcher.newBuilder().setExact(match.method())));
    }
    for (HeaderMatch header : match.headers()) {
      StringMatcher.Builder value = StringMatcher.newBuilder();
      switch (header.type()) {
        case EXACT -> value.setExact(header.value());
        case REGEX -> value.setSafeRegex(RegexMatcher.newBuilder().setRegex(header.value()));
      }
      out.addHeaders(HeaderMatcher.newBuilder().setName(header.name()).setStringMatch(value));
    }
    return out.build();
  }

  private static RouteAction action(RouteAction.Builder action, RoutePolicy policy) {
    if (policy.timeout() != null) {
      action.setTimeout(duration(policy.timeout()));
    }
    RoutePolicy.Retry retry = policy.retry();
    List<String> on = new ArrayList<>();
    if (retry.onConnectFailure()) {
      on.add("connect-failure");
    }
    if (retry.onReset()) {
      on.add("reset");
    }
    if (!retry.onStatus().isEmpty()) {
      on.add("retriable-status-codes");
    }
    // Envoy's own gRPC conditions, which match a gRPC attempt's grpc-status.
    on.addAll(GrpcRetryConditions.names(retry.onGrpcStatus()));
    RetryPolicy.Builder retryPolicy =
        RetryPolicy.newBuilder()
            .setRetryOn(String.join(",", on))
            .setNumRetries(UInt32Value.of(retry.attempts() - 1))
            .addAllRetriableStatusCodes(new TreeSet<>(retry.onStatus()))
            .setRetryBackOff(
                RetryPolicy.RetryBackOff.newBuilder()
                    .setBaseInterval(duration(retry.backoffBase()))
                    .setMaxInterval(duration(retry.backoffMax())));
    if (retry.perTryTimeout() != null) {
      retryPolicy.setPerTryTimeout(duration(retry.perTryTimeout()));
    }
    return action.setRetryPolicy(retryPolicy).build();
  }

  static HTTPFault fault(RoutePolicy.Fault fault) {
    HTTPFault.Builder out = HTTPFault.newBuilder();
    if (fault.abortPercent() > 0) {
      out.setAbort(
          FaultAbort.newBuilder()
              .setHttpStatus(fault.abortStatus())
              .setPercentage(perMillion(fault.abortPercent())));
    }
    if (fault.delayPercent() > 0) {
      out.setDelay(
          FaultDelay.newBuilder()
              .setFixedDelay(duration(fault.delay()))
              .setPercentage(perMillion(fault.delayPercent())));
    }
    return out.build();
  }

  private static FractionalPercent perMillion(double percent) {
    return FractionalPercent.newBuilder()
        .setNumerator((int) Math.round(percent * PER_MILLION_PER_PERCENT))
        .setDenominator(FractionalPercent.DenominatorType.MILLION)
        .build();
  }

  // ---- Cluster ---------------------------------------------------------------------------------

  /**
   * Mesh TLS to a service's endpoints, in Istio's shape: the workload's own certificate and the
   * mesh's anchors by their SDS names, and the service's identities as exact URI SANs.
   */
  static io.envoyproxy.envoy.config.core.v3.TransportSocket meshTls(Service service) {
    var validation =
        io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext.newBuilder();
    for (var id : service.identities()) {
      validation.addMatchTypedSubjectAltNames(
          io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher.newBuilder()
              .setSanType(
                  io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher.SanType.URI)
              .setMatcher(
                  io.envoyproxy.envoy.type.matcher.v3.StringMatcher.newBuilder().setExact(id.toString())));
    }
    var common =
        io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext.newBuilder()
            .addTlsCertificateSdsSecretConfigs(
                io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig.newBuilder()
                    .setName(XdsNames.SDS_CERTIFICATE))
            .setCombinedValidationContext(
                io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
                    .setDefaultValidationContext(validation)
                    .setValidationContextSdsSecretConfig(
                        io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig.newBuilder()
                            .setName(XdsNames.SDS_TRUST)));
    return io.envoyproxy.envoy.config.core.v3.TransportSocket.newBuilder()
        .setName(XdsNames.TLS_TRANSPORT_SOCKET)
        .setTypedConfig(
            Any.pack(
                io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext.newBuilder()
                    .setCommonTlsContext(common)
                    .build()))
        .build();
  }

  static Cluster cluster(String name, Service service) {
    DestinationPolicy policy = service.policy();
    Cluster.Builder out =
        Cluster.newBuilder()
            .setName(name)
            .setType(Cluster.DiscoveryType.EDS)
            .setEdsClusterConfig(
                Cluster.EdsClusterConfig.newBuilder().setEdsConfig(ADS).setServiceName(name));
    switch (policy.balancer()) {
      case ROUND_ROBIN -> out.setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN);
      case LEAST_REQUEST -> out.setLbPolicy(Cluster.LbPolicy.LEAST_REQUEST);
      case RANDOM -> out.setLbPolicy(Cluster.LbPolicy.RANDOM);
      case PEAK_EWMA ->
          out.setLoadBalancingPolicy(
              LoadBalancingPolicy.newBuilder()
                  .addPolicies(
                      LoadBalancingPolicy.Policy.newBuilder()
                          .setTypedExtensionConfig(
                              TypedExtensionConfig.newBuilder()
                                  .setName(XdsNames.PEAK_EWMA_POLICY)
                                  .setTypedConfig(
                                      Any.pack(
                                          TypedStruct.newBuilder()
                                              .setTypeUrl(XdsNames.PEAK_EWMA_TYPE)
                                              .build())))));
    }
    if (service.meshTls()) {
      out.setTransportSocket(meshTls(service));
    }
    Set<List<String>> selectors = new java.util.LinkedHashSet<>();
    for (Route route : service.routes()) {
      for (Backend backend : route.backends()) {
        if (!backend.subset().isEmpty()) {
          selectors.add(List.copyOf(new TreeSet<>(backend.subset().keySet())));
        }
      }
    }
    if (!selectors.isEmpty()) {
      Cluster.LbSubsetConfig.Builder subsets =
          Cluster.LbSubsetConfig.newBuilder()
              .setFallbackPolicy(Cluster.LbSubsetConfig.LbSubsetFallbackPolicy.NO_FALLBACK);
      for (List<String> keys : selectors) {
        subsets.addSubsetSelectors(
            Cluster.LbSubsetConfig.LbSubsetSelector.newBuilder().addAllKeys(keys));
      }
      out.setLbSubsetConfig(subsets);
    }
    DestinationPolicy.FailureAccrual accrual = policy.failureAccrual();
    out.setOutlierDetection(
        OutlierDetection.newBuilder()
            .setConsecutive5Xx(UInt32Value.of(accrual.consecutiveFailures()))
            .setBaseEjectionTime(duration(accrual.minPenalty()))
            .setMaxEjectionTime(duration(accrual.maxPenalty()))
            .setMaxEjectionPercent(UInt32Value.of(policy.maxEjectionPercent()))
            // Envoy would also eject by success rate unless told not to; jmesh's runtime does not.
            .setEnforcingSuccessRate(UInt32Value.of(0)));
    if (policy.maxInFlight() > 0 || policy.maxPending() > 0) {
      CircuitBreakers.Thresholds.Builder thresholds = CircuitBreakers.Thresholds.newBuilder();
      if (policy.maxInFlight() > 0) {
        thresholds.setMaxRequests(UInt32Value.of(policy.maxInFlight()));
      }
      if (policy.maxPending() > 0) {
        thresholds.setMaxPendingRequests(UInt32Value.of(policy.maxPending()));
      }
      out.setCircuitBreakers(CircuitBreakers.newBuilder().addThresholds(thresholds));
    }
    Map<String, Value> jmesh = new LinkedHashMap<>();
    DestinationPolicy.RetryBudget budget = policy.retryBudget();
    jmesh.put(
        "retry_budget",
        struct(
            Map.of(
                "ratio", number(budget.ratio()),
                "min_per_second", number(budget.minPerSecond()),
                "ttl_ms", number(budget.ttl().toMillis()))));
    jmesh.put("ejection_jitter", number(accrual.jitter()));
    if (!policy.rateLimit().isNone()) {
      jmesh.put(
          "rate_limit",
          struct(
              Map.of(
                  "requests_per_second", number(policy.rateLimit().requestsPerSecond()),
                  "burst", number(policy.rateLimit().burst()))));
    }
    out.setMetadata(
        Metadata.newBuilder()
            .putFilterMetadata(XdsNames.JMESH_METADATA, Struct.newBuilder().putAllFields(jmesh).build()));
    return out.build();
  }

  // ---- ClusterLoadAssignment -------------------------------------------------------------------

  static ClusterLoadAssignment loadAssignment(String name, List<ServiceEndpoint> endpoints) {
    Map<Integer, LocalityLbEndpoints.Builder> byPriority = new TreeMap<>();
    for (ServiceEndpoint e : endpoints) {
      LbEndpoint.Builder lb =
          LbEndpoint.newBuilder()
              .setEndpoint(
                  Endpoint.newBuilder()
                      .setAddress(
                          Address.newBuilder()
                              .setSocketAddress(
                                  SocketAddress.newBuilder()
                                      .setAddress(e.host())
                                      .setPortValue(e.port()))))
              .setLoadBalancingWeight(UInt32Value.of(e.weight()));
      if (!e.labels().isEmpty()) {
        lb.setMetadata(lbMetadata(e.labels()));
      }
      byPriority
          .computeIfAbsent(
              e.priority(), p -> LocalityLbEndpoints.newBuilder().setPriority(p))
          .addLbEndpoints(lb);
    }
    ClusterLoadAssignment.Builder out =
        ClusterLoadAssignment.newBuilder()
            .setClusterName(name)
            .setPolicy(
                ClusterLoadAssignment.Policy.newBuilder()
                    .setOverprovisioningFactor(UInt32Value.of(XdsNames.OVERPROVISIONING_FACTOR)));
    byPriority.values().forEach(out::addEndpoints);
    return out.build();
  }

  // ---- helpers ---------------------------------------------------------------------------------

  private static Metadata lbMetadata(Map<String, String> labels) {
    Struct.Builder struct = Struct.newBuilder();
    new TreeMap<>(labels)
        .forEach((k, v) -> struct.putFields(k, Value.newBuilder().setStringValue(v).build()));
    return Metadata.newBuilder().putFilterMetadata(XdsNames.LB_METADATA, struct.build()).build();
  }

  private static Value struct(Map<String, Value> fields) {
    return Value.newBuilder()
        .setStructValue(Struct.newBuilder().putAllFields(new TreeMap<>(fields)))
        .build();
  }

  private static Value number(double value) {
    return Value.newBuilder().setNumberValue(value).build();
  }

  static com.google.protobuf.Duration duration(Duration d) {
    return com.google.protobuf.Duration.newBuilder()
        .setSeconds(d.getSeconds())
        .setNanos(d.getNano())
        .build();
  }
}
