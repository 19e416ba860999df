package io.jmesh.controller.xds;

import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.listener.v3.ApiListener;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.jmesh.runtime.config.Service;
import io.jmesh.runtime.inbound.AuthorizationPolicy;
import io.jmesh.runtime.xds.XdsAuthorization;
import io.jmesh.runtime.xds.XdsNames;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Listeners of one service, for {@link XdsTranslator}: one per port (an {@code api_listener}
 * whose HTTP connection manager fetches the service's RouteConfiguration over ADS and runs the fault
 * and router filters), and the inbound one that carries the service's authorization policy.
 *
 * <p>Pure functions; thread-safety: stateless.
 */
final class ListenerTranslator {
  private ListenerTranslator() {}

  static Listener listener(Service service, String clusterDomain, int port) {
    HttpConnectionManager hcm =
        HttpConnectionManager.newBuilder()
            .setRds(
                Rds.newBuilder()
                    .setConfigSource(XdsValues.ADS)
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
      rules.addValues(XdsValues.struct(r));
    }
    fields.put("rules", Value.newBuilder().setListValue(rules).build());
    return XdsValues.struct(fields);
  }

  private static Value string(String s) {
    return Value.newBuilder().setStringValue(s).build();
  }

  private static Value strings(List<String> values) {
    com.google.protobuf.ListValue.Builder list = com.google.protobuf.ListValue.newBuilder();
    values.forEach(v -> list.addValues(string(v)));
    return Value.newBuilder().setListValue(list).build();
  }
}
