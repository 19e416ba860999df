package io.jmesh.runtime.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.StringJoiner;

/**
 * Compares the runtime's balancers, each behind the runtime's circuit breaker and retries, on
 * modelled endpoints, and prints one table row per scenario and balancer, then scenario (a) under
 * peak-EWMA over a grid of latency spreads and arrival rates. Deterministic: the same
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
    System.out.printf("%n");
    System.out.print(sweep(settings, SWEEP_SIGMAS, SWEEP_RATES));
  }

  /** The latency spreads (rows) of the sweep of scenario (a); 0.5 is the main table's. */
  static final double[] SWEEP_SIGMAS = {0.05, 0.1, 0.2, 0.3, 0.5, 0.75};

  /** The arrival rates (columns) of the sweep of scenario (a); 1000/s is the main table's. */
  static final int[] SWEEP_RATES = {50, 100, 250, 500, 1000, 2000};

  /**
   * Scenario (a) under peak-EWMA for every pair of latency spread σ and arrival rate: where issue
   * 3's target (a) holds. Each cell is the slow endpoint's share of attempts and the ratio of the
   * client p99 to the healthy p99 at the same σ and rate. The slow endpoint wins a pick when its
   * cost, estimate × (in flight + 1), is below the other candidate's: the rate sets the fast
   * endpoints' in-flight counts, σ how far their peak-sensitive estimates sit above their median.
   */
  static String sweep(Settings settings, double[] sigmas, int[] rates) {
    StringBuilder out = new StringBuilder();
    out.append(String.format(Locale.ROOT,
        "scenario a (C 50 ms slower) under peak-ewma by latency sigma (rows) and arrival rate"
            + " (columns, requests/s); each cell: C's share of attempts %% / p99 over the healthy"
            + " p99 at the same sigma and rate; * where target (a) holds (C < 10 %% and ratio <="
            + " 1.25). Round robin gives C 33.3 %% everywhere.%n"));
    StringBuilder header = new StringBuilder(String.format(Locale.ROOT, "%-7s", "sigma"));
    for (int rate : rates) {
      header.append(String.format(Locale.ROOT, " %14s", rate + "/s"));
    }
    out.append(header).append(String.format("%n"));
    for (double sigma : sigmas) {
      StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%-7.2f", sigma));
      for (int rate : rates) {
        Settings at = settings.withLatencySigma(sigma).withRequestsPerSecond(rate);
        SimulationResult healthy = Simulation.run(Scenario.healthy(), BalancerKind.PEAK_EWMA, at);
        SimulationResult slow = Simulation.run(Scenario.oneSlow(), BalancerKind.PEAK_EWMA, at);
        double ratio = (double) slow.p99Nanos() / healthy.p99Nanos();
        boolean met = slow.share(2) < 0.10 && ratio <= 1.25;
        row.append(String.format(Locale.ROOT, " %14s",
            String.format(Locale.ROOT, "%.2f / %.2f%s", 100 * slow.share(2), ratio,
                met ? "*" : " ")));
      }
      out.append(row).append(String.format("%n"));
    }
    return out.toString();
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
