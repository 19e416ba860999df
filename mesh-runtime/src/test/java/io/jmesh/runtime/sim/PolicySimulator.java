package io.jmesh.runtime.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.StringJoiner;

/**
 * Compares the runtime's balancers, each behind the runtime's circuit breaker and retries, on
 * modelled endpoints, and prints one table row per scenario and balancer. Deterministic: the same
 * settings print the same table. Run with {@code ./mvnw -B -Pbench -DskipTests verify -pl
 * mesh-runtime}, or from an IDE; an optional first argument replaces the seed.
 */
public final class PolicySimulator {
  private PolicySimulator() {}

  public static void main(String[] args) {
    Settings settings = Settings.defaults();
    if (args.length > 0) {
      settings = settings.withSeed(Long.parseLong(args[0]));
    }
    System.out.print(legend(settings));
    System.out.print(table(runAll(settings)));
  }

  /** Every scenario against every balancer, in table order. */
  static List<SimulationResult> runAll(Settings settings) {
    List<SimulationResult> results = new ArrayList<>();
    for (Scenario scenario : Scenario.all()) {
      for (BalancerKind kind : BalancerKind.values()) {
        results.add(Simulation.run(scenario, kind, settings));
      }
    }
    return results;
  }

  static String legend(Settings settings) {
    StringBuilder out = new StringBuilder();
    out.append(String.format(Locale.ROOT,
        "jmesh policy simulator: seed %d, Poisson arrivals at %d requests/s for %d s, first %d s"
            + " left out of shares, success and latency%n",
        settings.seed(), settings.requestsPerSecond(), settings.duration().toSeconds(),
        settings.warmUp().toSeconds()));
    out.append(String.format(Locale.ROOT,
        "healthy latency lognormal, median 10 ms, sigma 0.5; 503 after lognormal median 1 ms;"
            + " idempotent GETs; runtime defaults for breaker, retry policy and budget%n"));
    out.append(String.format(Locale.ROOT,
        "share: attempts per endpoint; success and p50/p99: per call, retries and backoff"
            + " included; budget: 0.2 x requests + 10 x seconds in which retries were granted"
            + " (the arrival period, plus the second in which the last calls drained)%n"));
    for (Scenario scenario : Scenario.all()) {
      StringJoiner models = new StringJoiner(", ");
      for (int i = 0; i < scenario.endpoints().size(); i++) {
        models.add((char) ('A' + i) + " " + scenario.endpoints().get(i).describe());
      }
      out.append(String.format(Locale.ROOT, "  %-14s %s%n", scenario.name(), models));
    }
    out.append(String.format("%n"));
    return out.toString();
  }

  static String table(List<SimulationResult> results) {
    StringBuilder out = new StringBuilder();
    String format = "%-14s %-14s %-18s %9s %8s %8s %8s %8s %6s%n";
    out.append(String.format(Locale.ROOT, format,
        "scenario", "balancer", "share A/B/C %", "success %", "p50 ms", "p99 ms", "retries",
        "budget", "within"));
    for (SimulationResult r : results) {
      StringJoiner shares = new StringJoiner("/");
      for (int i = 0; i < r.attemptsPerEndpoint().length; i++) {
        shares.add(String.format(Locale.ROOT, "%.1f", 100 * r.share(i)));
      }
      out.append(String.format(Locale.ROOT, format,
          r.scenario(), r.balancer(), shares,
          String.format(Locale.ROOT, "%.3f", 100 * r.successRate()),
          String.format(Locale.ROOT, "%.1f", r.p50Millis()),
          String.format(Locale.ROOT, "%.1f", r.p99Millis()),
          r.retries(), r.retryBound(), r.retriesWithinBudget() ? "yes" : "NO"));
    }
    return out.toString();
  }
}
