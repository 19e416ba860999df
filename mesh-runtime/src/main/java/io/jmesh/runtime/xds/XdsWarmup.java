package io.jmesh.runtime.xds;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
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
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;

import java.util.ArrayList;
import java.util.List;

/**
 * Decodes small made-up resources of each type and throws the result away, so that the generated
 * Envoy classes and the code {@link DecodingContext} runs are loaded before the controller's first
 * response needs them, on a thread that would otherwise wait. It builds no descriptors: decoding
 * needs none unless a resource is refused.
 * Measured on 2 busy cores (issue 20), loading them is most of the time from the stream's open to
 * the first response applied. Never throws; nothing it decodes reaches a snapshot.
 */
final class XdsWarmup {
  private XdsWarmup() {}

  private static final ConfigSource ADS =
      ConfigSource.newBuilder().setAds(AggregatedConfigSource.getDefaultInstance()).build();

  /**
   * What the first response needs: a Listener.
   *
   * @return the decoder's errors; none, or the warm-up stops short of the classes a real one needs
   */
  static List<String> listeners() {
    Listener listener =
        Listener.newBuilder()
            .setName("warmup.default.svc.cluster.local:80")
            .setApiListener(
                ApiListener.newBuilder()
                    .setApiListener(
                        any(
                            HttpConnectionManager.newBuilder()
                                .setRds(Rds.newBuilder().setConfigSource(ADS).setRouteConfigName("warmup"))
                                .addHttpFilters(
                                    HttpFilter.newBuilder()
                                        .setName(XdsNames.ROUTER_FILTER)
                                        .setTypedConfig(any(Router.getDefaultInstance())))
                                .build())))
            .build();
    List<String> errors = new ArrayList<>();
    try {
      // Through the wire format, as the stream delivers it: request and response codecs too.
      DiscoveryRequest.newBuilder()
          .setTypeUrl(XdsNames.LISTENER_TYPE)
          .setNode(Node.newBuilder().setId("warmup"))
          .build()
          .toByteArray();
      DiscoveryResponse response =
          DiscoveryResponse.parseFrom(
              DiscoveryResponse.newBuilder()
                  .setTypeUrl(XdsNames.LISTENER_TYPE)
                  .addResources(any(listener))
                  .build()
                  .toByteArray());
      XdsResources.decode(XdsNames.LISTENER_TYPE, response.getResourcesList(), errors);
    } catch (InvalidProtocolBufferException | RuntimeException | LinkageError e) {
      errors.add(e.toString());
    }
    return errors;
  }

  /**
   * What the first call to a service needs: its RouteConfiguration, Cluster and endpoints.
   *
   * @return the decoder's errors, as {@link #listeners}
   */
  static List<String> firstUse() {
    List<String> errors = new ArrayList<>();
    errors.addAll(decode(
        XdsNames.ROUTE_TYPE,
        RouteConfiguration.newBuilder()
            .setName("warmup")
            .addVirtualHosts(
                VirtualHost.newBuilder()
                    .setName("warmup")
                    .addDomains("*")
                    .addRoutes(
                        Route.newBuilder()
                            .setName("warmup")
                            .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                            .setRoute(RouteAction.newBuilder().setCluster("warmup"))))
            .build()));
    errors.addAll(decode(
        XdsNames.CLUSTER_TYPE,
        Cluster.newBuilder()
            .setName("warmup")
            .setType(Cluster.DiscoveryType.EDS)
            .setEdsClusterConfig(Cluster.EdsClusterConfig.newBuilder().setEdsConfig(ADS))
            .build()));
    errors.addAll(decode(
        XdsNames.ENDPOINT_TYPE,
        ClusterLoadAssignment.newBuilder()
            .setClusterName("warmup")
            .addEndpoints(
                LocalityLbEndpoints.newBuilder()
                    .addLbEndpoints(
                        LbEndpoint.newBuilder()
                            .setEndpoint(
                                Endpoint.newBuilder()
                                    .setAddress(
                                        Address.newBuilder()
                                            .setSocketAddress(
                                                SocketAddress.newBuilder()
                                                    .setAddress("127.0.0.1")
                                                    .setPortValue(80))))))
            .build()));
    return errors;
  }

  /**
   * {@code Any.pack} without its descriptors (see {@link DecodingContext#onlyAllowedSet}): the warm-up
   * must load what a real response needs, and that no longer builds them.
   */
  private static Any any(com.google.protobuf.Message message) {
    @SuppressWarnings("unchecked")
    Class<? extends com.google.protobuf.Message> type =
        (Class<? extends com.google.protobuf.Message>) message.getClass();
    return Any.newBuilder()
        .setTypeUrl("type.googleapis.com/" + DecodingContext.fullName(type))
        .setValue(message.toByteString())
        .build();
  }

  private static List<String> decode(String type, com.google.protobuf.Message resource) {
    List<String> errors = new ArrayList<>();
    try {
      XdsResources.decode(type, List.of(any(resource)), errors);
    } catch (RuntimeException | LinkageError e) {
      // Only a warm-up: the real response meets the same code and reports what is wrong.
      errors.add(e.toString());
    }
    return errors;
  }
}
