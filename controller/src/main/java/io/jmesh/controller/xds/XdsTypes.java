package io.jmesh.controller.xds;

import io.jmesh.runtime.xds.XdsNames;
import java.util.List;

/** Short names of the xDS resource types, for metric tags, logs and the admin API. */
final class XdsTypes {
  static final String SECRET_TYPE =
      "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";

  /** The types jmesh serves, in the order a client needs them (LDS, RDS, CDS, EDS). */
  static final List<String> SERVED =
      List.of(
          XdsNames.LISTENER_TYPE,
          XdsNames.ROUTE_TYPE,
          XdsNames.CLUSTER_TYPE,
          XdsNames.ENDPOINT_TYPE);

  private XdsTypes() {}

  /**
   * {@code listener}, {@code route}, {@code cluster}, {@code endpoint} or {@code secret}; any
   * other type URL is returned as is.
   */
  static String shortName(String typeUrl) {
    switch (typeUrl) {
      case XdsNames.LISTENER_TYPE:
        return "listener";
      case XdsNames.ROUTE_TYPE:
        return "route";
      case XdsNames.CLUSTER_TYPE:
        return "cluster";
      case XdsNames.ENDPOINT_TYPE:
        return "endpoint";
      case SECRET_TYPE:
        return "secret";
      default:
        return typeUrl;
    }
  }

  /** The log name of a type: {@code Listener}, {@code RouteConfiguration}, and so on. */
  static String resourceName(String typeUrl) {
    int dot = typeUrl.lastIndexOf('.');
    return dot < 0 ? typeUrl : typeUrl.substring(dot + 1);
  }

  /** Position of a type in {@link #SERVED}; other types sort after, by URL. */
  static int order(String typeUrl) {
    int i = SERVED.indexOf(typeUrl);
    return i < 0 ? SERVED.size() : i;
  }
}
