package io.jmesh.runtime.config;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.nodes.Node;

/**
 * Reads a service's {@code policy} in the file-mode YAML: how its callers balance, budget
 * retries, eject failing endpoints and limit load ({@link DestinationPolicy}). Thread-safe: holds
 * no state of its own.
 */
final class PolicyConfigParser {
  private final ConfigNodes n;

  PolicyConfigParser(ConfigNodes n) {
    this.n = n;
  }

  private static final Set<String> POLICY_FIELDS =
      ConfigNodes.orderedSet("balancer", "retryBudget", "failureAccrual", "maxEjectionPercent", "maxInFlight", "maxPending", "rateLimit");
  private static final Set<String> BUDGET_FIELDS = ConfigNodes.orderedSet("ratio", "minPerSecond", "ttl");
  private static final Set<String> ACCRUAL_FIELDS =
      ConfigNodes.orderedSet("consecutiveFailures", "minPenalty", "maxPenalty", "jitter");
  private static final Set<String> RATE_FIELDS = ConfigNodes.orderedSet("requestsPerSecond", "burst");

  DestinationPolicy destinationPolicy(Node node, String path) throws MeshConfigException {
    Map<String, Node> f = n.fields(node, path, "a policy mapping", POLICY_FIELDS);
    DestinationPolicy d = DestinationPolicy.DEFAULT;
    DestinationPolicy.Balancer balancer = d.balancer();
    if (f.containsKey("balancer")) {
      String expected = "one of peak-ewma, least-request, round-robin, random";
      String value = n.scalar(f.get("balancer"), path + ".balancer", expected);
      balancer = null;
      for (DestinationPolicy.Balancer b : DestinationPolicy.Balancer.values()) {
        if (b.yamlName().equals(value)) {
          balancer = b;
        }
      }
      if (balancer == null) {
        throw n.invalid(f.get("balancer"), path + ".balancer", expected);
      }
    }
    DestinationPolicy.RetryBudget budget = d.retryBudget();
    if (f.containsKey("retryBudget")) {
      String p = path + ".retryBudget";
      Map<String, Node> b = n.fields(f.get("retryBudget"), p, "a retry budget mapping", BUDGET_FIELDS);
      double ratio = b.containsKey("ratio") ? n.decimal(b.get("ratio"), p + ".ratio", 0, 1000, "a number in 0..1000") : budget.ratio();
      int min = b.containsKey("minPerSecond") ? n.integer(b.get("minPerSecond"), p + ".minPerSecond", 0, 1_000_000, "an integer >= 0") : budget.minPerSecond();
      Duration ttl = b.containsKey("ttl") ? n.duration(b.get("ttl"), p + ".ttl") : budget.ttl();
      if (ttl.compareTo(Duration.ofSeconds(1)) < 0 || ttl.compareTo(Duration.ofSeconds(60)) > 0) {
        throw n.invalid(b.get("ttl"), p + ".ttl", "a duration in 1s..60s");
      }
      budget = new DestinationPolicy.RetryBudget(ratio, min, ttl);
    }
    DestinationPolicy.FailureAccrual accrual = d.failureAccrual();
    if (f.containsKey("failureAccrual")) {
      String p = path + ".failureAccrual";
      Map<String, Node> a = n.fields(f.get("failureAccrual"), p, "a failure accrual mapping", ACCRUAL_FIELDS);
      int failures = a.containsKey("consecutiveFailures") ? n.integer(a.get("consecutiveFailures"), p + ".consecutiveFailures", 1, 1000, "an integer in 1..1000") : accrual.consecutiveFailures();
      Duration min = a.containsKey("minPenalty") ? n.duration(a.get("minPenalty"), p + ".minPenalty") : accrual.minPenalty();
      Duration max = a.containsKey("maxPenalty") ? n.duration(a.get("maxPenalty"), p + ".maxPenalty") : accrual.maxPenalty();
      double jitter = a.containsKey("jitter") ? n.decimal(a.get("jitter"), p + ".jitter", 0, 1, "a number in 0..1") : accrual.jitter();
      if (max.compareTo(min) < 0) {
        throw n.error(a.getOrDefault("maxPenalty", f.get("failureAccrual")), p + ".maxPenalty", ConfigNodes.format(max) + " (expected: at least minPenalty, " + ConfigNodes.format(min) + ")");
      }
      accrual = new DestinationPolicy.FailureAccrual(failures, min, max, jitter);
    }
    int maxEjection = f.containsKey("maxEjectionPercent") ? n.integer(f.get("maxEjectionPercent"), path + ".maxEjectionPercent", 0, 100, "an integer in 0..100") : d.maxEjectionPercent();
    int maxInFlight = f.containsKey("maxInFlight") ? n.integer(f.get("maxInFlight"), path + ".maxInFlight", 0, Integer.MAX_VALUE, "an integer >= 0 (0: no limit)") : d.maxInFlight();
    int maxPending = f.containsKey("maxPending") ? n.integer(f.get("maxPending"), path + ".maxPending", 0, Integer.MAX_VALUE, "an integer >= 0") : d.maxPending();
    DestinationPolicy.RateLimit rate = d.rateLimit();
    if (f.containsKey("rateLimit")) {
      String p = path + ".rateLimit";
      Map<String, Node> r = n.fields(f.get("rateLimit"), p, "a rate limit mapping", RATE_FIELDS);
      int rps = n.integer(n.required(f.get("rateLimit"), r, p, "requestsPerSecond", "an integer >= 1"), p + ".requestsPerSecond", 1, Integer.MAX_VALUE, "an integer >= 1");
      int burst = r.containsKey("burst") ? n.integer(r.get("burst"), p + ".burst", 1, Integer.MAX_VALUE, "an integer >= 1") : rps;
      rate = new DestinationPolicy.RateLimit(rps, burst);
    }
    return new DestinationPolicy(balancer, budget, accrual, maxEjection, maxInFlight, maxPending, rate);
  }
}
