package io.jmesh.controller.xds;

import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.jmesh.runtime.config.ServiceEndpoint;
import io.jmesh.runtime.xds.XdsNames;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The ClusterLoadAssignment of one service, for {@link XdsTranslator}: its endpoints grouped by
 * priority, each with its weight and labels (as {@code envoy.lb} metadata, what subsets match).
 *
 * <p>Pure functions; thread-safety: stateless.
 */
final class LoadAssignmentTranslator {
  private LoadAssignmentTranslator() {}

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
        lb.setMetadata(XdsValues.lbMetadata(e.labels()));
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
}
