package io.jmesh.runtime.xds;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.jmesh.runtime.config.MeshSyntax;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Decodes an outbound Listener: the service port it makes a mesh destination and the name of its
 * RouteConfiguration, fetched over ADS. Pure functions; thread-safe.
 */
final class XdsListenerResource {
  // <service>.<namespace>.svc.<cluster domain>:<port>: groups 1, 3 and 5.
  private static final Pattern LISTENER_NAME =
      Pattern.compile(
          "(" + MeshSyntax.DNS_LABEL_REGEX + ")\\.(" + MeshSyntax.DNS_LABEL_REGEX + ")\\.svc\\.[^:]+:([0-9]{1,5})");

  private XdsListenerResource() {}

  static XdsDecoder.ListenerInfo decode(Listener listener) throws XdsResourceException {
    DecodingContext c = new DecodingContext("Listener", listener.getName());
    c.only(listener, "", "name", "api_listener");
    var matcher = LISTENER_NAME.matcher(listener.getName());
    if (!matcher.matches()) {
      throw c.error("name", listener.getName(), "<service>.<namespace>.svc.<cluster domain>:<port>");
    }
    int port = Integer.parseInt(matcher.group(5));
    if (port < 1 || port > 65535) {
      throw c.error("name", listener.getName(), "a port in 1..65535");
    }
    if (!listener.hasApiListener()) {
      throw c.error("api_listener", "unset", "an api_listener with an HttpConnectionManager");
    }
    c.only(listener.getApiListener(), "api_listener", "api_listener");
    HttpConnectionManager hcm =
        c.unpack(
            listener.getApiListener().getApiListener(),
            HttpConnectionManager.class,
            "api_listener.api_listener");
    String at = "api_listener.api_listener";
    c.only(hcm, at, "rds", "http_filters");
    if (!hcm.hasRds()) {
      throw c.error(at + ".rds", "unset", "rds naming a RouteConfiguration over ADS");
    }
    c.only(hcm.getRds(), at + ".rds", "config_source", "route_config_name");
    c.ads(hcm.getRds().getConfigSource(), at + ".rds.config_source");
    String routeConfigName = hcm.getRds().getRouteConfigName();
    if (routeConfigName.isEmpty()) {
      throw c.error(at + ".rds.route_config_name", "\"\"", "the name of a RouteConfiguration");
    }
    List<HttpFilter> filters = hcm.getHttpFiltersList();
    for (int i = 0; i < filters.size(); i++) {
      HttpFilter filter = filters.get(i);
      String path = at + ".http_filters[" + i + "]";
      c.only(filter, path, "name", "typed_config");
      boolean last = i == filters.size() - 1;
      Any config = filter.getTypedConfig();
      if (last) {
        Router router = c.unpack(config, Router.class, path + ".typed_config");
        c.only(router, path + ".typed_config");
      } else {
        HTTPFault fault = c.unpack(config, HTTPFault.class, path + ".typed_config");
        // Faults are configured per route; the filter itself only enables them.
        c.only(fault, path + ".typed_config");
      }
    }
    if (filters.isEmpty()) {
      throw c.error(at + ".http_filters", "[]", "the router filter last, after an optional fault filter");
    }
    return new XdsDecoder.ListenerInfo(matcher.group(1), matcher.group(3), port, routeConfigName);
  }
}
