package io.jmesh.runtime.xds;

import com.github.xds.type.v3.TypedStruct;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.LoadBalancingPolicy;
import io.envoyproxy.envoy.config.cluster.v3.OutlierDetection;
import io.envoyproxy.envoy.config.core.v3.RoutingPriority;
import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.jmesh.runtime.config.DestinationPolicy;
import io.jmesh.runtime.config.MeshSyntax;
import io.jmesh.runtime.identity.SpiffeId;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Decodes a Cluster into a destination's policy (balancer, outlier ejection, circuit breakers,
 * jmesh's retry budget and rate limit) and the identities its endpoints must prove. Pure
 * functions; thread-safe.
 */
final class XdsClusterResource {
  private XdsClusterResource() {}

  static XdsDecoder.ClusterInfo decode(Cluster cluster) throws XdsResourceException {
    return new XdsDecoder.ClusterInfo(policy(cluster), identities(cluster));
  }

  /**
   * The SPIFFE identities a Cluster's endpoints must prove, from its transport socket in Istio's
   * shape: {@code envoy.transport_sockets.tls} with an UpstreamTlsContext whose certificate and
   * trust come from the workload's own identity (SDS names {@code default} and {@code ROOTCA}) and
   * whose validation context lists URI SANs to match exactly. Empty without a transport socket
   * (plaintext).
   */
  static List<SpiffeId> identities(Cluster cluster) throws XdsResourceException {
    if (!cluster.hasTransportSocket()) {
      return List.of();
    }
    DecodingContext c = new DecodingContext("Cluster", cluster.getName());
    var socket = cluster.getTransportSocket();
    c.only(socket, "transport_socket", "name", "typed_config");
    if (!socket.getName().equals(XdsNames.TLS_TRANSPORT_SOCKET)) {
      throw c.error("transport_socket.name", socket.getName(), XdsNames.TLS_TRANSPORT_SOCKET);
    }
    UpstreamTlsContext tls;
    try {
      tls = DecodingContext.unpackResource(socket.getTypedConfig(), UpstreamTlsContext.class);
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw c.error("transport_socket.typed_config", socket.getTypedConfig().getTypeUrl(), "an UpstreamTlsContext");
    }
    String at = "transport_socket.typed_config";
    c.only(tls, at, "common_tls_context");
    var common = tls.getCommonTlsContext();
    at += ".common_tls_context";
    c.only(common, at, "tls_certificate_sds_secret_configs", "combined_validation_context");
    if (common.getTlsCertificateSdsSecretConfigsCount() != 1
        || !common.getTlsCertificateSdsSecretConfigs(0).getName().equals(XdsNames.SDS_CERTIFICATE)) {
      throw c.error(at + ".tls_certificate_sds_secret_configs", common.getTlsCertificateSdsSecretConfigsList(),
          "one entry named " + XdsNames.SDS_CERTIFICATE + " (the workload's own certificate)");
    }
    c.only(common.getTlsCertificateSdsSecretConfigs(0), at + ".tls_certificate_sds_secret_configs[0]", "name");
    var combined = common.getCombinedValidationContext();
    String cp = at + ".combined_validation_context";
    c.only(combined, cp, "default_validation_context", "validation_context_sds_secret_config");
    c.only(combined.getValidationContextSdsSecretConfig(), cp + ".validation_context_sds_secret_config", "name");
    if (!combined.getValidationContextSdsSecretConfig().getName().equals(XdsNames.SDS_TRUST)) {
      throw c.error(cp + ".validation_context_sds_secret_config.name",
          combined.getValidationContextSdsSecretConfig().getName(), XdsNames.SDS_TRUST + " (the mesh's trust anchors)");
    }
    var validation = combined.getDefaultValidationContext();
    String vp = cp + ".default_validation_context";
    c.only(validation, vp, "match_typed_subject_alt_names");
    if (validation.getMatchTypedSubjectAltNamesCount() == 0) {
      throw c.error(vp + ".match_typed_subject_alt_names", "[]", "at least one SPIFFE id of the destination");
    }
    List<SpiffeId> out = new ArrayList<>();
    for (int i = 0; i < validation.getMatchTypedSubjectAltNamesCount(); i++) {
      var m = validation.getMatchTypedSubjectAltNames(i);
      String mp = vp + ".match_typed_subject_alt_names[" + i + "]";
      c.only(m, mp, "san_type", "matcher");
      if (m.getSanType() != io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher.SanType.URI) {
        throw c.error(mp + ".san_type", m.getSanType(), "URI");
      }
      c.only(m.getMatcher(), mp + ".matcher", "exact");
      try {
        out.add(SpiffeId.parse(m.getMatcher().getExact()));
      } catch (IllegalArgumentException e) {
        throw c.error(mp + ".matcher.exact", m.getMatcher().getExact(),
            MeshSyntax.SPIFFE_FORM);
      }
    }
    return List.copyOf(out);
  }

  /** The destination policy a Cluster sets; its transport socket is left to {@link #identities}. */
  static DestinationPolicy policy(Cluster cluster) throws XdsResourceException {
    DecodingContext c = new DecodingContext("Cluster", cluster.getName());
    c.only(
        cluster,
        "",
        "name",
        "type",
        "eds_cluster_config",
        "lb_policy",
        "load_balancing_policy",
        "lb_subset_config",
        "outlier_detection",
        "circuit_breakers",
        "metadata",
        "transport_socket"); // checked by identities()
    if (cluster.getType() != Cluster.DiscoveryType.EDS) {
      throw c.error("type", cluster.getType(), "EDS");
    }
    c.only(cluster.getEdsClusterConfig(), "eds_cluster_config", "eds_config", "service_name");
    c.ads(cluster.getEdsClusterConfig().getEdsConfig(), "eds_cluster_config.eds_config");
    String serviceName = cluster.getEdsClusterConfig().getServiceName();
    if (!serviceName.isEmpty() && !serviceName.equals(cluster.getName())) {
      throw c.error("eds_cluster_config.service_name", serviceName, "empty or the cluster's own name " + cluster.getName());
    }
    DestinationPolicy d = DestinationPolicy.DEFAULT;
    DestinationPolicy.Balancer balancer = balancer(c, cluster);

    if (cluster.hasLbSubsetConfig()) {
      Cluster.LbSubsetConfig subsets = cluster.getLbSubsetConfig();
      c.only(subsets, "lb_subset_config", "fallback_policy", "subset_selectors");
      // fallback_policy is NO_FALLBACK when unset, the only one jmesh implements: a backend whose
      // subset has no endpoint fails its calls rather than spilling onto other versions.
      for (int i = 0; i < subsets.getSubsetSelectorsCount(); i++) {
        var selector = subsets.getSubsetSelectors(i);
        String sp = "lb_subset_config.subset_selectors[" + i + "]";
        c.only(selector, sp, "keys");
        if (selector.getKeysCount() == 0) {
          throw c.error(sp + ".keys", "[]", "at least one label key");
        }
      }
    }

    DestinationPolicy.FailureAccrual accrual = d.failureAccrual();
    int maxEjectionPercent = d.maxEjectionPercent();
    double jitter = accrual.jitter();
    if (cluster.hasOutlierDetection()) {
      OutlierDetection od = cluster.getOutlierDetection();
      String op = "outlier_detection";
      c.only(
          od,
          op,
          "consecutive_5xx",
          "base_ejection_time",
          "max_ejection_time",
          "max_ejection_percent",
          "enforcing_success_rate");
      if (od.hasEnforcingSuccessRate() && od.getEnforcingSuccessRate().getValue() != 0) {
        throw c.error(op + ".enforcing_success_rate", od.getEnforcingSuccessRate().getValue(), "0: success-rate ejection is not applied from xDS");
      }
      if (!od.hasEnforcingSuccessRate()) {
        throw c.error(op + ".enforcing_success_rate", "unset (Envoy's default 100)", "0: success-rate ejection is not applied from xDS");
      }
      // Envoy's defaults where a field is unset.
      int consecutive = od.hasConsecutive5Xx() ? od.getConsecutive5Xx().getValue() : 5;
      if (consecutive < 1) {
        throw c.error(op + ".consecutive_5xx", consecutive, ">= 1");
      }
      Duration min = od.hasBaseEjectionTime() ? c.duration(od.getBaseEjectionTime(), op + ".base_ejection_time") : Duration.ofSeconds(30);
      Duration max = od.hasMaxEjectionTime() ? c.duration(od.getMaxEjectionTime(), op + ".max_ejection_time") : Duration.ofSeconds(300);
      if (min.isZero() || max.compareTo(min) < 0) {
        throw c.error(op + ".max_ejection_time", max, "> 0 and >= base_ejection_time " + min);
      }
      maxEjectionPercent = od.hasMaxEjectionPercent() ? od.getMaxEjectionPercent().getValue() : 10;
      if (maxEjectionPercent > 100) {
        throw c.error(op + ".max_ejection_percent", maxEjectionPercent, "0..100");
      }
      accrual = new DestinationPolicy.FailureAccrual(consecutive, min, max, jitter);
    }

    int maxInFlight = 0;
    int maxPending = 0;
    if (cluster.hasCircuitBreakers()) {
      CircuitBreakers cb = cluster.getCircuitBreakers();
      c.only(cb, "circuit_breakers", "thresholds");
      if (cb.getThresholdsCount() > 1) {
        throw c.error("circuit_breakers.thresholds", cb.getThresholdsCount() + " thresholds", "one, for priority DEFAULT");
      }
      if (cb.getThresholdsCount() == 1) {
        CircuitBreakers.Thresholds t = cb.getThresholds(0);
        String tp = "circuit_breakers.thresholds[0]";
        c.only(t, tp, "priority", "max_requests", "max_pending_requests");
        if (t.getPriority() != RoutingPriority.DEFAULT) {
          throw c.error(tp + ".priority", t.getPriority(), "DEFAULT");
        }
        maxInFlight = t.hasMaxRequests() ? t.getMaxRequests().getValue() : 0;
        maxPending = t.hasMaxPendingRequests() ? t.getMaxPendingRequests().getValue() : 0;
        if (maxInFlight < 0 || maxPending < 0) {
          throw c.error(tp, t, "max_requests and max_pending_requests below 2^31");
        }
      }
    }

    DestinationPolicy.RetryBudget budget = d.retryBudget();
    DestinationPolicy.RateLimit rateLimit = DestinationPolicy.RateLimit.NONE;
    if (cluster.hasMetadata()) {
      Struct jmesh = c.jmeshMetadata(cluster.getMetadata(), "metadata");
      String mp = "metadata.filter_metadata[io.jmesh]";
      for (Map.Entry<String, Value> e : jmesh.getFieldsMap().entrySet()) {
        String kp = mp + "." + e.getKey();
        switch (e.getKey()) {
          case "retry_budget" -> {
            Map<String, Value> f = c.struct(e.getValue(), kp, Set.of("ratio", "min_per_second", "ttl_ms"));
            double ratio = f.containsKey("ratio") ? c.number(f.get("ratio"), kp + ".ratio", 0, 1000) : budget.ratio();
            int min = f.containsKey("min_per_second") ? (int) c.integer(f.get("min_per_second"), kp + ".min_per_second", 0, 1_000_000) : budget.minPerSecond();
            Duration ttl = f.containsKey("ttl_ms") ? Duration.ofMillis(c.integer(f.get("ttl_ms"), kp + ".ttl_ms", 1000, 60_000)) : budget.ttl();
            budget = new DestinationPolicy.RetryBudget(ratio, min, ttl);
          }
          case "ejection_jitter" -> jitter = c.number(e.getValue(), kp, 0, 1);
          case "rate_limit" -> {
            Map<String, Value> f = c.struct(e.getValue(), kp, Set.of("requests_per_second", "burst"));
            if (!f.containsKey("requests_per_second")) {
              throw c.error(kp + ".requests_per_second", "unset", "an integer >= 1");
            }
            int rps = (int) c.integer(f.get("requests_per_second"), kp + ".requests_per_second", 1, 1_000_000_000);
            int burst = f.containsKey("burst") ? (int) c.integer(f.get("burst"), kp + ".burst", 0, 1_000_000_000) : rps;
            rateLimit = new DestinationPolicy.RateLimit(rps, burst);
          }
          default -> throw c.error(kp, e.getValue(), "one of retry_budget, ejection_jitter, rate_limit");
        }
      }
      accrual = new DestinationPolicy.FailureAccrual(accrual.consecutiveFailures(), accrual.minPenalty(), accrual.maxPenalty(), jitter);
    }
    try {
      return new DestinationPolicy(balancer, budget, accrual, maxEjectionPercent, maxInFlight, maxPending, rateLimit);
    } catch (IllegalArgumentException e) {
      throw c.error("", e.getMessage(), "a valid destination policy");
    }
  }

  private static DestinationPolicy.Balancer balancer(DecodingContext c, Cluster cluster)
      throws XdsResourceException {
    DestinationPolicy.Balancer byEnum =
        switch (cluster.getLbPolicy()) {
          case ROUND_ROBIN -> DestinationPolicy.Balancer.ROUND_ROBIN;
          case LEAST_REQUEST -> DestinationPolicy.Balancer.LEAST_REQUEST;
          case RANDOM -> DestinationPolicy.Balancer.RANDOM;
          default ->
              throw c.error(
                  "lb_policy",
                  cluster.getLbPolicy(),
                  "ROUND_ROBIN, LEAST_REQUEST or RANDOM, or load_balancing_policy "
                      + XdsNames.PEAK_EWMA_POLICY);
        };
    if (!cluster.hasLoadBalancingPolicy()) {
      return byEnum;
    }
    String at = "load_balancing_policy";
    if (cluster.getLbPolicy() != Cluster.LbPolicy.ROUND_ROBIN) {
      throw c.error("lb_policy", cluster.getLbPolicy(), "unset when load_balancing_policy is set");
    }
    LoadBalancingPolicy policy = cluster.getLoadBalancingPolicy();
    c.only(policy, at, "policies");
    if (policy.getPoliciesCount() != 1) {
      throw c.error(at + ".policies", policy.getPoliciesCount() + " policies", "one: " + XdsNames.PEAK_EWMA_POLICY);
    }
    c.only(policy.getPolicies(0), at + ".policies[0]", "typed_extension_config");
    TypedExtensionConfig config = policy.getPolicies(0).getTypedExtensionConfig();
    String cp = at + ".policies[0].typed_extension_config";
    c.only(config, cp, "name", "typed_config");
    TypedStruct struct = c.unpack(config.getTypedConfig(), TypedStruct.class, cp + ".typed_config");
    if (!struct.getTypeUrl().equals(XdsNames.PEAK_EWMA_TYPE)) {
      throw c.error(cp + ".typed_config.type_url", struct.getTypeUrl(), XdsNames.PEAK_EWMA_TYPE);
    }
    if (struct.getValue().getFieldsCount() != 0) {
      throw c.error(cp + ".typed_config.value", struct.getValue(), "{} (peak EWMA takes no settings from xDS yet)");
    }
    return DestinationPolicy.Balancer.PEAK_EWMA;
  }
}
