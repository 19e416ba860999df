package io.jmesh.controller;

import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.ApiListener;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.jmesh.controller.xds.XdsResources;
import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.config.Service;
import io.jmesh.runtime.config.ServiceEndpoint;
import io.jmesh.runtime.xds.XdsNames;
import java.util.ArrayList;
import java.util.List;

/**
 * Small xDS resources of the proxyless shape, made by hand from a snapshot's services and named as
 * {@link XdsNames} says, so that the server's tests do not depend on {@code XdsTranslator}: per
 * service a Listener per port (api_listener → RDS over ADS), a RouteConfiguration with one
 * catch-all route, an EDS Cluster and its ClusterLoadAssignment with the endpoints' weights.
 */
final class HandMadeXds {
  private static final ConfigSource ADS =
      ConfigSource.newBuilder().setAds(AggregatedConfigSource.getDefaultInstance()).build();

  private HandMadeXds() {}

  static XdsResources of(MeshSnapshot snapshot) {
    List<Listener> listeners = new ArrayList<>();
    List<RouteConfiguration> routes = new ArrayList<>();
    List<Cluster> clusters = new ArrayList<>();
    List<ClusterLoadAssignment> endpoints = new ArrayList<>();
    for (Service s : snapshot.services()) {
      String name = XdsNames.service(s.name(), s.namespace());
      List<String> domains = new ArrayList<>();
      for (int port : s.ports()) {
        String listenerName = XdsNames.listener(s.name(), s.namespace(), "cluster.local", port);
        domains.add(listenerName);
        HttpConnectionManager hcm =
            HttpConnectionManager.newBuilder()
                .setRds(Rds.newBuilder().setConfigSource(ADS).setRouteConfigName(name))
                .addHttpFilters(
                    HttpFilter.newBuilder()
                        .setName("envoy.filters.http.router")
                        .setTypedConfig(Any.pack(Router.getDefaultInstance())))
                .build();
        listeners.add(
            Listener.newBuilder()
                .setName(listenerName)
                .setApiListener(ApiListener.newBuilder().setApiListener(Any.pack(hcm)))
                .build());
      }
      routes.add(
          RouteConfiguration.newBuilder()
              .setName(name)
              .addVirtualHosts(
                  VirtualHost.newBuilder()
                      .setName(name)
                      .addAllDomains(domains)
                      .addRoutes(
                          Route.newBuilder()
                              .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                              .setRoute(RouteAction.newBuilder().setCluster(name))))
              .build());
      clusters.add(
          Cluster.newBuilder()
              .setName(name)
              .setType(Cluster.DiscoveryType.EDS)
              .setEdsClusterConfig(Cluster.EdsClusterConfig.newBuilder().setEdsConfig(ADS))
              .build());
      LocalityLbEndpoints.Builder locality = LocalityLbEndpoints.newBuilder();
      for (ServiceEndpoint e : s.endpoints()) {
        locality.addLbEndpoints(
            LbEndpoint.newBuilder()
                .setEndpoint(
                    io.envoyproxy.envoy.config.endpoint.v3.Endpoint.newBuilder()
                        .setAddress(
                            io.envoyproxy.envoy.config.core.v3.Address.newBuilder()
                                .setSocketAddress(
                                    SocketAddress.newBuilder()
                                        .setAddress(e.host())
                                        .setPortValue(e.port()))))
                .setLoadBalancingWeight(UInt32Value.of(e.weight())));
      }
      endpoints.add(
          ClusterLoadAssignment.newBuilder().setClusterName(name).addEndpoints(locality).build());
    }
    return new XdsResources(snapshot.version(), listeners, routes, clusters, endpoints);
  }
}
