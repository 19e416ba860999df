package io.jmesh.controller.kubernetes;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.jmesh.runtime.config.DestinationPolicy;
import io.jmesh.runtime.config.Durations;
import io.jmesh.runtime.config.MeshSyntax;
import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.inbound.AuthorizationPolicy;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads a jmesh policy ({@link PolicyKind}) from the {@link GenericKubernetesResource} an informer
 * holds into small typed records whose values are the mesh model's own ({@link
 * DestinationPolicy.RetryBudget}, ...). The checks are the file parser's (same ranges, defaults
 * and rules, mesh-runtime's {@code PolicyConfigParser} and {@code AuthorizationConfigParser}),
 * so that a value the CRD schema lets through (a {@code maxPenalty} below {@code minPenalty}, a
 * {@code ttl} of 2m) or that a server without the schema stored is refused the same way. A
 * refusal is an {@link InvalidPolicyException} naming the field, the value and what was expected.
 *
 * <p>Stateless; thread-safe.
 */
final class PolicySpecs {
  private PolicySpecs() {}

  /** A policy as read: who it is, what it targets, and its value. */
  record Policy(
      PolicyKind kind,
      String namespace,
      String name,
      Instant created,
      List<TargetRef> targetRefs,
      Spec spec) {
    PolicyTranslator.Key key() {
      return new PolicyTranslator.Key(kind, namespace, name);
    }
  }

  /** A Service in the policy's namespace ({@code LocalPolicyTargetReference}). */
  record TargetRef(String name) {}

  /** A policy's value, as the model holds it. */
  sealed interface Spec permits RetryBudgetSpec, FailureAccrualSpec, RateLimitSpec, AuthorizationSpec {}

  /** {@code RetryBudgetPolicy} → {@code DestinationPolicy.retryBudget}. */
  record RetryBudgetSpec(DestinationPolicy.RetryBudget retryBudget) implements Spec {}

  /** {@code FailureAccrualPolicy} → {@code failureAccrual} and {@code maxEjectionPercent}. */
  record FailureAccrualSpec(DestinationPolicy.FailureAccrual failureAccrual, int maxEjectionPercent)
      implements Spec {}

  /** {@code RateLimitPolicy} → {@code DestinationPolicy.rateLimit}. */
  record RateLimitSpec(DestinationPolicy.RateLimit rateLimit) implements Spec {}

  /** {@code AuthorizationPolicy} → {@code Service.authorization}, named after each target. */
  record AuthorizationSpec(
      AuthorizationPolicy.Mode mode, AuthorizationPolicy.Default fallback, List<AuthorizationPolicy.Rule> rules)
      implements Spec {
    AuthorizationPolicy forService(String qualifiedName) {
      return new AuthorizationPolicy(qualifiedName, mode, fallback, rules);
    }
  }

  /** A value the policy may not have; the message names field, value and expectation. */
  static final class InvalidPolicyException extends Exception {
    InvalidPolicyException(String field, Object value, String expected) {
      super(field + ": " + value + " (expected: " + expected + ")");
    }
  }

  private static final Set<String> BUDGET = Set.of("targetRefs", "ratio", "minPerSecond", "ttl");
  private static final Set<String> ACCRUAL =
      Set.of("targetRefs", "consecutiveFailures", "minPenalty", "maxPenalty", "jitter", "maxEjectionPercent");
  private static final Set<String> RATE = Set.of("targetRefs", "requestsPerSecond", "burst");
  private static final Set<String> AUTHZ = Set.of("targetRefs", "mode", "default", "rules");
  private static final Set<String> RULE =
      Set.of("name", "action", "identities", "namespaces", "serviceAccounts", "pathPrefix", "methods");
  private static final Set<String> TARGET_REF = Set.of("group", "kind", "name", "namespace");

  /** Reads {@code resource}, a policy of {@code kind}. */
  static Policy read(PolicyKind kind, GenericKubernetesResource resource) throws InvalidPolicyException {
    String namespace = resource.getMetadata().getNamespace();
    Map<String, Object> spec = map(resource.getAdditionalProperties().get("spec"), "spec");
    List<TargetRef> targets = targetRefs(spec.get("targetRefs"), namespace);
    Spec value =
        switch (kind) {
          case RetryBudgetPolicy -> retryBudget(fields(spec, BUDGET));
          case FailureAccrualPolicy -> failureAccrual(fields(spec, ACCRUAL));
          case RateLimitPolicy -> rateLimit(fields(spec, RATE));
          case AuthorizationPolicy -> authorization(fields(spec, AUTHZ));
        };
    return new Policy(
        kind, namespace, resource.getMetadata().getName(),
        created(resource.getMetadata().getCreationTimestamp()), targets, value);
  }

  /** The creation time, or {@code null} when absent or unreadable (such a policy ranks last). */
  private static Instant created(String timestamp) {
    if (timestamp == null) {
      return null;
    }
    try {
      return Instant.parse(timestamp);
    } catch (DateTimeParseException e) {
      return null;
    }
  }

  private static List<TargetRef> targetRefs(Object node, String namespace) throws InvalidPolicyException {
    List<Object> refs = list(node, "spec.targetRefs");
    if (refs.isEmpty()) {
      throw new InvalidPolicyException("spec.targetRefs", "[]", "1 to 16 Services");
    }
    Set<TargetRef> out = new LinkedHashSet<>();
    for (int i = 0; i < refs.size(); i++) {
      String path = "spec.targetRefs[" + i + "]";
      Map<String, Object> ref = map(refs.get(i), path);
      for (String field : ref.keySet()) {
        if (!TARGET_REF.contains(field)) {
          throw new InvalidPolicyException(path + "." + field, "an unknown field", "group, kind, name");
        }
      }
      String group = ref.get("group") == null ? "" : string(ref.get("group"), path + ".group");
      String kindName = string(ref.get("kind"), path + ".kind");
      if (!group.isEmpty() || !kindName.equals("Service")) {
        throw new InvalidPolicyException(path, "group \"" + group + "\", kind " + kindName,
            "group \"\", kind Service: jmesh policies attach to Services");
      }
      // LocalPolicyTargetReference has no namespace: attachment is within the policy's
      // namespace (GEP-713; a ReferenceGrant could widen it, jmesh does not read them).
      Object other = ref.get("namespace");
      if (other != null && !namespace.equals(other)) {
        throw new InvalidPolicyException(path + ".namespace", other,
            "the policy's namespace " + namespace + ": a policy attaches to Services of its own"
                + " namespace (ReferenceGrant is not supported)");
      }
      out.add(new TargetRef(string(ref.get("name"), path + ".name")));
    }
    return List.copyOf(out);
  }

  private static RetryBudgetSpec retryBudget(Map<String, Object> f) throws InvalidPolicyException {
    DestinationPolicy.RetryBudget d = DestinationPolicy.RetryBudget.DEFAULT;
    double ratio = f.containsKey("ratio") ? decimal(f.get("ratio"), "spec.ratio", 0, 1000) : d.ratio();
    int min = f.containsKey("minPerSecond")
        ? integer(f.get("minPerSecond"), "spec.minPerSecond", 0, 1_000_000) : d.minPerSecond();
    Duration ttl = f.containsKey("ttl") ? duration(f.get("ttl"), "spec.ttl") : d.ttl();
    if (ttl.compareTo(Duration.ofSeconds(1)) < 0 || ttl.compareTo(Duration.ofSeconds(60)) > 0) {
      throw new InvalidPolicyException("spec.ttl", f.get("ttl"), "a duration in 1s..60s");
    }
    return new RetryBudgetSpec(new DestinationPolicy.RetryBudget(ratio, min, ttl));
  }

  private static FailureAccrualSpec failureAccrual(Map<String, Object> f) throws InvalidPolicyException {
    DestinationPolicy.FailureAccrual d = DestinationPolicy.FailureAccrual.DEFAULT;
    int failures = f.containsKey("consecutiveFailures")
        ? integer(f.get("consecutiveFailures"), "spec.consecutiveFailures", 1, 1000) : d.consecutiveFailures();
    Duration min = f.containsKey("minPenalty") ? duration(f.get("minPenalty"), "spec.minPenalty") : d.minPenalty();
    Duration max = f.containsKey("maxPenalty") ? duration(f.get("maxPenalty"), "spec.maxPenalty") : d.maxPenalty();
    double jitter = f.containsKey("jitter") ? decimal(f.get("jitter"), "spec.jitter", 0, 1) : d.jitter();
    int ejection = f.containsKey("maxEjectionPercent")
        ? integer(f.get("maxEjectionPercent"), "spec.maxEjectionPercent", 0, 100)
        : DestinationPolicy.DEFAULT.maxEjectionPercent();
    if (max.compareTo(min) < 0) {
      // The schema cannot compare two durations; the file parser refuses this too.
      throw new InvalidPolicyException("spec.maxPenalty", f.getOrDefault("maxPenalty", "60s (default)"),
          "at least spec.minPenalty, " + f.getOrDefault("minPenalty", "1s (default)"));
    }
    return new FailureAccrualSpec(new DestinationPolicy.FailureAccrual(failures, min, max, jitter), ejection);
  }

  private static RateLimitSpec rateLimit(Map<String, Object> f) throws InvalidPolicyException {
    if (!f.containsKey("requestsPerSecond")) {
      throw new InvalidPolicyException("spec.requestsPerSecond", "absent", "an integer >= 1");
    }
    int rps = integer(f.get("requestsPerSecond"), "spec.requestsPerSecond", 1, Integer.MAX_VALUE);
    int burst = f.containsKey("burst") ? integer(f.get("burst"), "spec.burst", 1, Integer.MAX_VALUE) : rps;
    return new RateLimitSpec(new DestinationPolicy.RateLimit(rps, burst));
  }

  private static AuthorizationSpec authorization(Map<String, Object> f) throws InvalidPolicyException {
    AuthorizationPolicy.Mode mode = AuthorizationPolicy.Mode.ENFORCE;
    if (f.containsKey("mode")) {
      mode = switch (string(f.get("mode"), "spec.mode")) {
        case "enforce" -> AuthorizationPolicy.Mode.ENFORCE;
        case "audit" -> AuthorizationPolicy.Mode.AUDIT;
        default -> throw new InvalidPolicyException("spec.mode", f.get("mode"), "enforce or audit");
      };
    }
    AuthorizationPolicy.Default fallback = AuthorizationPolicy.Default.ALL_AUTHENTICATED;
    if (f.containsKey("default")) {
      fallback = switch (string(f.get("default"), "spec.default")) {
        case "all-authenticated" -> AuthorizationPolicy.Default.ALL_AUTHENTICATED;
        case "all" -> AuthorizationPolicy.Default.ALL;
        case "deny" -> AuthorizationPolicy.Default.DENY;
        default -> throw new InvalidPolicyException(
            "spec.default", f.get("default"), "one of all-authenticated, all, deny");
      };
    }
    List<AuthorizationPolicy.Rule> rules = new ArrayList<>();
    List<Object> items = f.containsKey("rules") ? list(f.get("rules"), "spec.rules") : List.of();
    Set<String> names = new LinkedHashSet<>();
    for (int i = 0; i < items.size(); i++) {
      AuthorizationPolicy.Rule rule = rule(map(items.get(i), "spec.rules[" + i + "]"), "spec.rules[" + i + "]");
      if (!names.add(rule.name())) {
        throw new InvalidPolicyException("spec.rules[" + i + "].name", rule.name(), "a rule name unique in the policy");
      }
      rules.add(rule);
    }
    return new AuthorizationSpec(mode, fallback, rules);
  }

  private static AuthorizationPolicy.Rule rule(Map<String, Object> r, String path) throws InvalidPolicyException {
    r = fields(r, RULE, path);
    String name = string(r.get("name"), path + ".name");
    if (!MeshSyntax.TOKEN.matcher(name).matches()) {
      throw new InvalidPolicyException(path + ".name", name, "a rule name: letters, digits and - . _");
    }
    String action = string(r.get("action"), path + ".action");
    if (!action.equals("allow") && !action.equals("deny")) {
      throw new InvalidPolicyException(path + ".action", action, "allow or deny");
    }
    List<SpiffeId> identities = new ArrayList<>();
    for (String id : strings(r.get("identities"), path + ".identities")) {
      try {
        identities.add(SpiffeId.parse(id));
      } catch (IllegalArgumentException e) {
        throw new InvalidPolicyException(path + ".identities", id, "a SPIFFE id, " + MeshSyntax.SPIFFE_FORM);
      }
    }
    List<String> namespaces = strings(r.get("namespaces"), path + ".namespaces");
    for (String ns : namespaces) {
      if (!MeshSyntax.DNS_LABEL.matcher(ns).matches()) {
        throw new InvalidPolicyException(path + ".namespaces", ns, "a namespace: a DNS label");
      }
    }
    List<String> accounts = strings(r.get("serviceAccounts"), path + ".serviceAccounts");
    for (String sa : accounts) {
      if (!MeshSyntax.DNS_SUBDOMAIN.matcher(sa).matches()) {
        throw new InvalidPolicyException(path + ".serviceAccounts", sa, "a service account name: a DNS subdomain");
      }
    }
    if (identities.isEmpty() && namespaces.isEmpty() && accounts.isEmpty()) {
      // A rule that names no caller would never match: surely not what was meant.
      throw new InvalidPolicyException(path, "a rule naming no caller",
          "at least one of identities, namespaces, serviceAccounts");
    }
    String pathPrefix = r.get("pathPrefix") == null ? null : string(r.get("pathPrefix"), path + ".pathPrefix");
    if (pathPrefix != null && !pathPrefix.startsWith("/")) {
      throw new InvalidPolicyException(path + ".pathPrefix", pathPrefix, "a path starting with /");
    }
    List<String> methods = strings(r.get("methods"), path + ".methods");
    for (String m : methods) {
      if (!MeshSyntax.METHOD.matcher(m).matches()) {
        throw new InvalidPolicyException(path + ".methods", m, "an upper-case HTTP method such as GET, or TCP");
      }
      if (m.equals("TCP") && pathPrefix != null) {
        throw new InvalidPolicyException(path + ".methods", m,
            "no TCP together with pathPrefix: an opaque connection has no path");
      }
    }
    return new AuthorizationPolicy.Rule(
        name, action.equals("allow"), identities, namespaces, accounts, pathPrefix, methods);
  }

  // --- JSON values as Jackson reads them into additionalProperties ---

  private static Map<String, Object> fields(Map<String, Object> m, Set<String> known) throws InvalidPolicyException {
    return fields(m, known, "spec");
  }

  /** {@code m}, with every key known: a server without the schema would not prune the others. */
  private static Map<String, Object> fields(Map<String, Object> m, Set<String> known, String path)
      throws InvalidPolicyException {
    for (String k : m.keySet()) {
      if (!known.contains(k)) {
        throw new InvalidPolicyException(path + "." + k, "an unknown field", "one of " + new java.util.TreeSet<>(known));
      }
    }
    return m;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object o, String path) throws InvalidPolicyException {
    if (!(o instanceof Map<?, ?> m)) {
      throw new InvalidPolicyException(path, o == null ? "absent" : o, "an object");
    }
    return (Map<String, Object>) m;
  }

  @SuppressWarnings("unchecked")
  private static List<Object> list(Object o, String path) throws InvalidPolicyException {
    if (!(o instanceof List<?> l)) {
      throw new InvalidPolicyException(path, o == null ? "absent" : o, "a list");
    }
    return (List<Object>) l;
  }

  private static List<String> strings(Object o, String path) throws InvalidPolicyException {
    if (o == null) {
      return List.of();
    }
    List<Object> items = list(o, path);
    List<String> out = new ArrayList<>();
    for (int i = 0; i < items.size(); i++) {
      out.add(string(items.get(i), path + "[" + i + "]"));
    }
    return out;
  }

  private static String string(Object o, String path) throws InvalidPolicyException {
    if (!(o instanceof String s)) {
      throw new InvalidPolicyException(path, o == null ? "absent" : o, "a string");
    }
    return s;
  }

  private static int integer(Object o, String path, long min, long max) throws InvalidPolicyException {
    String expected = "an integer in " + min + ".." + max;
    if (!(o instanceof Integer || o instanceof Long || o instanceof java.math.BigInteger)) {
      throw new InvalidPolicyException(path, o, expected);
    }
    long v = ((Number) o).longValue();
    if (o instanceof java.math.BigInteger b && b.bitLength() > 62 || v < min || v > max) {
      throw new InvalidPolicyException(path, o, expected);
    }
    return (int) v;
  }

  private static double decimal(Object o, String path, double min, double max) throws InvalidPolicyException {
    if (!(o instanceof Number n) || Double.isNaN(n.doubleValue()) || n.doubleValue() < min || n.doubleValue() > max) {
      throw new InvalidPolicyException(path, o, "a number in " + fmt(min) + ".." + fmt(max));
    }
    return n.doubleValue();
  }

  private static String fmt(double d) {
    return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
  }

  private static Duration duration(Object o, String path) throws InvalidPolicyException {
    String text = string(o, path);
    try {
      return Durations.parse(path, text);
    } catch (IllegalArgumentException e) {
      throw new InvalidPolicyException(path, text, "a duration such as 250ms, 10s, 1m or 1h30m");
    }
  }
}
