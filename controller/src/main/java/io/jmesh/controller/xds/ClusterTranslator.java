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
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.jmesh.runtime.config.Backend;
import io.jmesh.runtime.config.DestinationPolicy;
import io.jmesh.runtime.config.Route;
import io.jmesh.runtime.config.Service;
import io.jmesh.runtime.xds.XdsNames;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The Cluster of one service, for {@link XdsTranslator}: EDS over ADS, the balancer, mesh TLS,
 * subset selectors of its routes' backends, outlier detection (failure accrual), circuit breakers,
 * and the jmesh-only settings (retry budget, ejection jitter, rate limit) as {@code io.jmesh}
 * metadata.
 *
 * <p>Pure functions; thread-safety: stateless.
 */
final class ClusterTranslator {
  private ClusterTranslator() {}

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
                Cluster.EdsClusterConfig.newBuilder().setEdsConfig(XdsValues.ADS).setServiceName(name));
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
            .setBaseEjectionTime(XdsValues.duration(accrual.minPenalty()))
            .setMaxEjectionTime(XdsValues.duration(accrual.maxPenalty()))
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
        XdsValues.struct(
            Map.of(
                "ratio", XdsValues.number(budget.ratio()),
                "min_per_second", XdsValues.number(budget.minPerSecond()),
                "ttl_ms", XdsValues.number(budget.ttl().toMillis()))));
    jmesh.put("ejection_jitter", XdsValues.number(accrual.jitter()));
    if (!policy.rateLimit().isNone()) {
      jmesh.put(
          "rate_limit",
          XdsValues.struct(
              Map.of(
                  "requests_per_second", XdsValues.number(policy.rateLimit().requestsPerSecond()),
                  "burst", XdsValues.number(policy.rateLimit().burst()))));
    }
    out.setMetadata(
        Metadata.newBuilder()
            .putFilterMetadata(XdsNames.JMESH_METADATA, Struct.newBuilder().putAllFields(jmesh).build()));
    return out.build();
  }
}
