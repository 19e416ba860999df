package io.jmesh.controller.kubernetes;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.jmesh.controller.kubernetes.PolicySpecs.AuthorizationSpec;
import io.jmesh.controller.kubernetes.PolicySpecs.FailureAccrualSpec;
import io.jmesh.controller.kubernetes.PolicySpecs.Policy;
import io.jmesh.controller.kubernetes.PolicySpecs.RateLimitSpec;
import io.jmesh.controller.kubernetes.PolicySpecs.RetryBudgetSpec;
import io.jmesh.controller.kubernetes.PolicySpecs.TargetRef;
import io.jmesh.runtime.config.DestinationPolicy;
import io.jmesh.runtime.config.Service;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * jmesh policies (GEP-713 direct policy attachment to Services) → the fields of the model's
 * {@link Service} the file source fills from {@code policy:} and {@code authorization:}, and the
 * {@code Accepted} condition of each policy. A pure function: no I/O, no clock.
 *
 * <ul>
 *   <li>{@code RetryBudgetPolicy} → {@code policy.retryBudget}; {@code FailureAccrualPolicy} →
 *       {@code policy.failureAccrual} and {@code policy.maxEjectionPercent}; {@code
 *       RateLimitPolicy} → {@code policy.rateLimit}; {@code AuthorizationPolicy} → {@code
 *       authorization}. Fields a policy leaves out take the model's defaults.
 *   <li>A policy is read whole or not at all ({@link PolicySpecs}): an invalid one ({@code
 *       Invalid}) applies nowhere, so a Service never carries half a policy.
 *   <li>Per Service and kind one policy applies: the oldest ({@code creationTimestamp}, then
 *       namespace and name), as Gateway API resolves conflicts; the others get {@code
 *       Conflicted} for it.
 *   <li>A target that is not a mesh Service of the policy's namespace: {@code TargetNotFound}.
 *   <li>{@code Accepted True} only when the policy applies to every target it names; otherwise the
 *       message says, target by target, where it applies and why not elsewhere.
 * </ul>
 */
final class PolicyTranslator {
  /** A policy, by kind, namespace and name. */
  record Key(PolicyKind kind, String namespace, String name) {
    @Override
    public String toString() {
      return kind + " " + namespace + "/" + name;
    }
  }

  /**
   * @param attached per mesh Service ({@code namespace/name}), the policy of each kind applied
   * @param statuses the {@code Accepted} condition of every policy read
   */
  record Result(Map<String, Map<PolicyKind, Policy>> attached, Map<Key, RouteStatus.Condition> statuses) {
    /** {@code s} with the policies attached to it; {@code s} itself when none is. */
    Service apply(Service s) {
      Map<PolicyKind, Policy> mine = attached.get(EndpointIndex.key(s.namespace(), s.name()));
      if (mine == null) {
        return s;
      }
      DestinationPolicy p = s.policy();
      var budget = p.retryBudget();
      var accrual = p.failureAccrual();
      int ejection = p.maxEjectionPercent();
      var rate = p.rateLimit();
      var authorization = s.authorization();
      for (Policy policy : mine.values()) {
        PolicySpecs.Spec spec = policy.spec();
        if (spec instanceof RetryBudgetSpec b) {
          budget = b.retryBudget();
        } else if (spec instanceof FailureAccrualSpec a) {
          accrual = a.failureAccrual();
          ejection = a.maxEjectionPercent();
        } else if (spec instanceof RateLimitSpec r) {
          rate = r.rateLimit();
        } else if (spec instanceof AuthorizationSpec z) {
          authorization = z.forService(s.qualifiedName());
        }
      }
      return new Service(
          s.name(), s.namespace(), s.ports(), s.endpoints(), s.routes(),
          new DestinationPolicy(p.balancer(), budget, accrual, ejection, p.maxInFlight(), p.maxPending(), rate),
          s.identities(), authorization);
    }
  }

  static final String ACCEPTED = "Accepted";
  static final String CONFLICTED = "Conflicted";
  static final String TARGET_NOT_FOUND = "TargetNotFound";
  static final String INVALID = "Invalid";

  // Gateway API's conflict rule: the oldest wins; unknown ages last; then namespace/name.
  private static final Comparator<Policy> OLDEST_FIRST =
      Comparator.comparing(Policy::created, Comparator.nullsLast(Comparator.<Instant>naturalOrder()))
          .thenComparing(Policy::namespace)
          .thenComparing(Policy::name);

  private PolicyTranslator() {}

  /**
   * @param meshServices the keys ({@code namespace/name}) of the mesh Services
   * @param policies the policy objects of every kind, as the informers hold them
   */
  static Result translate(Set<String> meshServices, Map<PolicyKind, List<GenericKubernetesResource>> policies) {
    Map<Key, RouteStatus.Condition> statuses = new LinkedHashMap<>();
    Map<String, Map<PolicyKind, Policy>> attached = new HashMap<>();
    for (PolicyKind kind : PolicyKind.values()) {
      List<Policy> valid = new ArrayList<>();
      for (GenericKubernetesResource r : policies.getOrDefault(kind, List.of())) {
        Key key = new Key(kind, r.getMetadata().getNamespace(), r.getMetadata().getName());
        try {
          valid.add(PolicySpecs.read(kind, r));
        } catch (PolicySpecs.InvalidPolicyException e) {
          statuses.put(key, RouteStatus.Condition.notAccepted(INVALID,
              e.getMessage() + "; applied to no Service, which keep their defaults"));
        }
      }
      valid.sort(OLDEST_FIRST);
      for (Policy policy : valid) {
        List<String> outcomes = new ArrayList<>();
        String reason = null; // the first failure's, when one target fails
        for (TargetRef target : policy.targetRefs()) {
          String service = EndpointIndex.key(policy.namespace(), target.name());
          if (!meshServices.contains(service)) {
            outcomes.add("Service " + service + ": not found (no Service of that name with ports,"
                + " not ExternalName, in the policy's namespace)");
            reason = reason == null ? TARGET_NOT_FOUND : reason;
            continue;
          }
          Map<PolicyKind, Policy> onService = attached.computeIfAbsent(service, k -> new EnumMap<>(PolicyKind.class));
          Policy winner = onService.putIfAbsent(kind, policy);
          if (winner == null) {
            outcomes.add("Service " + service + ": applied");
          } else {
            outcomes.add("Service " + service + ": " + winner.key() + " is older and applies"
                + " (Gateway API: the oldest policy wins)");
            reason = reason == null ? CONFLICTED : reason;
          }
        }
        statuses.put(policy.key(), reason == null
            ? new RouteStatus.Condition(ACCEPTED, "True", ACCEPTED, String.join("; ", outcomes))
            : RouteStatus.Condition.notAccepted(reason, String.join("; ", outcomes)));
      }
    }
    return new Result(Map.copyOf(attached), statuses);
  }
}
