package io.jmesh.runtime.xds;

import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.jmesh.runtime.config.ServiceEndpoint;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Decodes a ClusterLoadAssignment into a service's endpoints, with their weights, labels and
 * priorities. Pure functions; thread-safe.
 */
final class XdsEndpointResource {
  private XdsEndpointResource() {}

  /**
   * The endpoints of a ClusterLoadAssignment, in order of priority. Endpoints whose health is
   * UNHEALTHY or DRAINING are left out, as Envoy leaves them out of load balancing.
   */
  static List<ServiceEndpoint> decode(ClusterLoadAssignment assignment)
      throws XdsResourceException {
    DecodingContext c = new DecodingContext("ClusterLoadAssignment", assignment.getClusterName());
    c.only(assignment, "", "cluster_name", "endpoints", "policy");
    if (assignment.hasPolicy()) {
      c.only(assignment.getPolicy(), "policy", "overprovisioning_factor");
      if (assignment.getPolicy().hasOverprovisioningFactor()
          && assignment.getPolicy().getOverprovisioningFactor().getValue() != XdsNames.OVERPROVISIONING_FACTOR) {
        throw c.error(
            "policy.overprovisioning_factor",
            assignment.getPolicy().getOverprovisioningFactor().getValue(),
            XdsNames.OVERPROVISIONING_FACTOR + " (jmesh's failover applies 1.4)");
      }
    }
    List<ServiceEndpoint> out = new ArrayList<>();
    for (int i = 0; i < assignment.getEndpointsCount(); i++) {
      LocalityLbEndpoints group = assignment.getEndpoints(i);
      String gp = "endpoints[" + i + "]";
      c.only(group, gp, "priority", "lb_endpoints");
      for (int j = 0; j < group.getLbEndpointsCount(); j++) {
        LbEndpoint lb = group.getLbEndpoints(j);
        String ep = gp + ".lb_endpoints[" + j + "]";
        c.only(lb, ep, "endpoint", "load_balancing_weight", "metadata", "health_status");
        HealthStatus health = lb.getHealthStatus();
        if (health == HealthStatus.UNHEALTHY || health == HealthStatus.DRAINING) {
          continue;
        }
        if (health != HealthStatus.UNKNOWN && health != HealthStatus.HEALTHY) {
          throw c.error(ep + ".health_status", health, "UNKNOWN, HEALTHY, UNHEALTHY or DRAINING");
        }
        c.only(lb.getEndpoint(), ep + ".endpoint", "address");
        c.only(lb.getEndpoint().getAddress(), ep + ".endpoint.address", "socket_address");
        SocketAddress address = lb.getEndpoint().getAddress().getSocketAddress();
        String ap = ep + ".endpoint.address.socket_address";
        c.only(address, ap, "address", "port_value");
        if (address.getAddress().isEmpty()) {
          throw c.error(ap + ".address", "\"\"", "an IP address or host name");
        }
        if (address.getPortValue() < 1 || address.getPortValue() > 65535) {
          throw c.error(ap + ".port_value", address.getPortValue(), "1..65535");
        }
        int weight = lb.hasLoadBalancingWeight() ? lb.getLoadBalancingWeight().getValue() : 1;
        if (weight < 1) {
          throw c.error(ep + ".load_balancing_weight", Integer.toUnsignedString(weight), "1..2^31-1");
        }
        Map<String, String> labels = lb.hasMetadata() ? c.labels(lb.getMetadata(), ep + ".metadata") : Map.of();
        out.add(new ServiceEndpoint(address.getAddress(), address.getPortValue(), weight, labels, group.getPriority()));
      }
    }
    return List.copyOf(out);
  }
}
