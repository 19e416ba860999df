package io.jmesh.smoke.bench;

import io.jmesh.smoke.support.Jvm;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;

/**
 * One row of the benchmark's sidecar comparison: how the same load client reaches the same {@code
 * HelloServer}. A scenario says what the server JVM gets (JVM options, environment), and how to
 * start whatever sits in between once the server listens, which yields the URL the client calls,
 * what the client JVM gets, and which extra processes to charge for CPU and memory.
 *
 * <p>Adding a path to the comparison is one more definition in {@link BenchmarkHarness}'s list,
 * e.g. for jmesh's own mTLS: {@code new Scenario("jmesh mTLS", null, server -> server.withAgent()
 * .env("JMESH_CONFIG", ..), (host, port) -> Route.of(meshUrl, client -> client.withAgent()..))}.
 *
 * @param name the row's label
 * @param pending why the row has no numbers yet (printed in its place), or null when it runs
 * @param server applied to the server's JVM before it starts
 * @param starter starts the path to a listening server; called once per scenario and run
 */
record Scenario(String name, String pending, Consumer<Jvm.Builder> server, Starter starter) {

  /** Starts the path between client and server; the server already listens on {@code host:port}. */
  @FunctionalInterface
  interface Starter {
    Route start(String host, int port) throws Exception;
  }

  /**
   * A started path. {@link #close} stops what {@link Starter#start} started and may be called once;
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
    return new Scenario(
        "direct (plaintext)", null, server -> {}, (host, port) -> Route.of("http://" + host + ":" + port + "/", c -> {}));
  }

  /**
   * The sidecar model: {@link SidecarPair} (two HAProxy processes, mTLS between them) in front of
   * the server; the client calls the local outbound proxy. Neither JVM has an agent.
   */
  static Scenario haproxySidecarPair(Duration readyTimeout) {
    return new Scenario(
        "HAProxy sidecar pair (mTLS)",
        null,
        server -> {},
        (host, port) -> {
          SidecarPair pair = SidecarPair.start(host, port, readyTimeout);
          return new Route() {
            @Override
            public String url() {
              return pair.url();
            }

            @Override
            public List<Long> pids() {
              return pair.pids();
            }

            @Override
            public void close() {
              pair.close();
            }
          };
        });
  }

  /** A row that is listed with {@code why} instead of numbers until what it needs exists. */
  static Scenario pending(String name, String why) {
    return new Scenario(
        name,
        why,
        server -> {},
        (host, port) -> {
          throw new IllegalStateException("scenario " + name + " is pending (" + why + ") and cannot start");
        });
  }
}
