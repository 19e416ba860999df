package io.jmesh.runtime.xds;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.jmesh.runtime.RuntimeLog;
import io.jmesh.runtime.config.DestinationPolicy;
import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.config.Route;
import io.jmesh.runtime.config.Service;
import io.jmesh.runtime.config.ServiceEndpoint;
import io.jmesh.runtime.inbound.AuthorizationPolicy;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The resources the xDS client holds, decoded, and the snapshot they make: what a response of
 * each type replaces, which names to subscribe to next, and which services are resolved. Knows
 * nothing of the stream. Not thread-safe: {@link XdsClient} calls it under its own lock.
 */
final class XdsResources {
  private final Map<String, XdsDecoder.ListenerInfo> listeners = new TreeMap<>();
  // Inbound listeners: who may call each service (qualified name) this agent may serve.
  private final Map<String, AuthorizationPolicy> inboundPolicies = new TreeMap<>();
  private final Map<String, List<Route>> routes = new HashMap<>();
  private final Map<String, XdsDecoder.ClusterInfo> clusters = new HashMap<>();
  private final Map<String, List<ServiceEndpoint>> endpoints = new HashMap<>();

  /** The names to subscribe to: RouteConfigurations, and Clusters and their assignments. */
  record Subscriptions(Set<String> routeNames, Set<String> services) {}

  /**
   * Decodes every resource of a response of {@code type}, by name; adds to {@code errors} the
   * message of each one that cannot be applied, so that the whole response is NACKed.
   */
  static Map<String, Object> decode(String type, List<Any> resources, List<String> errors) {
    Map<String, Object> decoded = new LinkedHashMap<>();
    for (Any any : resources) {
      try {
        decode(type, any, decoded);
      } catch (XdsResourceException e) {
        errors.add(e.getMessage());
      } catch (InvalidProtocolBufferException | RuntimeException e) {
        errors.add(type + ": cannot decode a resource: " + e.getMessage());
      }
    }
    if (errors.isEmpty() && type.equals(XdsNames.LISTENER_TYPE)) {
      errors.addAll(orphanInboundListeners(decoded));
    }
    return decoded;
  }

  /**
   * A policy for a service no outbound listener declares could apply to no snapshot service: the
   * controller and the agent disagree on the naming, and the agent's default might be weaker than
   * what was meant. Rejected rather than dropped, as security fails closed.
   */
  private static List<String> orphanInboundListeners(Map<String, Object> decoded) {
    Set<String> declared = new TreeSet<>();
    for (Object v : decoded.values()) {
      if (v instanceof XdsDecoder.ListenerInfo l) {
        declared.add(XdsNames.service(l.service(), l.namespace()));
      }
    }
    List<String> errors = new ArrayList<>();
    for (Map.Entry<String, Object> e : decoded.entrySet()) {
      if (e.getValue() instanceof AuthorizationPolicy p && !declared.contains(p.name())) {
        errors.add(
            "Listener " + e.getKey() + ": no listener declares service " + p.name()
                + " (expected: an inbound listener only for a service the response declares)");
      }
    }
    return errors;
  }

  private static void decode(String type, Any any, Map<String, Object> out)
      throws InvalidProtocolBufferException, XdsResourceException {
    switch (type) {
      case XdsNames.LISTENER_TYPE -> {
        Listener l = DecodingContext.unpackResource(any, Listener.class);
        // Inbound listeners say who may call a service; they never make it a destination.
        out.put(
            l.getName(),
            XdsNames.isInbound(l.getName()) ? XdsDecoder.inboundPolicy(l) : XdsDecoder.listener(l));
      }
      case XdsNames.ROUTE_TYPE -> {
        RouteConfiguration rc = DecodingContext.unpackResource(any, RouteConfiguration.class);
        out.put(rc.getName(), XdsDecoder.routes(rc));
      }
      case XdsNames.CLUSTER_TYPE -> {
        Cluster c = DecodingContext.unpackResource(any, Cluster.class);
        out.put(c.getName(), XdsDecoder.clusterInfo(c));
      }
      case XdsNames.ENDPOINT_TYPE -> {
        ClusterLoadAssignment cla = DecodingContext.unpackResource(any, ClusterLoadAssignment.class);
        out.put(cla.getClusterName(), XdsDecoder.endpoints(cla));
      }
      default -> throw new AssertionError(type);
    }
  }

  /**
   * State of the world: a Listener or Cluster response holds every resource, so what it lacks is
   * gone; a RouteConfiguration or ClusterLoadAssignment response holds the ones it names.
   */
  @SuppressWarnings("unchecked")
  void apply(String type, Map<String, Object> decoded) {
    switch (type) {
      case XdsNames.LISTENER_TYPE -> {
        listeners.clear();
        inboundPolicies.clear();
        decoded.forEach(
            (k, v) -> {
              if (v instanceof AuthorizationPolicy policy) {
                inboundPolicies.put(policy.name(), policy);
              } else {
                listeners.put(k, (XdsDecoder.ListenerInfo) v);
              }
            });
      }
      case XdsNames.ROUTE_TYPE -> decoded.forEach((k, v) -> routes.put(k, (List<Route>) v));
      case XdsNames.CLUSTER_TYPE -> {
        clusters.clear();
        decoded.forEach((k, v) -> clusters.put(k, (XdsDecoder.ClusterInfo) v));
      }
      case XdsNames.ENDPOINT_TYPE ->
          decoded.forEach(
              (k, v) -> {
                List<ServiceEndpoint> next = (List<ServiceEndpoint>) v;
                List<ServiceEndpoint> previous = endpoints.get(k);
                if (next.isEmpty() && previous != null && !previous.isEmpty()) {
                  // Fails safe: an empty list from discovery does not wipe endpoints that may
                  // still answer; the breaker ejects those that do not.
                  RuntimeLog.log(
                      Level.WARNING,
                      "xDS: " + k + " has no endpoints in the new version; keeping the "
                          + previous.size() + " it had");
                  return;
                }
                endpoints.put(k, next);
              });
      default -> throw new AssertionError(type);
    }
  }

  /** The inbound policies in force, by service qualified name. */
  Map<String, AuthorizationPolicy> inboundPolicies() {
    return Map.copyOf(inboundPolicies);
  }

  /** The services the outbound Listeners declare, qualified ({@code hello.default}). */
  Set<String> declaredServices() {
    Set<String> out = new TreeSet<>();
    for (XdsDecoder.ListenerInfo l : listeners.values()) {
      out.add(XdsNames.service(l.service(), l.namespace()));
    }
    return out;
  }

  /** The routes, cluster and endpoints to ask for: those of every watched service declared. */
  Subscriptions subscriptions(Set<String> watched) {
    Set<String> services = new TreeSet<>();
    Set<String> routeNames = new TreeSet<>();
    for (XdsDecoder.ListenerInfo l : listeners.values()) {
      String service = XdsNames.service(l.service(), l.namespace());
      if (watched.contains(service)) {
        services.add(service);
        routeNames.add(l.routeConfigName());
      }
    }
    return new Subscriptions(routeNames, services);
  }

  /**
   * The snapshot of what is held: a watched service whose routes, cluster and endpoints have all
   * arrived is resolved; every other declared service is listed unresolved.
   */
  MeshSnapshot snapshot(String version, Set<String> watched) {
    Map<String, Declared> declared = new LinkedHashMap<>();
    for (XdsDecoder.ListenerInfo l : listeners.values()) {
      declared
          .computeIfAbsent(
              XdsNames.service(l.service(), l.namespace()),
              k -> new Declared(l.service(), l.namespace(), l.routeConfigName()))
          .ports
          .add(l.port());
    }
    List<Service> resolved = new ArrayList<>();
    List<Service> unresolved = new ArrayList<>();
    for (Map.Entry<String, Declared> e : declared.entrySet()) {
      Declared d = e.getValue();
      String name = e.getKey();
      List<Route> serviceRoutes = routes.get(d.routeConfigName);
      XdsDecoder.ClusterInfo cluster = clusters.get(name);
      List<ServiceEndpoint> serviceEndpoints = endpoints.get(name);
      List<Integer> ports = List.copyOf(d.ports);
      AuthorizationPolicy authorization =
          inboundPolicies.getOrDefault(name, AuthorizationPolicy.allAuthenticated(name));
      if (watched.contains(name)
          && serviceRoutes != null
          && cluster != null
          && serviceEndpoints != null) {
        resolved.add(
            new Service(
                d.name, d.namespace, ports, serviceEndpoints, serviceRoutes, cluster.policy(),
                cluster.identities(), authorization));
      } else {
        // Unresolved services carry their policy too: the workload serving one need not call it.
        unresolved.add(
            new Service(
                d.name, d.namespace, ports, List.of(), List.of(), DestinationPolicy.DEFAULT,
                List.of(), authorization));
      }
    }
    return new MeshSnapshot(version, resolved, unresolved);
  }

  /** A service as the Listeners declare it. */
  private static final class Declared {
    final String name;
    final String namespace;
    final String routeConfigName;
    final Set<Integer> ports = new TreeSet<>();

    Declared(String name, String namespace, String routeConfigName) {
      this.name = name;
      this.namespace = namespace;
      this.routeConfigName = routeConfigName;
    }
  }
}
