package io.jmesh.runtime.inbound;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmesh.runtime.identity.SpiffeId;
import java.util.List;
import org.junit.jupiter.api.Test;

class AuthorizationPolicyTest {
  private static final SpiffeId WEB = SpiffeId.of("cluster.local", "shop", "web");
  private static final SpiffeId BATCH = SpiffeId.of("cluster.local", "jobs", "batch");

  @Test
  void theDefaultAllowsEveryAuthenticatedCallerAndNoPlaintextOne() {
    AuthorizationPolicy p = AuthorizationPolicy.allAuthenticated();

    assertThat(p.decide(WEB, "GET", "/")).isEqualTo(new AuthorizationPolicy.Decision(true, false, "default/default:all-authenticated"));
    assertThat(p.decide(null, "GET", "/")).isEqualTo(new AuthorizationPolicy.Decision(false, false, "default/default:all-authenticated"));
  }

  @Test
  void theFirstMatchingRuleDecides() {
    AuthorizationPolicy p =
        new AuthorizationPolicy(
            "orders",
            AuthorizationPolicy.Mode.ENFORCE,
            AuthorizationPolicy.Default.DENY,
            List.of(
                new AuthorizationPolicy.Rule("no-batch-writes", false, List.of(BATCH), null, null, null, List.of("POST", "DELETE")),
                new AuthorizationPolicy.Rule("jobs-ns", true, null, List.of("jobs"), null, null, null),
                new AuthorizationPolicy.Rule("web-reads", true, null, null, List.of("web"), "/orders", List.of("GET"))));

    assertThat(p.decide(BATCH, "POST", "/orders").policy()).isEqualTo("orders/no-batch-writes");
    assertThat(p.decide(BATCH, "POST", "/orders").allowed()).isFalse();
    assertThat(p.decide(BATCH, "GET", "/anything").policy()).isEqualTo("orders/jobs-ns");
    assertThat(p.decide(WEB, "GET", "/orders/7").allowed()).isTrue();
    assertThat(p.decide(WEB, "POST", "/orders/7")).isEqualTo(new AuthorizationPolicy.Decision(false, false, "orders/default:deny"));
    assertThat(p.decide(null, "GET", "/orders").allowed()).isFalse(); // rules never match plaintext
  }

  @Test
  void auditModeLetsDenialsThroughMarked() {
    AuthorizationPolicy p = new AuthorizationPolicy("rollout", AuthorizationPolicy.Mode.AUDIT, AuthorizationPolicy.Default.DENY, List.of());

    assertThat(p.decide(WEB, "GET", "/")).isEqualTo(new AuthorizationPolicy.Decision(true, true, "rollout/default:deny"));
  }
}
