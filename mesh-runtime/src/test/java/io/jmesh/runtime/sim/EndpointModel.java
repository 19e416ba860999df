package io.jmesh.runtime.sim;

import java.time.Duration;
import java.util.random.RandomGenerator;

/**
 * How one modelled endpoint answers an attempt: after how long, and with which status. The
 * simulator draws every answer from the endpoint's own random stream, so that what one endpoint
 * answers does not shift the draws of another.
 *
 * <p>Healthy latency is lognormal with a median of 10 ms and, by default, σ = 0.5 (p90 ≈ 19 ms,
 * p99 ≈ 32 ms; {@link Settings#latencySigma} changes σ): the usual right-skewed shape of a
 * service's response time, with a tail but no stalls. A 503 is answered fast, lognormal with a
 * median of 1 ms, as a server that rejects without doing the work. Latency does not depend on
 * load: an endpoint serves any number of requests in parallel.
 */
interface EndpointModel {
  long HEALTHY_MEDIAN_NANOS = Duration.ofMillis(10).toNanos();
  long FAILURE_MEDIAN_NANOS = Duration.ofMillis(1).toNanos();

  /**
   * The answer to an attempt sent {@code sinceStartNanos} after the simulation began, its
   * lognormal latencies drawn with {@code sigma}.
   */
  Answer answer(long sinceStartNanos, RandomGenerator random, double sigma);

  /** A short description for the table's legend. */
  String describe();

  /** One answer: its latency and HTTP status. */
  record Answer(long latencyNanos, int status) {
    boolean isSuccess() {
      return status < 400;
    }
  }

  static long lognormal(long medianNanos, RandomGenerator random, double sigma) {
    return Math.round(medianNanos * Math.exp(sigma * random.nextGaussian()));
  }

  /** 200 after a healthy latency. */
  static EndpointModel healthy() {
    return new EndpointModel() {
      @Override
      public Answer answer(long sinceStartNanos, RandomGenerator random, double sigma) {
        return new Answer(lognormal(HEALTHY_MEDIAN_NANOS, random, sigma), 200);
      }

      @Override
      public String describe() {
        return "healthy";
      }
    };
  }

  /** 200 after a healthy latency plus {@code extra}. */
  static EndpointModel slower(Duration extra) {
    long extraNanos = extra.toNanos();
    return new EndpointModel() {
      @Override
      public Answer answer(long sinceStartNanos, RandomGenerator random, double sigma) {
        return new Answer(extraNanos + lognormal(HEALTHY_MEDIAN_NANOS, random, sigma), 200);
      }

      @Override
      public String describe() {
        return "healthy + " + extra.toMillis() + " ms";
      }
    };
  }

  /** 503, fast, to every attempt. */
  static EndpointModel unavailable() {
    return new EndpointModel() {
      @Override
      public Answer answer(long sinceStartNanos, RandomGenerator random, double sigma) {
        return new Answer(lognormal(FAILURE_MEDIAN_NANOS, random, sigma), 503);
      }

      @Override
      public String describe() {
        return "503 only";
      }
    };
  }

  /**
   * Answers like {@code good} for {@code period}, then like {@code bad} for {@code period}, and so
   * on, starting good. The phase is read when the attempt is sent.
   */
  static EndpointModel flapping(Duration period, EndpointModel good, EndpointModel bad) {
    long periodNanos = period.toNanos();
    return new EndpointModel() {
      @Override
      public Answer answer(long sinceStartNanos, RandomGenerator random, double sigma) {
        boolean badPhase = (sinceStartNanos / periodNanos) % 2 == 1;
        return (badPhase ? bad : good).answer(sinceStartNanos, random, sigma);
      }

      @Override
      public String describe() {
        return "flapping " + period.toSeconds() + " s " + good.describe() + " / "
            + period.toSeconds() + " s " + bad.describe();
      }
    };
  }
}
