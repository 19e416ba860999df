package io.jmesh.runtime.config;

import java.time.Duration;
import java.util.Objects;
import java.util.Set;

/**
 * What a route adds to its requests: a timeout for the whole call, retries, and fault injection.
 *
 * @param timeout the whole call, all attempts included; {@code null} for none (Linkerd's default)
 * @param retry when and how to retry
 * @param fault requests to fail or delay on purpose, for canary tests; {@link Fault#NONE} by default
 */
public record RoutePolicy(Duration timeout, Retry retry, Fault fault) {
  /** No timeout, default retries, no fault. */
  public static final RoutePolicy DEFAULT = new RoutePolicy(null, Retry.DEFAULT, Fault.NONE);

  public RoutePolicy {
    Objects.requireNonNull(retry, "retry");
    Objects.requireNonNull(fault, "fault");
  }

  /**
   * Retries of one route.
   *
   * @param attempts attempts in total, the first included; 1 turns retries off (default 3)
   * @param perTryTimeout one attempt's timeout, {@code null} for none (default)
   * @param onConnectFailure retry when the connection could not be made (default true)
   * @param onReset retry when the connection was reset before a response (default true)
   * @param onStatus HTTP statuses to retry (default 502, 503, 504)
   * @param nonIdempotent also retry methods that are not idempotent, such as POST (default false)
   * @param backoffBase the first backoff (default 25 ms), doubling per retry
   * @param backoffMax the longest backoff (default 250 ms)
   * @param maxReplayBytes the largest request body kept to replay (default 64 KiB)
   * @param onGrpcStatus gRPC status codes to retry, matched on a gRPC attempt's own status (not
   *     the HTTP status it maps to); only the codes of {@link GrpcRetryConditions#CODES} (default
   *     none). HTTP attempts never match them
   */
  public record Retry(
      int attempts,
      Duration perTryTimeout,
      boolean onConnectFailure,
      boolean onReset,
      Set<Integer> onStatus,
      boolean nonIdempotent,
      Duration backoffBase,
      Duration backoffMax,
      int maxReplayBytes,
      Set<Integer> onGrpcStatus) {
    public static final Retry DEFAULT =
        new Retry(3, null, true, true, Set.of(502, 503, 504), false, Duration.ofMillis(25), Duration.ofMillis(250), 64 * 1024);

    /** Retries without gRPC conditions. */
    public Retry(
        int attempts,
        Duration perTryTimeout,
        boolean onConnectFailure,
        boolean onReset,
        Set<Integer> onStatus,
        boolean nonIdempotent,
        Duration backoffBase,
        Duration backoffMax,
        int maxReplayBytes) {
      this(attempts, perTryTimeout, onConnectFailure, onReset, onStatus, nonIdempotent, backoffBase, backoffMax, maxReplayBytes, Set.of());
    }

    public Retry {
      if (attempts < 1) {
        throw new IllegalArgumentException("attempts: " + attempts + " (expected: >= 1)");
      }
      onStatus = Set.copyOf(onStatus);
      onGrpcStatus = Set.copyOf(onGrpcStatus);
      for (int code : onGrpcStatus) {
        if (!GrpcRetryConditions.CODES.containsValue(code)) {
          throw new IllegalArgumentException(
              "onGrpcStatus: " + code + " (expected: one of " + GrpcRetryConditions.CODES + ")");
        }
      }
      Objects.requireNonNull(backoffBase, "backoffBase");
      Objects.requireNonNull(backoffMax, "backoffMax");
      if (backoffMax.compareTo(backoffBase) < 0) {
        throw new IllegalArgumentException(
            "backoffMax: " + backoffMax + " (expected: >= backoffBase " + backoffBase + ")");
      }
    }
  }

  /**
   * Faults injected on purpose.
   *
   * @param abortPercent share of requests answered with {@code abortStatus} without being sent
   * @param abortStatus the status of aborted requests
   * @param delayPercent share of requests delayed by {@code delay} before being sent
   * @param delay how long
   */
  public record Fault(double abortPercent, int abortStatus, double delayPercent, Duration delay) {
    public static final Fault NONE = new Fault(0, 503, 0, Duration.ZERO);

    public Fault {
      Objects.requireNonNull(delay, "delay");
    }

    public boolean isNone() {
      return abortPercent == 0 && delayPercent == 0;
    }
  }
}
