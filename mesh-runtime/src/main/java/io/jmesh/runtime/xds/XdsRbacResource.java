package io.jmesh.runtime.xds;

import com.google.protobuf.Struct;
import com.google.protobuf.TextFormat;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.jmesh.runtime.config.MeshSyntax;
import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.inbound.AuthorizationPolicy;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Decodes an inbound Listener ({@code inbound|<service>.<namespace>}) into the service's
 * authorization policy, and checks that its RBAC filter says the same. Pure functions;
 * thread-safe.
 */
final class XdsRbacResource {
  private static final Pattern INBOUND_NAME =
      Pattern.compile(
          Pattern.quote(XdsNames.INBOUND_PREFIX)
              + "(" + MeshSyntax.DNS_LABEL_REGEX + ")\\.(" + MeshSyntax.DNS_LABEL_REGEX + ")");

  private XdsRbacResource() {}

  /**
   * The authorization policy of an inbound listener ({@code inbound|<service>.<namespace>}, see
   * {@link XdsNames}), named after its service. The policy is read from the listener's {@code
   * io.jmesh} metadata, which keeps rule order and names; the RBAC filter must be exactly what
   * {@link XdsAuthorization#filter} makes of it, so that an Envoy reading the filter and jmesh
   * reading the metadata decide alike. Any other field, principal kind or matcher is rejected.
   */
  static AuthorizationPolicy decode(Listener listener) throws XdsResourceException {
    DecodingContext c = new DecodingContext("Listener", listener.getName());
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

  private static AuthorizationPolicy authorization(DecodingContext c, Value value, String path, String name)
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
      if (!MeshSyntax.TOKEN.matcher(ruleName).matches() || !names.add(ruleName)) {
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
          throw c.error(rp + ".identities", id, MeshSyntax.SPIFFE_FORM);
        }
      }
      List<String> namespaces = c.strings(r, "namespaces", rp, "namespaces");
      for (String ns : namespaces) {
        if (!MeshSyntax.DNS_LABEL.matcher(ns).matches()) {
          throw c.error(rp + ".namespaces", ns, "a namespace: a DNS label");
        }
      }
      List<String> serviceAccounts = c.strings(r, "service_accounts", rp, "service account names");
      for (String sa : serviceAccounts) {
        if (!MeshSyntax.DNS_SUBDOMAIN.matcher(sa).matches()) {
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
        if (!MeshSyntax.METHOD.matcher(method).matches()) {
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
      DecodingContext c, io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC rbac, String path)
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
      DecodingContext c, io.envoyproxy.envoy.config.rbac.v3.Principal p, String path)
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
}
