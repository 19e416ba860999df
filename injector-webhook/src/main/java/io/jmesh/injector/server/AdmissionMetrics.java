package io.jmesh.injector.server;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Admissions by outcome code ({@code injected}, {@code not_opted_in}, {@code bad_json}, ...), in
 * the Prometheus text format at {@code GET /metrics}: {@code
 * jmesh_injector_admissions_total{outcome="injected"} 3}. Thread-safe.
 */
public final class AdmissionMetrics {
  private final Map<String, LongAdder> byOutcome = new ConcurrentHashMap<>();

  void count(String outcome) {
    byOutcome.computeIfAbsent(outcome, k -> new LongAdder()).increment();
  }

  /** The count of {@code outcome} so far. */
  public long total(String outcome) {
    LongAdder adder = byOutcome.get(outcome);
    return adder == null ? 0 : adder.sum();
  }

  String prometheusText(ServerTls tls) {
    StringBuilder out = new StringBuilder();
    out.append("# HELP jmesh_injector_admissions_total Admission requests answered, by outcome.\n");
    out.append("# TYPE jmesh_injector_admissions_total counter\n");
    new TreeMap<>(byOutcome)
        .forEach(
            (outcome, n) ->
                out.append("jmesh_injector_admissions_total{outcome=\"")
                    .append(outcome)
                    .append("\"} ")
                    .append(n.sum())
                    .append('\n'));
    out.append("# HELP jmesh_injector_tls_reloads_total New serving certificates taken into use.\n");
    out.append("# TYPE jmesh_injector_tls_reloads_total counter\n");
    out.append("jmesh_injector_tls_reloads_total ").append(tls.reloads()).append('\n');
    out.append("# HELP jmesh_injector_tls_reload_failures_total New certificate files refused.\n");
    out.append("# TYPE jmesh_injector_tls_reload_failures_total counter\n");
    out.append("jmesh_injector_tls_reload_failures_total ").append(tls.failures()).append('\n');
    return out.toString();
  }
}
