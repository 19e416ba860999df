package io.jmesh.runtime.xds;

import com.github.xds.type.v3.TypedStruct;
import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Struct;
import com.google.protobuf.TextFormat;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.LoadBalancingPolicy;
import io.envoyproxy.envoy.config.cluster.v3.OutlierDetection;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.inbound.AuthorizationPolicy;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.core.v3.RoutingPriority;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.jmesh.runtime.config.Backend;
import io.jmesh.runtime.config.DestinationPolicy;
import io.jmesh.runtime.config.GrpcRetryConditions;
import io.jmesh.runtime.config.HeaderMatch;
import io.jmesh.runtime.config.PathMatch;
import io.jmesh.runtime.config.Route;
import io.jmesh.runtime.config.RouteMatch;
import io.jmesh.runtime.config.RoutePolicy;
import io.jmesh.runtime.config.ServiceEndpoint;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Turns the xDS resources jmesh's controller sends into the runtime's model, strictly: a field
 * the runtime does not implement is an error, never silently ignored (see the mapping table in
 * {@code controller/README.md}). Every error reads {@code <Type> <name>: <field path>: <value>
 * (expected: ...)}, which the client sends back as the NACK's detail. Pure functions;
 * thread-safe.
 */
public final class XdsDecoder {
  private static final Pattern LISTENER_NAME =
      Pattern.compile("([a-z0-9]([-a-z0-9]*[a-z0-9])?)\\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\\.svc\\.[^:]+:([0-9]{1,5})");
  // Envoy's retry_on conditions jmesh implements: its own three and Envoy's gRPC names.
  private static final Set<String> RETRY_ON = retryOn();

  private static Set<String> retryOn() {
    Set<String> s = new java.util.TreeSet<>(Set.of("connect-failure", "reset", "retriable-status-codes"));
    s.addAll(GrpcRetryConditions.CODES.keySet());
    return Set.copyOf(s);
  }
  private static final int MAX_VALUE_CHARS = 120;

  private XdsDecoder() {}

  /** What one Listener says: the service port it makes a mesh destination, and its routes. */
  public record ListenerInfo(String service, String namespace, int port, String routeConfigName) {}

  public static ListenerInfo listener(Listener listener) throws XdsResourceException {
    Context c = new Context("Listener", listener.getName());
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
    return new ListenerInfo(matcher.group(1), matcher.group(3), port, routeConfigName);
  }

  private static final Pattern INBOUND_NAME =
      Pattern.compile(Pattern.quote(XdsNames.INBOUND_PREFIX) + "([a-z0-9]([-a-z0-9]*[a-z0-9])?)\\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)");
  private static final Pattern RULE_NAME = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");
  private static final Pattern METHOD = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Z-]+");
  private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
  private static final Pattern DNS_SUBDOMAIN =
      Pattern.compile("(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");

  /**
   * The authorization policy of an inbound listener ({@code inbound|<service>.<namespace>}, see
   * {@link XdsNames}), named after its service. The policy is read from the listener's {@code
   * io.jmesh} metadata, which keeps rule order and names; the RBAC filter must be exactly what
   * {@link XdsAuthorization#filter} makes of it, so that an Envoy reading the filter and jmesh
   * reading the metadata decide alike. Any other field, principal kind or matcher is rejected.
   */
  public static AuthorizationPolicy inboundPolicy(Listener listener) throws XdsResourceException {
    Context c = new Context("Listener", listener.getName());
    c.only(listener, "", "name", "api_listener", "metadata");
    var matcher = INBOUND_NAME.matcher(listener.getName());
    if (!matcher.matches()) {
      throw c.error("name", listener.getName(), XdsNames.INBOUND_PREFIX + "<service>.<namespace>");
    }
    String qualifiedName = matcher.group(1) + "." + matcher.group(3);
    if (!listener.hasMetadata()) {
      throw c.error("metadata", "unset", "filter_metadata[io.jmesh].authorization: the policy");
    }
    Struct jmesh = c.jmeshMetadata(listener.getMetadata(), "metadata");
    String mp = "metadata.filter_metadata[io.jmesh]";
    for (String key : jmesh.getFieldsMap().keySet()) {
      if (!key.equals("authorization")) {
        throw c.error(mp + "." + key, jmesh.getFieldsMap().get(key), "only authorization");
      }
    }
    if (!jmesh.containsFields("authorization")) {
      throw c.error(mp + ".authorization", "unset", "the service's authorization policy");
    }
    AuthorizationPolicy policy =
        authorization(c, jmesh.getFieldsOrThrow("authorization"), mp + ".authorization", qualifiedName);

    if (!listener.hasApiListener()) {
      throw c.error("api_listener", "unset", "an api_listener with an HttpConnectionManager");
    }
    c.only(listener.getApiListener(), "api_listener", "api_listener");
    String at = "api_listener.api_listener";
    HttpConnectionManager hcm =
        c.unpack(listener.getApiListener().getApiListener(), HttpConnectionManager.class, at);
    c.only(hcm, at, "http_filters");
    List<HttpFilter> filters = hcm.getHttpFiltersList();
    if (filters.size() != 2
        || !filters.get(0).getName().equals(XdsNames.RBAC_FILTER)
        || !filters.get(1).getName().equals(XdsNames.ROUTER_FILTER)) {
      throw c.error(
          at + ".http_filters",
          filters.stream().map(HttpFilter::getName).toList(),
          "[" + XdsNames.RBAC_FILTER + ", " + XdsNames.ROUTER_FILTER + "]");
    }
    String rp = at + ".http_filters[1]";
    c.only(filters.get(1), rp, "name", "typed_config");
    c.only(c.unpack(filters.get(1).getTypedConfig(), Router.class, rp + ".typed_config"), rp + ".typed_config");
    String fp = at + ".http_filters[0]";
    c.only(filters.get(0), fp, "name", "typed_config");
    var rbac =
        c.unpack(
            filters.get(0).getTypedConfig(),
            io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.class,
            fp + ".typed_config");
    checkRbac(c, rbac, fp + ".typed_config");
    var expected = XdsAuthorization.filter(policy);
    if (!rbac.equals(expected)) {
      throw c.error(
          fp + ".typed_config",
          rbac,
          "the RBAC jmesh derives from " + mp + ".authorization, which disagrees: "
              + TextFormat.shortDebugString(expected));
    }
    return policy;
  }

  private static AuthorizationPolicy authorization(Context c, Value value, String path, String name)
      throws XdsResourceException {
    Map<String, Value> f = c.struct(value, path, Set.of("mode", "default", "rules"));
    AuthorizationPolicy.Mode mode =
        switch (c.string(f.get("mode"), path + ".mode", "enforce or audit")) {
          case "enforce" -> AuthorizationPolicy.Mode.ENFORCE;
          case "audit" -> AuthorizationPolicy.Mode.AUDIT;
          default -> throw c.error(path + ".mode", f.get("mode"), "enforce or audit");
        };
    String defaults = "all-authenticated, all or deny";
    AuthorizationPolicy.Default fallback =
        switch (c.string(f.get("default"), path + ".default", defaults)) {
          case "all-authenticated" -> AuthorizationPolicy.Default.ALL_AUTHENTICATED;
          case "all" -> AuthorizationPolicy.Default.ALL;
          case "deny" -> AuthorizationPolicy.Default.DENY;
          default -> throw c.error(path + ".default", f.get("default"), defaults);
        };
    List<AuthorizationPolicy.Rule> rules = new ArrayList<>();
    Set<String> names = new java.util.HashSet<>();
    List<Value> items = c.list(f.get("rules"), path + ".rules", "a list of rules");
    for (int i = 0; i < items.size(); i++) {
      String rp = path + ".rules[" + i + "]";
      Map<String, Value> r =
          c.struct(
              items.get(i),
              rp,
              Set.of("name", "action", "identities", "namespaces", "service_accounts", "path_prefix", "methods"));
      String ruleName = c.string(r.get("name"), rp + ".name", "a rule name");
      if (!RULE_NAME.matcher(ruleName).matches() || !names.add(ruleName)) {
        throw c.error(rp + ".name", ruleName, "a rule name (letters, digits, - . _) unique in the policy");
      }
      String action = c.string(r.get("action"), rp + ".action", "allow or deny");
      if (!action.equals("allow") && !action.equals("deny")) {
        throw c.error(rp + ".action", action, "allow or deny");
      }
      List<SpiffeId> identities = new ArrayList<>();
      for (String id : c.strings(r, "identities", rp, "SPIFFE ids")) {
        try {
          identities.add(SpiffeId.parse(id));
        } catch (IllegalArgumentException e) {
          throw c.error(rp + ".identities", id, "spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>");
        }
      }
      List<String> namespaces = c.strings(r, "namespaces", rp, "namespaces");
      for (String ns : namespaces) {
        if (!DNS_LABEL.matcher(ns).matches()) {
          throw c.error(rp + ".namespaces", ns, "a namespace: a DNS label");
        }
      }
      List<String> serviceAccounts = c.strings(r, "service_accounts", rp, "service account names");
      for (String sa : serviceAccounts) {
        if (!DNS_SUBDOMAIN.matcher(sa).matches()) {
          throw c.error(rp + ".service_accounts", sa, "a service account name: a DNS subdomain");
        }
      }
      if (identities.isEmpty() && namespaces.isEmpty() && serviceAccounts.isEmpty()) {
        throw c.error(rp, items.get(i), "at least one of identities, namespaces, service_accounts");
      }
      String pathPrefix = null;
      if (r.containsKey("path_prefix")) {
        pathPrefix = c.string(r.get("path_prefix"), rp + ".path_prefix", "a path starting with /");
        if (!pathPrefix.startsWith("/")) {
          throw c.error(rp + ".path_prefix", pathPrefix, "a path starting with /");
        }
      }
      List<String> methods = c.strings(r, "methods", rp, "upper-case HTTP methods or TCP");
      for (String method : methods) {
        if (!METHOD.matcher(method).matches()) {
          throw c.error(rp + ".methods", method, "an upper-case HTTP method, or TCP");
        }
      }
      rules.add(
          new AuthorizationPolicy.Rule(
              ruleName, action.equals("allow"), identities, namespaces, serviceAccounts, pathPrefix, methods));
    }
    return new AuthorizationPolicy(name, mode, fallback, rules);
  }

  /**
   * Walks the RBAC filter and rejects, with its path, any field, principal kind or matcher that
   * {@link XdsAuthorization} never makes; what remains is then compared with its encoding.
   */
  private static void checkRbac(
      Context c, io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC rbac, String path)
      throws XdsResourceException {
    c.only(rbac, path, "rules", "shadow_rules");
    if (rbac.hasRules() == rbac.hasShadowRules()) {
      throw c.error(path, rbac, "exactly one of rules (enforce) or shadow_rules (audit)");
    }
    String rp = path + (rbac.hasRules() ? ".rules" : ".shadow_rules");
    var rules = rbac.hasRules() ? rbac.getRules() : rbac.getShadowRules();
    c.only(rules, rp, "action", "policies");
    if (rules.getAction() != io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.DENY) {
      throw c.error(rp + ".action", rules.getAction(), "DENY (jmesh encodes what a policy denies)");
    }
    for (var e : new java.util.TreeMap<>(rules.getPoliciesMap()).entrySet()) {
      String pp = rp + ".policies[" + e.getKey() + "]";
      var policy = e.getValue();
      c.only(policy, pp, "permissions", "principals");
      for (int i = 0; i < policy.getPermissionsCount(); i++) {
        c.only(policy.getPermissions(i), pp + ".permissions[" + i + "]", "any");
      }
      for (int i = 0; i < policy.getPrincipalsCount(); i++) {
        principal(c, policy.getPrincipals(i), pp + ".principals[" + i + "]");
      }
    }
  }

  private static void principal(
      Context c, io.envoyproxy.envoy.config.rbac.v3.Principal p, String path)
      throws XdsResourceException {
    c.only(p, path, "and_ids", "or_ids", "not_id", "any", "authenticated", "header", "url_path");
    switch (p.getIdentifierCase()) {
      case AND_IDS, OR_IDS -> {
        var set = p.hasAndIds() ? p.getAndIds() : p.getOrIds();
        String sp = path + (p.hasAndIds() ? ".and_ids" : ".or_ids");
        c.only(set, sp, "ids");
        for (int i = 0; i < set.getIdsCount(); i++) {
          principal(c, set.getIds(i), sp + ".ids[" + i + "]");
        }
      }
      case NOT_ID -> principal(c, p.getNotId(), path + ".not_id");
      case AUTHENTICATED -> {
        c.only(p.getAuthenticated(), path + ".authenticated", "principal_name");
        var name = p.getAuthenticated().getPrincipalName();
        c.only(name, path + ".authenticated.principal_name", "exact", "safe_regex");
        if (name.hasSafeRegex()) {
          c.regex(name.getSafeRegex(), path + ".authenticated.principal_name.safe_regex");
        }
      }
      case HEADER -> {
        var h = p.getHeader();
        c.only(h, path + ".header", "name", "string_match");
        if (!h.getName().equals(":method")) {
          throw c.error(path + ".header.name", h.getName(), ":method (jmesh rules match no other header)");
        }
        c.only(h.getStringMatch(), path + ".header.string_match", "exact");
      }
      case URL_PATH -> {
        c.only(p.getUrlPath(), path + ".url_path", "path");
        c.only(p.getUrlPath().getPath(), path + ".url_path.path", "prefix");
      }
      default -> {} // any: nothing more to check
    }
  }

  /**
   * The routes of a RouteConfiguration named after its service (see {@link XdsNames}). Consecutive
   * xDS routes with one name and one action are one jmesh route with several matches; the
   * catch-all route the translator appends is the runtime's own default, so it is dropped.
   */
  public static List<Route> routes(RouteConfiguration routeConfiguration)
      throws XdsResourceException {
    Context c = new Context("RouteConfiguration", routeConfiguration.getName());
    c.only(routeConfiguration, "", "name", "virtual_hosts");
    if (routeConfiguration.getVirtualHostsCount() != 1) {
      throw c.error(
          "virtual_hosts",
          routeConfiguration.getVirtualHostsCount() + " virtual hosts",
          "exactly one: the listener already chose the service");
    }
    VirtualHost host = routeConfiguration.getVirtualHosts(0);
    c.only(host, "virtual_hosts[0]", "name", "domains", "routes");
    if (!host.getDomainsList().equals(List.of("*"))) {
      throw c.error("virtual_hosts[0].domains", host.getDomainsList(), "[\"*\"]");
    }
    List<io.envoyproxy.envoy.config.route.v3.Route> xdsRoutes = host.getRoutesList();
    if (!xdsRoutes.isEmpty() && isDefaultRoute(c, xdsRoutes.get(xdsRoutes.size() - 1))) {
      xdsRoutes = xdsRoutes.subList(0, xdsRoutes.size() - 1);
    }
    // name -> (action, matches), in order; a name that reappears later with another action is an
    // error (the jmesh model has one action per route).
    List<Route> out = new ArrayList<>();
    String previousName = null;
    Route previous = null;
    for (int i = 0; i < xdsRoutes.size(); i++) {
      io.envoyproxy.envoy.config.route.v3.Route xds = xdsRoutes.get(i);
      String path = "virtual_hosts[0].routes[" + i + "]";
      Route decoded = route(c, xds, path);
      if (previous != null && decoded.name().equals(previousName)) {
        if (!decoded.backends().equals(previous.backends())
            || !decoded.policy().equals(previous.policy())) {
          throw c.error(
              path + ".name",
              decoded.name(),
              "a new name, or the same backends and policy as the route before it of that name");
        }
        List<RouteMatch> matches = new ArrayList<>(previous.matches());
        matches.addAll(decoded.matches());
        previous = new Route(previous.name(), matches, previous.backends(), previous.policy());
        out.set(out.size() - 1, previous);
      } else {
        for (Route r : out) {
          if (r.name().equals(decoded.name())) {
            throw c.error(path + ".name", decoded.name(), "a name not used by an earlier route");
          }
        }
        out.add(decoded);
        previous = decoded;
        previousName = decoded.name();
      }
    }
    return List.copyOf(out);
  }

  private static boolean isDefaultRoute(Context c, io.envoyproxy.envoy.config.route.v3.Route route) {
    if (!route.getName().equals(XdsNames.DEFAULT_ROUTE)
        || !route.getMatch().getPrefix().equals("/")
        || route.getMatch().getHeadersCount() != 0
        || !route.getRoute().hasRetryPolicy()) {
      return false;
    }
    try {
      Route decoded = route(c, route, "");
      return decoded.backends().equals(List.of(Backend.all()))
          && decoded.policy().equals(RoutePolicy.DEFAULT);
    } catch (XdsResourceException e) {
      return false;
    }
  }

  private static Route route(
      Context c, io.envoyproxy.envoy.config.route.v3.Route xds, String path)
      throws XdsResourceException {
    c.only(
        xds,
        path,
        "name",
        "match",
        "route",
        "per_request_buffer_limit_bytes",
        "metadata",
        "typed_per_filter_config");
    if (xds.getName().isEmpty()) {
      throw c.error(path + ".name", "\"\"", "a route name");
    }
    RouteMatch match = match(c, xds.getMatch(), path + ".match");
    if (!xds.hasRoute()) {
      throw c.error(path + ".route", "unset", "a route action (redirects and direct responses are not supported)");
    }
    RouteAction action = xds.getRoute();
    String at = path + ".route";
    c.only(action, at, "cluster", "weighted_clusters", "timeout", "retry_policy");
    List<Backend> backends = new ArrayList<>();
    if (action.hasWeightedClusters()) {
      WeightedCluster weighted = action.getWeightedClusters();
      c.only(weighted, at + ".weighted_clusters", "clusters");
      for (int i = 0; i < weighted.getClustersCount(); i++) {
        WeightedCluster.ClusterWeight w = weighted.getClusters(i);
        String wp = at + ".weighted_clusters.clusters[" + i + "]";
        c.only(w, wp, "name", "weight", "metadata_match");
        c.sameService(wp + ".name", w.getName());
        Map<String, String> subset =
            w.hasMetadataMatch() ? c.labels(w.getMetadataMatch(), wp + ".metadata_match") : Map.of();
        if (!w.hasWeight()) {
          throw c.error(wp + ".weight", "unset", "a weight >= 0");
        }
        backends.add(new Backend(subset, w.getWeight().getValue()));
      }
      long sum = backends.stream().mapToLong(Backend::weight).sum();
      if (sum == 0) {
        throw c.error(at + ".weighted_clusters", "weights sum to 0", "at least one weight >= 1");
      }
    } else if (!action.getCluster().isEmpty()) {
      c.sameService(at + ".cluster", action.getCluster());
      backends.add(Backend.all());
    } else {
      throw c.error(at, "no cluster", "cluster or weighted_clusters");
    }
    Duration timeout = null;
    if (action.hasTimeout() && !isZero(action.getTimeout())) {
      timeout = c.duration(action.getTimeout(), at + ".timeout");
    }
    RoutePolicy.Retry retry = retry(c, action, at, xds);
    RoutePolicy.Fault fault = RoutePolicy.Fault.NONE;
    for (Map.Entry<String, Any> e : xds.getTypedPerFilterConfigMap().entrySet()) {
      String fp = path + ".typed_per_filter_config[" + e.getKey() + "]";
      if (!e.getKey().equals(XdsNames.FAULT_FILTER)) {
        throw c.error(fp, e.getKey(), "only " + XdsNames.FAULT_FILTER);
      }
      fault = fault(c, c.unpack(e.getValue(), HTTPFault.class, fp), fp);
    }
    return new Route(xds.getName(), List.of(match), backends, new RoutePolicy(timeout, retry, fault));
  }

  private static RouteMatch match(
      Context c, io.envoyproxy.envoy.config.route.v3.RouteMatch match, String path)
      throws XdsResourceException {
    c.only(match, path, "prefix", "path", "safe_regex", "headers");
    PathMatch pathMatch;
    switch (match.getPathSpecifierCase()) {
      case PREFIX -> {
        if (!match.getPrefix().startsWith("/")) {
          throw c.error(path + ".prefix", match.getPrefix(), "a path prefix starting with /");
        }
        pathMatch = PathMatch.prefix(match.getPrefix());
      }
      case PATH -> {
        if (!match.getPath().startsWith("/")) {
          throw c.error(path + ".path", match.getPath(), "a path starting with /");
        }
        pathMatch = PathMatch.exact(match.getPath());
      }
      case SAFE_REGEX -> pathMatch = PathMatch.regex(c.regex(match.getSafeRegex(), path + ".safe_regex"));
      default -> throw c.error(path, "no path specifier", "one of prefix, path, safe_regex");
    }
    String method = null;
    List<HeaderMatch> headers = new ArrayList<>();
    for (int i = 0; i < match.getHeadersCount(); i++) {
      HeaderMatcher h = match.getHeaders(i);
      String hp = path + ".headers[" + i + "]";
      c.only(h, hp, "name", "string_match");
      if (!h.hasStringMatch()) {
        throw c.error(hp, h, "string_match with exact or safe_regex");
      }
      StringMatcher s = h.getStringMatch();
      c.only(s, hp + ".string_match", "exact", "safe_regex");
      boolean exact = s.getMatchPatternCase() == StringMatcher.MatchPatternCase.EXACT;
      if (h.getName().equals(":method")) {
        if (!exact || method != null) {
          throw c.error(hp, h, "one :method header matched exactly");
        }
        method = s.getExact();
      } else if (h.getName().isEmpty() || h.getName().startsWith(":")) {
        throw c.error(hp + ".name", h.getName(), "a header name, or :method");
      } else if (exact) {
        headers.add(HeaderMatch.exact(h.getName(), s.getExact()));
      } else if (s.hasSafeRegex()) {
        headers.add(HeaderMatch.regex(h.getName(), c.regex(s.getSafeRegex(), hp + ".string_match.safe_regex")));
      } else {
        throw c.error(hp + ".string_match", s, "exact or safe_regex");
      }
    }
    return new RouteMatch(pathMatch, headers, method);
  }

  private static RoutePolicy.Retry retry(
      Context c, RouteAction action, String at, io.envoyproxy.envoy.config.route.v3.Route xds)
      throws XdsResourceException {
    RoutePolicy.Retry d = RoutePolicy.Retry.DEFAULT;
    int maxReplayBytes = d.maxReplayBytes();
    if (xds.hasPerRequestBufferLimitBytes()) {
      maxReplayBytes = xds.getPerRequestBufferLimitBytes().getValue();
    }
    boolean nonIdempotent = false;
    if (xds.hasMetadata()) {
      Struct jmesh = c.jmeshMetadata(xds.getMetadata(), "metadata");
      for (Map.Entry<String, Value> e : jmesh.getFieldsMap().entrySet()) {
        String mp = "metadata.filter_metadata[io.jmesh]." + e.getKey();
        if (!e.getKey().equals("retry_non_idempotent")
            || e.getValue().getKindCase() != Value.KindCase.BOOL_VALUE) {
          throw c.error(mp, e.getValue(), "retry_non_idempotent: true|false");
        }
        nonIdempotent = e.getValue().getBoolValue();
      }
    }
    if (!action.hasRetryPolicy()) {
      // No retry policy in xDS means no retries.
      return new RoutePolicy.Retry(
          1, null, false, false, Set.of(), nonIdempotent, d.backoffBase(), d.backoffMax(), maxReplayBytes);
    }
    RetryPolicy p = action.getRetryPolicy();
    String rp = at + ".retry_policy";
    c.only(p, rp, "retry_on", "num_retries", "retriable_status_codes", "per_try_timeout", "retry_back_off");
    Set<String> on = new LinkedHashSet<>();
    for (String condition : p.getRetryOn().split(",", -1)) {
      String trimmed = condition.trim();
      if (trimmed.isEmpty() && p.getRetryOn().isEmpty()) {
        continue;
      }
      if (!RETRY_ON.contains(trimmed)) {
        throw c.error(rp + ".retry_on", p.getRetryOn(), "a comma-separated subset of " + String.join(", ", new java.util.TreeSet<>(RETRY_ON)));
      }
      on.add(trimmed);
    }
    Set<Integer> statuses = new LinkedHashSet<>();
    for (int status : p.getRetriableStatusCodesList()) {
      if (status < 100 || status > 599) {
        throw c.error(rp + ".retriable_status_codes", status, "HTTP status codes in 100..599");
      }
      statuses.add(status);
    }
    if (!statuses.isEmpty() != on.contains("retriable-status-codes")) {
      throw c.error(
          rp + ".retriable_status_codes",
          statuses,
          "codes if and only if retry_on has retriable-status-codes");
    }
    int attempts = (p.hasNumRetries() ? p.getNumRetries().getValue() : 1) + 1;
    Duration perTry = null;
    if (p.hasPerTryTimeout() && !isZero(p.getPerTryTimeout())) {
      perTry = c.duration(p.getPerTryTimeout(), rp + ".per_try_timeout");
    }
    Duration base = d.backoffBase();
    Duration max = d.backoffMax();
    if (p.hasRetryBackOff()) {
      RetryPolicy.RetryBackOff b = p.getRetryBackOff();
      c.only(b, rp + ".retry_back_off", "base_interval", "max_interval");
      base = c.duration(b.getBaseInterval(), rp + ".retry_back_off.base_interval");
      // Envoy's default maximum is ten times the base.
      max = b.hasMaxInterval() ? c.duration(b.getMaxInterval(), rp + ".retry_back_off.max_interval") : base.multipliedBy(10);
      if (max.compareTo(base) < 0) {
        throw c.error(rp + ".retry_back_off.max_interval", max, ">= base_interval " + base);
      }
    }
    Set<Integer> grpc = new java.util.TreeSet<>();
    for (String condition : on) {
      Integer code = GrpcRetryConditions.CODES.get(condition);
      if (code != null) {
        grpc.add(code);
      }
    }
    return new RoutePolicy.Retry(
        attempts,
        perTry,
        on.contains("connect-failure"),
        on.contains("reset"),
        statuses,
        nonIdempotent,
        base,
        max,
        maxReplayBytes,
        grpc);
  }

  private static RoutePolicy.Fault fault(Context c, HTTPFault fault, String path)
      throws XdsResourceException {
    c.only(fault, path, "abort", "delay");
    double abortPercent = 0;
    int abortStatus = RoutePolicy.Fault.NONE.abortStatus();
    if (fault.hasAbort()) {
      var abort = fault.getAbort();
      c.only(abort, path + ".abort", "http_status", "percentage");
      if (abort.getHttpStatus() < 200 || abort.getHttpStatus() > 599) {
        throw c.error(path + ".abort.http_status", abort.getHttpStatus(), "an HTTP status in 200..599");
      }
      abortStatus = abort.getHttpStatus();
      abortPercent = c.percent(abort.getPercentage(), path + ".abort.percentage");
    }
    double delayPercent = 0;
    Duration delay = Duration.ZERO;
    if (fault.hasDelay()) {
      var d = fault.getDelay();
      c.only(d, path + ".delay", "fixed_delay", "percentage");
      if (!d.hasFixedDelay()) {
        throw c.error(path + ".delay", d, "fixed_delay (header-controlled delays are not supported)");
      }
      delay = c.duration(d.getFixedDelay(), path + ".delay.fixed_delay");
      delayPercent = c.percent(d.getPercentage(), path + ".delay.percentage");
    }
    return new RoutePolicy.Fault(abortPercent, abortStatus, delayPercent, delay);
  }

  /** What a Cluster gives a destination: its policy, and the identities its endpoints prove. */
  public record ClusterInfo(DestinationPolicy policy, List<SpiffeId> identities) {}

  public static ClusterInfo clusterInfo(Cluster cluster) throws XdsResourceException {
    return new ClusterInfo(cluster(cluster), identities(cluster));
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
    Context c = new Context("Cluster", cluster.getName());
    var socket = cluster.getTransportSocket();
    c.only(socket, "transport_socket", "name", "typed_config");
    if (!socket.getName().equals(XdsNames.TLS_TRANSPORT_SOCKET)) {
      throw c.error("transport_socket.name", socket.getName(), XdsNames.TLS_TRANSPORT_SOCKET);
    }
    UpstreamTlsContext tls;
    try {
      tls = socket.getTypedConfig().unpack(UpstreamTlsContext.class);
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
            "spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>");
      }
    }
    return List.copyOf(out);
  }

  public static DestinationPolicy cluster(Cluster cluster) throws XdsResourceException {
    Context c = new Context("Cluster", cluster.getName());
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

  private static DestinationPolicy.Balancer balancer(Context c, Cluster cluster)
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

  /**
   * The endpoints of a ClusterLoadAssignment, in order of priority. Endpoints whose health is
   * UNHEALTHY or DRAINING are left out, as Envoy leaves them out of load balancing.
   */
  public static List<ServiceEndpoint> endpoints(ClusterLoadAssignment assignment)
      throws XdsResourceException {
    Context c = new Context("ClusterLoadAssignment", assignment.getClusterName());
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

  private static boolean isZero(com.google.protobuf.Duration d) {
    return d.getSeconds() == 0 && d.getNanos() == 0;
  }

  /** Where an error is: the resource's type and name; builds messages and checks fields. */
  private static final class Context {
    private final String type;
    private final String name;

    Context(String type, String name) {
      this.type = type;
      this.name = name;
    }

    XdsResourceException error(String path, Object value, String expected) {
      String shown = value instanceof Message m ? TextFormat.shortDebugString(m) : String.valueOf(value);
      if (shown.isEmpty()) {
        shown = "{}";
      }
      if (shown.length() > MAX_VALUE_CHARS) {
        shown = shown.substring(0, MAX_VALUE_CHARS) + "...";
      }
      return new XdsResourceException(
          type + " " + name + ": " + (path.isEmpty() ? "" : path + ": ") + shown + " (expected: " + expected + ")");
    }

    /** Rejects any field of {@code message} that is set and not in {@code allowed}. */
    void only(Message message, String path, String... allowed) throws XdsResourceException {
      Set<String> ok = Set.of(allowed);
      for (Map.Entry<FieldDescriptor, Object> e : message.getAllFields().entrySet()) {
        String field = e.getKey().getName();
        if (!ok.contains(field)) {
          throw error(
              path.isEmpty() ? field : path + "." + field,
              e.getValue() instanceof Message m ? m : e.getValue(),
              "unset: jmesh does not implement " + field
                  + (allowed.length == 0 ? "" : "; it reads only " + String.join(", ", allowed)));
        }
      }
      if (!message.getUnknownFields().asMap().isEmpty()) {
        throw error(
            path.isEmpty() ? message.getDescriptorForType().getName() : path,
            "unknown field numbers " + message.getUnknownFields().asMap().keySet(),
            "only fields of " + message.getDescriptorForType().getFullName() + " jmesh knows");
      }
    }

    <T extends Message> T unpack(Any any, Class<T> type, String path) throws XdsResourceException {
      try {
        if (!any.is(type)) {
          throw error(path + ".type_url", any.getTypeUrl(), "type.googleapis.com/" + com.google.protobuf.Internal.getDefaultInstance(type).getDescriptorForType().getFullName());
        }
        return any.unpack(type);
      } catch (InvalidProtocolBufferException e) {
        throw error(path, "undecodable bytes: " + e.getMessage(), "a valid " + type.getSimpleName());
      }
    }

    void ads(ConfigSource source, String path) throws XdsResourceException {
      only(source, path, "ads", "resource_api_version");
      if (!source.hasAds()) {
        throw error(path, source, "ads {} (jmesh agents fetch everything on one ADS stream)");
      }
      only(source.getAds(), path + ".ads");
    }

    void sameService(String path, String cluster) throws XdsResourceException {
      if (!cluster.equals(name)) {
        throw error(path, cluster, "the service's own cluster " + name + " (route backends select subsets of it)");
      }
    }

    Map<String, String> labels(Metadata metadata, String path) throws XdsResourceException {
      only(metadata, path, "filter_metadata");
      Map<String, String> out = new LinkedHashMap<>();
      for (Map.Entry<String, Struct> e : metadata.getFilterMetadataMap().entrySet()) {
        if (!e.getKey().equals(XdsNames.LB_METADATA)) {
          throw error(path + ".filter_metadata[" + e.getKey() + "]", e.getValue(), "only " + XdsNames.LB_METADATA + " labels");
        }
        for (Map.Entry<String, Value> label : e.getValue().getFieldsMap().entrySet()) {
          if (label.getValue().getKindCase() != Value.KindCase.STRING_VALUE) {
            throw error(path + ".filter_metadata[envoy.lb]." + label.getKey(), label.getValue(), "a string label value");
          }
          out.put(label.getKey(), label.getValue().getStringValue());
        }
      }
      return out;
    }

    Struct jmeshMetadata(Metadata metadata, String path) throws XdsResourceException {
      only(metadata, path, "filter_metadata");
      for (Map.Entry<String, Struct> e : metadata.getFilterMetadataMap().entrySet()) {
        if (!e.getKey().equals(XdsNames.JMESH_METADATA)) {
          throw error(path + ".filter_metadata[" + e.getKey() + "]", e.getValue(), "only " + XdsNames.JMESH_METADATA);
        }
      }
      return metadata.getFilterMetadataOrDefault(XdsNames.JMESH_METADATA, Struct.getDefaultInstance());
    }

    Map<String, Value> struct(Value value, String path, Set<String> keys) throws XdsResourceException {
      if (value.getKindCase() != Value.KindCase.STRUCT_VALUE) {
        throw error(path, value, "a struct with " + String.join(", ", new java.util.TreeSet<>(keys)));
      }
      for (Map.Entry<String, Value> e : value.getStructValue().getFieldsMap().entrySet()) {
        if (!keys.contains(e.getKey())) {
          throw error(path + "." + e.getKey(), e.getValue(), "one of " + String.join(", ", new java.util.TreeSet<>(keys)));
        }
      }
      return value.getStructValue().getFieldsMap();
    }

    String string(Value value, String path, String expected) throws XdsResourceException {
      if (value == null) {
        throw error(path, "unset", expected);
      }
      if (value.getKindCase() != Value.KindCase.STRING_VALUE) {
        throw error(path, value, expected);
      }
      return value.getStringValue();
    }

    List<Value> list(Value value, String path, String expected) throws XdsResourceException {
      if (value == null) {
        throw error(path, "unset", expected);
      }
      if (value.getKindCase() != Value.KindCase.LIST_VALUE) {
        throw error(path, value, expected);
      }
      return value.getListValue().getValuesList();
    }

    /** The strings of an optional list field; present means non-empty, as the translator sends. */
    List<String> strings(Map<String, Value> fields, String key, String path, String what)
        throws XdsResourceException {
      if (!fields.containsKey(key)) {
        return List.of();
      }
      String expected = "a non-empty list of " + what;
      List<Value> items = list(fields.get(key), path + "." + key, expected);
      if (items.isEmpty()) {
        throw error(path + "." + key, "[]", expected);
      }
      List<String> out = new ArrayList<>();
      for (int i = 0; i < items.size(); i++) {
        out.add(string(items.get(i), path + "." + key + "[" + i + "]", expected));
      }
      return out;
    }

    double number(Value value, String path, double min, double max) throws XdsResourceException {
      if (value.getKindCase() != Value.KindCase.NUMBER_VALUE
          || !(value.getNumberValue() >= min && value.getNumberValue() <= max)) {
        throw error(path, value, "a number in " + min + ".." + max);
      }
      return value.getNumberValue();
    }

    long integer(Value value, String path, long min, long max) throws XdsResourceException {
      double n = number(value, path, min, max);
      if (n != Math.rint(n)) {
        throw error(path, value, "an integer in " + min + ".." + max);
      }
      return (long) n;
    }

    Duration duration(com.google.protobuf.Duration d, String path) throws XdsResourceException {
      if (d.getSeconds() < 0 || d.getNanos() < 0 || d.getNanos() > 999_999_999) {
        throw error(path, d, "a non-negative duration");
      }
      return Duration.ofSeconds(d.getSeconds(), d.getNanos());
    }

    double percent(FractionalPercent p, String path) throws XdsResourceException {
      only(p, path, "numerator", "denominator");
      int denominator =
          switch (p.getDenominator()) {
            case HUNDRED -> 100;
            case TEN_THOUSAND -> 10_000;
            case MILLION -> 1_000_000;
            default -> throw error(path + ".denominator", p.getDenominator(), "HUNDRED, TEN_THOUSAND or MILLION");
          };
      if (Integer.compareUnsigned(p.getNumerator(), denominator) > 0) {
        throw error(path, p, "numerator <= denominator");
      }
      return p.getNumerator() * 100.0 / denominator;
    }

    String regex(RegexMatcher matcher, String path) throws XdsResourceException {
      only(matcher, path, "regex");
      try {
        Pattern.compile(matcher.getRegex());
      } catch (PatternSyntaxException e) {
        throw error(path + ".regex", matcher.getRegex(), "a regular expression (" + e.getDescription() + ")");
      }
      return matcher.getRegex();
    }
  }
}
