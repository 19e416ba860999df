package io.jmesh.runtime.bench;

import io.jmesh.runtime.Endpoint;
import io.jmesh.runtime.MeshRuntime;
import io.jmesh.runtime.OutboundCall;
import io.jmesh.runtime.OutboundRequest;
import io.jmesh.runtime.Admission;
import io.jmesh.runtime.call.BlockingCall;
import io.jmesh.runtime.call.CallDriver;
import io.jmesh.runtime.call.Outcomes;
import java.io.IOException;
import java.util.function.Function;
import io.jmesh.runtime.config.DestinationPolicy;
import io.jmesh.runtime.config.MeshConfigParser;
import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.telemetry.MeshMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * One outbound call through the runtime, as an adapter drives it: route (destination lookup,
 * route match, weighted backend), pick an endpoint, record the attempt and the call's metrics in
 * a Prometheus registry (the agent's). Also the cost of the miss that every non-mesh call pays.
 * Run with {@code -prof gc} for bytes allocated per call ({@code gc.alloc.rate.norm}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class RouteAndPickBenchmark {
  private static final String CONFIG =
      String.join(
          "\n",
          "services:",
          "  - name: hello",
          "    ports: [8080]",
          "    endpoints:",
          "      - {address: 127.0.0.2, port: 18081, labels: {version: v1}}",
          "      - {address: 127.0.0.3, port: 18081, labels: {version: v1}}",
          "      - {address: 127.0.0.4, port: 18081, labels: {version: v2}}",
          "    routes:",
          "      - name: canary",
          "        matches:",
          "          - headers: [{name: x-canary, value: always}]",
          "        backends:",
          "          - {subset: {version: v2}, weight: 1}",
          "      - name: split",
          "        backends:",
          "          - {subset: {version: v1}, weight: 90}",
          "          - {subset: {version: v2}, weight: 10}",
          "");

  private MeshRuntime runtime;
  // The same mesh with the simplest balancer: the baseline for what peak-EWMA costs.
  private MeshRuntime randomRuntime;
  private OutboundRequest meshRequest;
  private final Map<String, String> headers = Map.of("accept", "*/*");

  @Setup
  public void setUp() throws Exception {
    runtime = recording(MeshConfigParser.parse("bench.yaml", CONFIG, "default"));
    randomRuntime =
        recording(
            MeshConfigParser.parse(
                "bench.yaml",
                CONFIG.replace("    ports: [8080]\n", "    ports: [8080]\n    policy: {balancer: random}\n"),
                "default"));
    if (randomRuntime.snapshot().services().get(0).policy().balancer() != DestinationPolicy.Balancer.RANDOM) {
      throw new IllegalStateException("the baseline mesh must use the random balancer");
    }
    meshRequest = OutboundRequest.of("http", "hello", 8080, "GET", "/api/items", headers::get);
  }

  /** A runtime that records its metrics as the agent's does: into a Prometheus registry. */
  private static MeshRuntime recording(MeshSnapshot snapshot) {
    return MeshRuntime.builder()
        .snapshot(snapshot)
        .metrics(new MeshMetrics(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), "client.default"))
        .build();
  }

  /**
   * The whole per-call path of a meshed request as an adapter drives it: route, admit (budget
   * deposit, limits, faults), pick (breaker filter, in-flight count), per-try timeout, record the
   * outcome of a 200 as adapters report it (balancer, breaker, retry decision), finish (metrics).
   */
  @Benchmark
  public Endpoint routePickRecord() {
    return drive(runtime.route(meshRequest));
  }

  private static Endpoint drive(OutboundCall call) {
    call.admit(true, 0);
    Endpoint endpoint = call.nextEndpoint();
    call.attemptTimeoutNanos();
    call.attemptFinished(endpoint, Outcomes.of(200), 1_000_000L);
    call.finish();
    return endpoint;
  }

  /** The same with the weighted-random balancer instead of peak-EWMA. */
  @Benchmark
  public Endpoint routePickRecordRandomBalancer() {
    return drive(randomRuntime.route(meshRequest));
  }

  /** Building the request view too, as adapters do per call. */
  @Benchmark
  public Endpoint viewRoutePickRecord() {
    OutboundCall call =
        runtime.route(OutboundRequest.of("http", "hello.default.svc.cluster.local", 8080, "GET", "/api/items", headers::get));
    return drive(call);
  }

  // An endpoint that answers 200 at once: the driver's cost without the network's.
  private static final CallDriver.Sender<String> ANSWERS_200 =
      attempt -> attempt.succeeded("ok", Outcomes.of(200), 200);
  private static final Function<Admission, String> REFUSED = refusal -> "refused";

  /**
   * The call as the blocking adapters (OkHttp, HttpURLConnection) drive it: {@link BlockingCall}
   * on the caller's thread over the whole path above, one attempt answered 200.
   */
  @Benchmark
  public String blockingCall() throws IOException {
    return BlockingCall.run(runtime.route(meshRequest), true, 0, ANSWERS_200, CallDriver.Observer.NONE, REFUSED);
  }

  /** What a call to a host outside the mesh pays: one lookup. */
  @Benchmark
  public boolean nonMeshLookup() {
    return runtime.isMeshDestination("api.example.com", 443);
  }
}
