package io.jmesh.runtime.breaker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.jmesh.runtime.breaker.FailureAccrual.Mode;
import io.jmesh.runtime.time.FakeTicker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class FailureAccrualTest {
  private static final EndpointHealth.Options NO_JITTER =
      EndpointHealth.Options.defaults().withJitter(0);

  private final FakeTicker ticker = new FakeTicker();
  private ExecutorService pool;

  @AfterEach
  void stopPool() throws InterruptedException {
    if (pool != null) {
      pool.shutdownNow();
      assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }
  }

  private FailureAccrual accrual(EndpointHealth.Options options) {
    return new FailureAccrual(
        options, ticker, new SplittableRandom(42), FailureAccrual.EjectionGate.UNLIMITED);
  }

  private static void fail(FailureAccrual accrual, int times) {
    for (int i = 0; i < times; i++) {
      accrual.onResult(false);
    }
  }

  /** Moves time to the end of the current penalty and checks that it ends exactly there. */
  private void servePenalty(FailureAccrual accrual, Duration expected) {
    ticker.advance(expected.minusNanos(1));
    assertThat(accrual.isAvailable()).as("1 ns before the end of %s", expected).isFalse();
    assertThat(accrual.tryAdmit()).isFalse();
    ticker.advance(1, TimeUnit.NANOSECONDS);
    assertThat(accrual.isAvailable()).as("at the end of %s", expected).isTrue();
  }

  @Test
  void sixFailuresDoNotEjectSevenDo() {
    FailureAccrual accrual = accrual(NO_JITTER);

    fail(accrual, 6);
    assertThat(accrual.isAvailable()).isTrue();
    assertThat(accrual.state().failures()).isEqualTo(6);

    fail(accrual, 1);
    assertThat(accrual.isAvailable()).isFalse();
    assertThat(accrual.tryAdmit()).isFalse();
    assertThat(accrual.state().mode()).isEqualTo(Mode.EJECTED);
  }

  @Test
  void aSuccessResetsTheCount() {
    FailureAccrual accrual = accrual(NO_JITTER);

    fail(accrual, 6);
    accrual.onResult(true);
    fail(accrual, 6);

    assertThat(accrual.isAvailable()).isTrue();
    fail(accrual, 1);
    assertThat(accrual.isAvailable()).isFalse();
  }

  @Test
  void penaltyDoublesUpToSixtySeconds() {
    FailureAccrual accrual = accrual(NO_JITTER);
    fail(accrual, 7);

    for (long seconds : new long[] {1, 2, 4, 8, 16, 32, 60, 60, 60}) {
      servePenalty(accrual, Duration.ofSeconds(seconds));
      // The probe fails: ejected again, for the next step.
      assertThat(accrual.tryAdmit()).isTrue();
      accrual.onResult(false);
      assertThat(accrual.isAvailable()).isFalse();
    }
  }

  @Test
  void probeSuccessRestoresAndResetsTheBackoff() {
    FailureAccrual accrual = accrual(NO_JITTER);
    fail(accrual, 7);
    servePenalty(accrual, Duration.ofSeconds(1));
    assertThat(accrual.tryAdmit()).isTrue();
    accrual.onResult(false);
    servePenalty(accrual, Duration.ofSeconds(2));

    // The second probe succeeds: back in rotation for everyone.
    assertThat(accrual.tryAdmit()).isTrue();
    accrual.onResult(true);
    assertThat(accrual.state()).isEqualTo(FailureAccrual.State.HEALTHY);
    assertThat(accrual.tryAdmit()).isTrue();
    assertThat(accrual.tryAdmit()).isTrue();

    // Failing again starts over at 1 s, and takes 7 failures again.
    fail(accrual, 6);
    assertThat(accrual.isAvailable()).isTrue();
    fail(accrual, 1);
    servePenalty(accrual, Duration.ofSeconds(1));
  }

  @Test
  void probeFailureReEjectsWithALongerPenalty() {
    FailureAccrual accrual = accrual(NO_JITTER);
    fail(accrual, 7);
    servePenalty(accrual, Duration.ofSeconds(1));

    assertThat(accrual.tryAdmit()).isTrue();
    // While the probe is out nobody else gets through.
    assertThat(accrual.isAvailable()).isFalse();
    assertThat(accrual.tryAdmit()).isFalse();
    accrual.onResult(false);

    assertThat(accrual.state().mode()).isEqualTo(Mode.EJECTED);
    servePenalty(accrual, Duration.ofSeconds(2));
  }

  @Test
  void outcomesOfRequestsSentBeforeTheEjectionAreIgnored() {
    FailureAccrual accrual = accrual(NO_JITTER);
    fail(accrual, 7);

    accrual.onResult(true);
    accrual.onResult(false);

    assertThat(accrual.state().mode()).isEqualTo(Mode.EJECTED);
    servePenalty(accrual, Duration.ofSeconds(1));
  }

  @Test
  void aProbeThatNeverReportsIsGivenUpAfterTheProbeTimeout() {
    FailureAccrual accrual = accrual(NO_JITTER.withProbeTimeout(Duration.ofSeconds(10)));
    fail(accrual, 7);
    servePenalty(accrual, Duration.ofSeconds(1));
    assertThat(accrual.tryAdmit()).isTrue();

    ticker.advance(Duration.ofSeconds(10).minusNanos(1));
    assertThat(accrual.tryAdmit()).isFalse();
    ticker.advance(1, TimeUnit.NANOSECONDS);
    // The lost probe's claim has expired: one new probe, at the same backoff step.
    assertThat(accrual.tryAdmit()).isTrue();
    assertThat(accrual.tryAdmit()).isFalse();
    accrual.onResult(false);
    servePenalty(accrual, Duration.ofSeconds(2));
  }

  @Test
  void jitterAddsUpToHalfThePenaltyButNeverPassesTheCap() {
    RandomGenerator almostOne = new RandomGenerator() {
      @Override
      public long nextLong() {
        throw new UnsupportedOperationException();
      }

      @Override
      public double nextDouble() {
        return 0.999;
      }
    };
    FailureAccrual accrual = new FailureAccrual(EndpointHealth.Options.defaults(), ticker,
        almostOne, FailureAccrual.EjectionGate.UNLIMITED);

    // base + base * 0.5 * 0.999, to within rounding of the double product
    assertThat(accrual.penaltyNanos(0))
        .isCloseTo(Duration.ofMillis(1499).plusNanos(500_000).toNanos(), within(1_000L));
    assertThat(accrual.penaltyNanos(4))
        .isCloseTo(Duration.ofMillis(23_992).toNanos(), within(1_000L));
    assertThat(accrual.penaltyNanos(5))
        .isCloseTo(Duration.ofMillis(47_984).toNanos(), within(1_000L));
    // From step 6 the base is capped at 60 s, and the jitter may not push past it.
    assertThat(accrual.penaltyNanos(6)).isEqualTo(Duration.ofSeconds(60).toNanos());
    assertThat(accrual.penaltyNanos(1000)).isEqualTo(Duration.ofSeconds(60).toNanos());

    // With a 40 s cap, 32 s + 16 s of jitter is cut to 40 s.
    FailureAccrual capped = new FailureAccrual(
        EndpointHealth.Options.defaults().withPenalty(Duration.ofSeconds(1), Duration.ofSeconds(40)),
        ticker, almostOne, FailureAccrual.EjectionGate.UNLIMITED);
    assertThat(capped.penaltyNanos(5)).isEqualTo(Duration.ofSeconds(40).toNanos());
  }

  @Test
  void seededJitterStaysWithinBounds() {
    FailureAccrual accrual = new FailureAccrual(EndpointHealth.Options.defaults(), ticker,
        new SplittableRandom(7), FailureAccrual.EjectionGate.UNLIMITED);
    for (int i = 0; i < 1000; i++) {
      assertThat(accrual.penaltyNanos(1))
          .isBetween(Duration.ofSeconds(2).toNanos(), Duration.ofSeconds(3).toNanos() - 1);
    }
  }

  @Test
  void exactlyOneProbeUnderConcurrentClaims() throws Exception {
    int threads = 8;
    pool = Executors.newFixedThreadPool(threads);
    FailureAccrual accrual = accrual(NO_JITTER);

    for (int round = 0; round < 200; round++) {
      // Eject (first round) or re-eject through a failed probe, then end the penalty.
      if (round == 0) {
        fail(accrual, 7);
      } else {
        accrual.onResult(false);
      }
      ticker.advance(Duration.ofSeconds(60));

      CountDownLatch start = new CountDownLatch(1);
      List<Future<Boolean>> claims = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        claims.add(pool.submit(() -> {
          start.await(10, TimeUnit.SECONDS);
          return accrual.tryAdmit();
        }));
      }
      start.countDown();
      int admitted = 0;
      for (Future<Boolean> claim : claims) {
        if (claim.get(10, TimeUnit.SECONDS)) {
          admitted++;
        }
      }
      assertThat(admitted).as("probes admitted in round %d", round).isEqualTo(1);
    }
  }
}
