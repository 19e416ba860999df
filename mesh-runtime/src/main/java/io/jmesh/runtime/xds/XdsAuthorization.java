package io.jmesh.runtime.xds;

import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.type.matcher.v3.PathMatcher;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.inbound.AuthorizationPolicy;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * An {@link AuthorizationPolicy} as an Envoy RBAC HTTP filter that decides exactly as the policy
 * does. The controller's translator sends it; the agent's decoder reads the policy from the
 * listener's {@code io.jmesh} metadata (which keeps rule order and names) and requires the filter
 * to equal this encoding of it, so the two can never disagree. Pure functions; thread-safe.
 *
 * <p>Why one DENY filter with everything in principals: jmesh rules are ordered, first match wins,
 * mixed allow and deny, then a default; Envoy RBAC has one action per filter and unordered
 * policies. A request is denied exactly when some deny rule matches and no earlier allow rule
 * does, or when no rule matches and the default denies it. Each such case becomes one policy of a
 * DENY filter. "No earlier allow rule matched" negates a conjunction of caller and request
 * conditions, which Envoy can only express inside one principal ({@code not_id} of an {@code
 * and_ids}; principals may test the path and headers too), so every condition lives in the
 * principals and every permission is {@code any}. Audit mode puts the same rules in {@code
 * shadow_rules} (evaluated and reported, not enforced).
 *
 * <ul>
 *   <li>a rule's callers: {@code authenticated.principal_name} exact for an identity, {@code
 *       safe_regex} {@code ^spiffe://[^/]+/ns/<ns>/sa/[^/]+$} for a namespace and {@code
 *       ^spiffe://[^/]+/ns/[^/]+/sa/<sa>$} for a service account, or-ed;
 *   <li>its requests: {@code url_path} prefix and {@code header :method} exact (or-ed methods);
 *       the inbound terminator presents an opaque TCP connection as method {@code TCP};
 *   <li>deny rule {@code r}: policy {@code r}; the default: policy {@code default:deny} (no allow
 *       rule matched) or {@code default:all-authenticated} (the caller is not authenticated, and
 *       so matches no rule either); {@code default: all} needs no policy.
 * </ul>
 */
public final class XdsAuthorization {
  private XdsAuthorization() {}

  /** The RBAC filter config that decides as {@code policy} does. */
  public static io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC filter(
      AuthorizationPolicy policy) {
    RBAC.Builder rules = RBAC.newBuilder().setAction(RBAC.Action.DENY);
    List<Principal> earlierAllows = new ArrayList<>();
    for (AuthorizationPolicy.Rule rule : policy.rules()) {
      Principal matches = matches(rule);
      if (rule.allow()) {
        earlierAllows.add(matches);
        continue;
      }
      Principal denied =
          earlierAllows.isEmpty()
              ? matches
              : and(List.of(matches, not(or(earlierAllows))));
      rules.putPolicies(rule.name(), policy(denied));
    }
    switch (policy.fallback()) {
      case ALL -> {}
      case ALL_AUTHENTICATED ->
          rules.putPolicies(
              defaultPolicyName(policy.fallback()),
              policy(not(Principal.newBuilder().setAuthenticated(Principal.Authenticated.getDefaultInstance()).build())));
      case DENY ->
          rules.putPolicies(
              defaultPolicyName(policy.fallback()),
              policy(
                  earlierAllows.isEmpty()
                      ? Principal.newBuilder().setAny(true).build()
                      : not(or(earlierAllows))));
    }
    var filter = io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.newBuilder();
    if (policy.mode() == AuthorizationPolicy.Mode.AUDIT) {
      filter.setShadowRules(rules);
    } else {
      filter.setRules(rules);
    }
    return filter.build();
  }

  /** {@code default:all-authenticated}, as {@link AuthorizationPolicy#decide} names it too. */
  static String defaultPolicyName(AuthorizationPolicy.Default fallback) {
    return "default:" + fallback.name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /** The regex of callers in namespace {@code namespace}. */
  public static String namespaceRegex(String namespace) {
    return "^spiffe://[^/]+/ns/" + escape(namespace) + "/sa/[^/]+$";
  }

  /** The regex of callers with service account {@code serviceAccount}. */
  public static String serviceAccountRegex(String serviceAccount) {
    return "^spiffe://[^/]+/ns/[^/]+/sa/" + escape(serviceAccount) + "$";
  }

  private static Principal matches(AuthorizationPolicy.Rule rule) {
    List<Principal> callers = new ArrayList<>();
    for (SpiffeId id : rule.identities()) {
      callers.add(authenticated(StringMatcher.newBuilder().setExact(id.toString()).build()));
    }
    for (String ns : rule.namespaces()) {
      callers.add(authenticated(regex(namespaceRegex(ns))));
    }
    for (String sa : rule.serviceAccounts()) {
      callers.add(authenticated(regex(serviceAccountRegex(sa))));
    }
    List<Principal> all = new ArrayList<>();
    all.add(or(callers));
    if (rule.pathPrefix() != null) {
      all.add(
          Principal.newBuilder()
              .setUrlPath(
                  PathMatcher.newBuilder()
                      .setPath(StringMatcher.newBuilder().setPrefix(rule.pathPrefix())))
              .build());
    }
    if (!rule.methods().isEmpty()) {
      List<Principal> methods = new ArrayList<>();
      for (String method : rule.methods()) {
        methods.add(
            Principal.newBuilder()
                .setHeader(
                    HeaderMatcher.newBuilder()
                        .setName(":method")
                        .setStringMatch(StringMatcher.newBuilder().setExact(method)))
                .build());
      }
      all.add(or(methods));
    }
    return all.size() == 1 ? all.get(0) : and(all);
  }

  private static Policy policy(Principal principal) {
    return Policy.newBuilder()
        .addPermissions(Permission.newBuilder().setAny(true))
        .addPrincipals(principal)
        .build();
  }

  private static Principal authenticated(StringMatcher name) {
    return Principal.newBuilder()
        .setAuthenticated(Principal.Authenticated.newBuilder().setPrincipalName(name))
        .build();
  }

  private static StringMatcher regex(String regex) {
    return StringMatcher.newBuilder().setSafeRegex(RegexMatcher.newBuilder().setRegex(regex)).build();
  }

  private static Principal or(List<Principal> ids) {
    return ids.size() == 1
        ? ids.get(0)
        : Principal.newBuilder().setOrIds(Principal.Set.newBuilder().addAllIds(ids)).build();
  }

  private static Principal and(List<Principal> ids) {
    return Principal.newBuilder().setAndIds(Principal.Set.newBuilder().addAllIds(ids)).build();
  }

  private static Principal not(Principal id) {
    return Principal.newBuilder().setNotId(id).build();
  }

  /** Names are letters, digits, '-', '.' and '_'; only the dot means something in a regex. */
  private static String escape(String name) {
    StringBuilder out = new StringBuilder();
    for (char ch : name.toCharArray()) {
      if (!Character.isLetterOrDigit(ch) && ch != '-' && ch != '_') {
        out.append('\\');
      }
      out.append(ch);
    }
    return out.toString();
  }
}
