package io.jmesh.controller.xds;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The xDS server's meters. Names are Micrometer's dotted form; the Prometheus names (listed in
 * {@code controller/README.md}) follow from them. Per-type meters carry the tag {@code type} with
 * the short names listener, route, cluster and endpoint.
 *
 * <p>Thread-safety: safe from any thread.
 */
final class XdsMetrics {
  static final String STREAMS = "jmesh.xds.streams";
  static final String REQUESTS = "jmesh.xds.requests";
  static final String RESPONSES = "jmesh.xds.responses";
  static final String ACKS = "jmesh.xds.acks";
  static final String NACKS = "jmesh.xds.nacks";
  static final String SNAPSHOT_UPDATES = "jmesh.xds.snapshot.updates";
  static final String PROPAGATION = "jmesh.xds.propagation";

  private final MeterRegistry registry;
  private final Counter snapshotUpdates;
  // Counter lookups by id allocate; these run for every request, so keep the meters at hand.
  private final Map<String, Counter> requests = new ConcurrentHashMap<>();
  private final Map<String, Counter> responses = new ConcurrentHashMap<>();
  private final Map<String, Counter> acks = new ConcurrentHashMap<>();
  private final Map<String, Counter> nacks = new ConcurrentHashMap<>();
  private final Map<String, Timer> propagation = new ConcurrentHashMap<>();

  XdsMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.snapshotUpdates =
        Counter.builder(SNAPSHOT_UPDATES)
            .description("Snapshots set in the xDS cache (a new version for every agent)")
            .register(registry);
    // Register the per-type counters of the served types up front, so that a scrape shows them at
    // zero: a rate over a series that appears only with its first NACK misses that NACK.
    for (String typeUrl : XdsTypes.SERVED) {
      requested(typeUrl, 0);
      responded(typeUrl, 0);
      acked(typeUrl, 0);
      nacked(typeUrl, 0);
    }
  }

  /** Publishes the number of open ADS streams, read from {@code count} at each scrape. */
  void bindStreams(Supplier<Number> count) {
    Gauge.builder(STREAMS, count)
        .description("Open ADS streams (connected agents)")
        .strongReference(true)
        .register(registry);
  }

  void requested(String typeUrl) {
    requested(typeUrl, 1);
  }

  void responded(String typeUrl) {
    responded(typeUrl, 1);
  }

  void acked(String typeUrl) {
    acked(typeUrl, 1);
  }

  void nacked(String typeUrl) {
    nacked(typeUrl, 1);
  }

  void snapshotUpdated() {
    snapshotUpdates.increment();
  }

  /** One agent accepted a version {@code nanos} after it was set (or after it connected). */
  void propagated(String typeUrl, long nanos) {
    propagation
        .computeIfAbsent(
            typeUrl,
            t ->
                Timer.builder(PROPAGATION)
                    .description(
                        "From a snapshot set in the cache (or the stream opening, if later) to an"
                            + " agent's ACK of that version")
                    .tag("type", XdsTypes.shortName(t))
                    .register(registry))
        .record(nanos, TimeUnit.NANOSECONDS);
  }

  private void requested(String typeUrl, double amount) {
    count(requests, REQUESTS, "DiscoveryRequests received", typeUrl, amount);
  }

  private void responded(String typeUrl, double amount) {
    count(responses, RESPONSES, "DiscoveryResponses sent", typeUrl, amount);
  }

  private void acked(String typeUrl, double amount) {
    count(acks, ACKS, "Responses accepted by an agent (ACK)", typeUrl, amount);
  }

  private void nacked(String typeUrl, double amount) {
    count(nacks, NACKS, "Responses rejected by an agent (NACK, error_detail set)", typeUrl, amount);
  }

  private void count(
      Map<String, Counter> counters, String name, String help, String typeUrl, double amount) {
    counters
        .computeIfAbsent(
            typeUrl,
            t ->
                Counter.builder(name)
                    .description(help)
                    .tag("type", XdsTypes.shortName(t))
                    .register(registry))
        .increment(amount);
  }
}
