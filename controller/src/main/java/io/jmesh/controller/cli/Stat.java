package io.jmesh.controller.cli;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * What {@code jmesh stat} computes from two scrapes of every agent's {@code /metrics}, a window
 * apart: per destination service and route, over the calls that finished in the window, the
 * success rate, requests per second and latency quantiles. Inputs are the outbound histogram
 * {@code http_client_request_duration_seconds} (one observation per call, all attempts included),
 * so each number describes what the calling applications saw.
 *
 * <p>Rules, as Prometheus's {@code rate()} and {@code histogram_quantile()} would apply them:
 *
 * <ul>
 *   <li>A series' increase is {@code after - before}; a series missing before the window (its
 *       first call fell in it) or smaller after (the agent restarted) counts {@code after} whole.
 *   <li>A call failed when its status is 5xx or it has an {@code error_type} that is not its own
 *       4xx status (connect failure, timeout, no endpoint, refusal by the mesh). A 4xx answered by
 *       the server is a success, as in Linkerd: the service did its job.
 *   <li>Quantiles come from the summed bucket increases of all the group's series ({@link
 *       Quantiles}), so with the OTel default boundaries a p50 below 5 ms is an interpolation
 *       inside the first bucket.
 * </ul>
 *
 * <p>Thread-safety: stateless.
 */
final class Stat {
  static final String HISTOGRAM = "http_client_request_duration_seconds";
  static final String SOURCE = "jmesh_source_service";
  static final String DESTINATION = "jmesh_destination_service";
  static final String ROUTE = "jmesh_route";
  static final String STATUS = "http_response_status_code";
  static final String ERROR_TYPE = "error_type";

  private Stat() {}

  /**
   * One row of the table; {@code total == 0} when no call finished in the window (quantiles are
   * then NaN).
   */
  record Row(
      String service,
      String route,
      double total,
      double successes,
      double rps,
      double p50,
      double p95,
      double p99) {
    double successRate() {
      return total > 0 ? successes / total : Double.NaN;
    }
  }

  /**
   * @param before per agent, its first scrape
   * @param after per agent, its second scrape; agents missing here are left out
   * @param from only calls from this service ({@code client} or {@code client.default}); null for
   *     all
   */
  static List<Row> compute(
      Map<String, List<PrometheusText.Sample>> before,
      Map<String, List<PrometheusText.Sample>> after,
      double windowSeconds,
      String from) {
    Map<List<String>, Group> groups = new TreeMap<>(Stat::compareKeys);
    for (Map.Entry<String, List<PrometheusText.Sample>> agent : after.entrySet()) {
      Map<String, Double> old = new HashMap<>();
      for (PrometheusText.Sample s : before.getOrDefault(agent.getKey(), List.of())) {
        old.put(s.name() + s.labels(), s.value());
      }
      for (PrometheusText.Sample s : agent.getValue()) {
        boolean bucket = s.name().equals(HISTOGRAM + "_bucket");
        if (!bucket && !s.name().equals(HISTOGRAM + "_count")) {
          continue;
        }
        if (from != null && !Names.matches(from, s.label(SOURCE))) {
          continue;
        }
        Double was = old.get(s.name() + s.labels());
        double increase = was == null || s.value() < was ? s.value() : s.value() - was;
        Group g =
            groups.computeIfAbsent(
                List.of(s.label(DESTINATION), s.label(ROUTE)), k -> new Group());
        if (bucket) {
          g.buckets.merge(le(s.label("le")), increase, Double::sum);
        } else {
          g.total += increase;
          if (!failed(s.label(STATUS), s.label(ERROR_TYPE))) {
            g.successes += increase;
          }
        }
      }
    }
    List<Row> rows = new ArrayList<>();
    groups.forEach(
        (key, g) ->
            rows.add(
                new Row(
                    key.get(0),
                    key.get(1),
                    g.total,
                    g.successes,
                    g.total / windowSeconds,
                    g.total > 0 ? Quantiles.quantile(0.50, g.buckets) : Double.NaN,
                    g.total > 0 ? Quantiles.quantile(0.95, g.buckets) : Double.NaN,
                    g.total > 0 ? Quantiles.quantile(0.99, g.buckets) : Double.NaN)));
    return rows;
  }

  /** See the class comment: 5xx, or an error that is not the server's own 4xx answer. */
  static boolean failed(String status, String errorType) {
    if (status.length() == 3 && status.charAt(0) == '5') {
      return true;
    }
    if (errorType.isEmpty()) {
      return false;
    }
    return !(status.length() == 3 && status.charAt(0) == '4' && errorType.equals(status));
  }

  /** The table {@code jmesh stat} prints. */
  static String render(List<Row> rows) {
    Table table =
        new Table("SERVICE", "ROUTE", "SUCCESS", "RPS", "LATENCY_P50", "LATENCY_P95", "LATENCY_P99");
    for (Row r : rows) {
      table.row(
          r.service(),
          r.route(),
          r.total() > 0 ? String.format(Locale.ROOT, "%.2f%%", 100 * r.successRate()) : "-",
          String.format(Locale.ROOT, "%.1f", r.rps()),
          latency(r.p50()),
          latency(r.p95()),
          latency(r.p99()));
    }
    return table.render();
  }

  /** Seconds as Linkerd prints latencies: {@code 3.2ms}, {@code 48ms}, {@code 1.5s}; NaN {@code -}. */
  static String latency(double seconds) {
    if (Double.isNaN(seconds)) {
      return "-";
    }
    double ms = seconds * 1000;
    if (ms < 10) {
      return String.format(Locale.ROOT, "%.1fms", ms);
    }
    if (ms < 10_000) {
      return String.format(Locale.ROOT, "%.0fms", ms);
    }
    return String.format(Locale.ROOT, "%.1fs", seconds);
  }

  private static double le(String value) {
    if (value.equals("+Inf")) {
      return Double.POSITIVE_INFINITY;
    }
    try {
      return Double.parseDouble(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          HISTOGRAM + "_bucket: le=\"" + value + "\" (expected: a number or +Inf)");
    }
  }

  private static int compareKeys(List<String> a, List<String> b) {
    int c = a.get(0).compareTo(b.get(0));
    return c != 0 ? c : a.get(1).compareTo(b.get(1));
  }

  /** The sums of one destination and route. */
  private static final class Group {
    final NavigableMap<Double, Double> buckets = new TreeMap<>();
    double total;
    double successes;
  }
}
