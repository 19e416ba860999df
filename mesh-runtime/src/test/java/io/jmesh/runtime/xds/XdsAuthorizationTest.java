package io.jmesh.runtime.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.inbound.AuthorizationPolicy;
import io.jmesh.runtime.inbound.AuthorizationPolicy.Rule;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The RBAC filter decides as the policy does: Envoy's semantics (a DENY filter denies when any
 * policy matches) evaluated here over every combination of caller, method and path the rules
 * tell apart, for each default and with allow and deny rules interleaved.
 */
class XdsAuthorizationTest {
  static final List<SpiffeId> CALLERS = new ArrayList<>();

  static {
    for (String ns : List.of("shop", "jobs", "ops")) {
      for (String sa : List.of("web", "batch", "admin", "web.v2")) {
        CALLERS.add(SpiffeId.of("cluster.local", ns, sa));
      }
    }
    CALLERS.add(null); // plaintext
  }

  static final List<Rule> RULES =
      List.of(
          new Rule("ops", true, List.of(SpiffeId.of("cluster.local", "ops", "admin")), null, null, null, null),
          new Rule("no-batch-writes", false, null, null, List.of("batch"), null, List.of("POST", "DELETE")),
          new Rule("shop-orders", true, null, List.of("shop"), List.of("web.v2"), "/orders", List.of("GET")),
          new Rule("no-admin-path", false, null, List.of("shop", "jobs"), null, "/admin", null),
          new Rule("jobs-tcp", true, null, List.of("jobs"), null, null, List.of("TCP")));

  @Test
  void theFilterDeniesExactlyWhatThePolicyDenies() {
    for (AuthorizationPolicy.Default fallback : AuthorizationPolicy.Default.values()) {
      for (List<Rule> rules : List.of(RULES, List.<Rule>of(), List.of(RULES.get(1)), List.of(RULES.get(0)))) {
        AuthorizationPolicy policy =
            new AuthorizationPolicy("hello.default", AuthorizationPolicy.Mode.ENFORCE, fallback, rules);
        RBAC rbac = XdsAuthorization.filter(policy).getRules();
        for (SpiffeId caller : CALLERS) {
          for (String method : List.of("GET", "POST", "DELETE", "TCP")) {
            for (String path : List.of("/", "/orders/7", "/admin", "")) {
              boolean deniedByEnvoy =
                  rbac.getPoliciesMap().values().stream()
                      .anyMatch(p -> p.getPrincipalsList().stream().anyMatch(pr -> matches(pr, caller, method, path)));
              assertThat(deniedByEnvoy)
                  .as("%s %s %s %s %s", fallback, rules.size(), caller, method, path)
                  .isEqualTo(!policy.decide(caller, method, path).allowed());
            }
          }
        }
      }
    }
  }

  @Test
  void auditModeSendsTheSameRulesAsShadowRules() {
    AuthorizationPolicy enforce =
        new AuthorizationPolicy("hello.default", AuthorizationPolicy.Mode.ENFORCE, AuthorizationPolicy.Default.DENY, RULES);
    AuthorizationPolicy audit =
        new AuthorizationPolicy("hello.default", AuthorizationPolicy.Mode.AUDIT, AuthorizationPolicy.Default.DENY, RULES);
    assertThat(XdsAuthorization.filter(audit).hasRules()).isFalse();
    assertThat(XdsAuthorization.filter(audit).getShadowRules())
        .isEqualTo(XdsAuthorization.filter(enforce).getRules());
  }

  /** Envoy's meaning of the principal kinds the encoding uses; the principal name is the URI SAN. */
  static boolean matches(Principal p, SpiffeId caller, String method, String path) {
    return switch (p.getIdentifierCase()) {
      case AND_IDS -> p.getAndIds().getIdsList().stream().allMatch(i -> matches(i, caller, method, path));
      case OR_IDS -> p.getOrIds().getIdsList().stream().anyMatch(i -> matches(i, caller, method, path));
      case NOT_ID -> !matches(p.getNotId(), caller, method, path);
      case ANY -> p.getAny();
      case AUTHENTICATED -> {
        if (caller == null) {
          yield false;
        }
        var name = p.getAuthenticated().getPrincipalName();
        if (!p.getAuthenticated().hasPrincipalName()) {
          yield true;
        }
        yield name.hasSafeRegex()
            ? caller.toString().matches(name.getSafeRegex().getRegex())
            : caller.toString().equals(name.getExact());
      }
      case HEADER -> p.getHeader().getStringMatch().getExact().equals(method);
      case URL_PATH -> path.startsWith(p.getUrlPath().getPath().getPrefix());
      default -> throw new AssertionError(p);
    };
  }
}
