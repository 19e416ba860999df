package io.jmesh.controller.xds;

import io.jmesh.runtime.config.MeshSnapshot;

/**
 * Translates a mesh snapshot into xDS v3 resources of the proxyless-gRPC shape (Listener with an
 * {@code api_listener} → RouteConfiguration → Cluster → ClusterLoadAssignment), named as {@link
 * io.jmesh.runtime.xds.XdsNames} says. A pure function: same snapshot, same resources.
 */
public final class XdsTranslator {
  private XdsTranslator() {}

  public static XdsResources translate(MeshSnapshot snapshot, String clusterDomain) {
    throw new UnsupportedOperationException("TODO");
  }
}
