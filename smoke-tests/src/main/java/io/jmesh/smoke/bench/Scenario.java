package io.jmesh.smoke.bench;

import io.jmesh.smoke.support.Jvm;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;

/**
 * One row of the benchmark's sidecar comparison: how the same load client reaches the same {@code
 * HelloServer}. Each run of a scenario is {@linkplain Opener#open opened} before its server starts
 * (a control plane, ports, credentials), says how the server JVM is started (address, port, JVM
 * options, environment), and once the server listens yields the {@link Route}: the URL the client
 * calls, what the client JVM gets, and which extra processes to charge for CPU and memory.
 *
 * <p>Adding a path to the comparison is one more definition in {@link BenchmarkHarness}'s list.
 *
 * @param name the row's label
 * @param pending why the row has no numbers yet (printed in its place), or null when it runs
 * @param inJvms whether the path lives inside the client and server JVMs (an agent), so that their
 *     growth over the direct row's is memory the path adds
 * @param opener opens one run of the scenario; called once per scenario and round
 */
record Scenario(String name, String pending, boolean inJvms, Opener opener) {

  /** Prepares one run of a scenario before its server starts. */
  @FunctionalInterface
  interface Opener {
    Run open() throws Exception;
  }

  /**
   * One opened run. The harness starts the server as {@link #serverBind}, {@link #serverPort} and
   * {@link #server} say, calls {@link #route} once it printed {@code READY}, and {@link #close}s
   * the run after the route, once, after the scenario's last measurement.
   */
  interface Run extends AutoCloseable {
    /** The address the server binds, given the harness's own; that one by default. */
    default String serverBind(String harnessHost) {
      return harnessHost;
    }

    /** The port the server binds; 0 (any free port) by default. */
    default int serverPort() {
      return 0;
    }

    /** Applied to the server's JVM before it starts. */
    default void server(Jvm.Builder b) {}

    /** Starts the path to {@code server}, which already listens on {@code host:port}. */
    Route route(Jvm server, String host, int port) throws Exception;

    @Override
    default void close() {}
  }

  /**
   * A started path. {@link #close} stops what {@link Run#route} started and may be called once;
   * the harness calls it after the scenario's last measurement.
   */
  interface Route extends AutoCloseable {
    /** The URL the load client calls. */
    String url();

    /** Applied to each load-client JVM before it starts (agent, mesh config, ...). */
    default void client(Jvm.Builder b) {}

    /** Processes besides client and server that do this path's work (proxies); none by default. */
    default List<Long> pids() {
      return List.of();
    }

    /**
     * Processes the path needs but no request passes through (a controller, as istiod is for
     * Istio): reported apart, charged neither CPU per request nor memory added; none by default.
     */
    default List<Long> controlPlanePids() {
      return List.of();
    }

    @Override
    default void close() {}

    /** A route with nothing of its own to start or stop. */
    static Route of(String url, Consumer<Jvm.Builder> client) {
      return new Route() {
        @Override
        public String url() {
          return url;
        }

        @Override
        public void client(Jvm.Builder b) {
          client.accept(b);
        }
      };
    }
  }

  /** Runs the scenario's numbers; false for a row that only names what it waits for. */
  boolean runs() {
    return pending == null;
  }

  /** The baseline: no agent on either side, the client calls the server's own address. */
  static Scenario direct() {
    return new Scenario("direct (plaintext)", null, false,
        () -> (server, host, port) -> Route.of("http://" + host + ":" + port + "/", c -> {}));
  }

  /**
   * The sidecar model: {@link SidecarPair} (two HAProxy processes, mTLS between them) in front of
   * the server; the client calls the local outbound proxy. Neither JVM has an agent.
   */
  static Scenario haproxySidecarPair(Duration readyTimeout) {
    return new Scenario("HAProxy sidecar pair (mTLS)", null, false, () -> (server, host, port) ->
        routeThrough(SidecarPair.start(host, port, readyTimeout)));
  }

  /**
   * The floor of a server-side hop: one plaintext TCP relay ({@link SidecarPair#startTcpRelay})
   * in front of the server, no TLS, no HTTP parsing. jmesh's inbound terminator is such a hop
   * plus TLS, HTTP/2 and policy: this row is what the hop alone costs, with the cheapest relay at
   * hand.
   */
  static Scenario tcpRelayFloor(Duration readyTimeout) {
    return new Scenario("one plaintext TCP relay (floor)", null, false, () -> (server, host, port) ->
        routeThrough(SidecarPair.startTcpRelay(host, port, readyTimeout)));
  }

  private static Route routeThrough(SidecarPair proxies) {
    return new Route() {
      @Override
      public String url() {
        return proxies.url();
      }

      @Override
      public List<Long> pids() {
        return proxies.pids();
      }

      @Override
      public void close() {
        proxies.close();
      }
    };
  }

  /**
   * jmesh's own path ({@link MeshTlsPath}): the agent in both JVMs, a controller that is also the
   * CA, mutual TLS 1.3 and HTTP/2 between the JVMs; the client calls the logical name.
   */
  static Scenario jmeshMeshTls(String inboundHost, Duration readyTimeout) {
    return new Scenario("jmesh mTLS", null, true, () -> MeshTlsPath.open(inboundHost, readyTimeout));
  }

  /** A row that is listed with {@code why} instead of numbers until what it needs exists. */
  static Scenario pending(String name, String why) {
    return new Scenario(name, why, false, () -> {
      throw new IllegalStateException("scenario " + name + " is pending (" + why + ") and cannot start");
    });
  }
}
