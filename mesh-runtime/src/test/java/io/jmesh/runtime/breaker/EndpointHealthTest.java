package io.jmesh.runtime.breaker;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmesh.runtime.Endpoint;
import io.jmesh.runtime.config.ServiceEndpoint;
import io.jmesh.runtime.time.FakeTicker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class EndpointHealthTest {
  private static final EndpointHealth.Options NO_JITTER =
      EndpointHealth.Options.defaults().withJitter(0);

  private final FakeTicker ticker = new FakeTicker();

  private EndpointHealth health(EndpointHealth.Options options, List<Endpoint> endpoints) {
    EndpointHealth health =
        new EndpointHealth("hello.default", options, ticker, new SplittableRandom(1));
    health.updateEndpoints(endpoints);
    return health;
  }

  private static List<Endpoint> endpoints(int n) {
    List<Endpoint> list = new ArrayList<>();
    for (int i = 1; i <= n; i++) {
      list.add(ServiceEndpoint.of("10.0.0." + i, 8080));
    }
    return list;
  }

  private static void fail(EndpointHealth health, Endpoint e, int times) {
    for (int i = 0; i < times; i++) {
      health.onResult(e, false);
    }
  }

  private static long available(EndpointHealth health, List<Endpoint> endpoints) {
    return endpoints.stream().filter(health::isAvailable).count();
  }

  @Test
  void ejectionCapWithTwoEndpointsIsOne() {
    List<Endpoint> eps = endpoints(2);
    EndpointHealth health = health(NO_JITTER, eps);

    fail(health, eps.get(0), 7);
    fail(health, eps.get(1), 7);

    // The first is ejected; ejecting the second would exceed 50 %, so it stays in rotation.
    assertThat(health.isAvailable(eps.get(0))).isFalse();
    assertThat(health.isAvailable(eps.get(1))).isTrue();
    assertThat(health.ejectedCount()).isEqualTo(1);
    assertThat(health.maxEjections()).isEqualTo(1);
  }

  @Test
  void ejectionCapWithThreeEndpointsIsOne() {
    List<Endpoint> eps = endpoints(3);
    EndpointHealth health = health(NO_JITTER, eps);

    eps.forEach(e -> fail(health, e, 7));

    assertThat(health.maxEjections()).isEqualTo(1);
    assertThat(available(health, eps)).isEqualTo(2);
    assertThat(health.isAvailable(eps.get(0))).isFalse();
  }

  @Test
  void ejectionCapWithFourEndpointsIsTwo() {
    List<Endpoint> eps = endpoints(4);
    EndpointHealth health = health(NO_JITTER, eps);

    eps.forEach(e -> fail(health, e, 7));

    assertThat(health.maxEjections()).isEqualTo(2);
    assertThat(available(health, eps)).isEqualTo(2);
    assertThat(health.isAvailable(eps.get(2))).isTrue();
    assertThat(health.isAvailable(eps.get(3))).isTrue();
  }

  @Test
  void aSingleEndpointIsNeverEjectedAtFiftyPercentButIsAtHundred() {
    List<Endpoint> one = endpoints(1);

    EndpointHealth capped = health(NO_JITTER, one);
    fail(capped, one.get(0), 50);
    assertThat(capped.isAvailable(one.get(0))).isTrue();

    EndpointHealth uncapped = health(NO_JITTER.withMaxEjectionPercent(100), one);
    fail(uncapped, one.get(0), 7);
    assertThat(uncapped.isAvailable(one.get(0))).isFalse();
  }

  @Test
  void anEndpointHeldBackByTheCapIsEjectedByItsNextFailureOnceThereIsRoom() {
    List<Endpoint> eps = endpoints(2);
    Endpoint a = eps.get(0);
    Endpoint b = eps.get(1);
    EndpointHealth health = health(NO_JITTER, eps);
    fail(health, a, 7);
    fail(health, b, 9);
    assertThat(health.isAvailable(b)).isTrue();

    // A's probe succeeds: A returns and frees the slot.
    ticker.advance(Duration.ofSeconds(1));
    assertThat(health.tryAdmit(a)).isTrue();
    assertThat(health.tryAdmit(a)).isFalse();
    health.onResult(a, true);
    assertThat(health.isAvailable(a)).isTrue();
    assertThat(health.ejectedCount()).isZero();

    // B has kept counting, so one more failure ejects it.
    fail(health, b, 1);
    assertThat(health.isAvailable(b)).isFalse();
    assertThat(health.ejectedCount()).isEqualTo(1);
  }

  @Test
  void removingAnEjectedEndpointFreesItsSlot() {
    List<Endpoint> eps = endpoints(4);
    EndpointHealth health = health(NO_JITTER, eps);
    fail(health, eps.get(0), 7);
    fail(health, eps.get(1), 7);
    assertThat(health.ejectedCount()).isEqualTo(2);

    health.updateEndpoints(eps.subList(1, 4));

    // Three endpoints: the cap is one, held by the still-ejected second endpoint.
    assertThat(health.ejectedCount()).isEqualTo(1);
    assertThat(health.isAvailable(eps.get(1))).isFalse();
    fail(health, eps.get(2), 7);
    assertThat(health.isAvailable(eps.get(2))).isTrue();
    // Outcomes for the removed endpoint are ignored, and it is not filtered.
    fail(health, eps.get(0), 7);
    assertThat(health.isAvailable(eps.get(0))).isTrue();
    assertThat(health.ejectedCount()).isEqualTo(1);
  }

  @Test
  void keptEndpointsKeepTheirState() {
    List<Endpoint> eps = endpoints(4);
    EndpointHealth health = health(NO_JITTER, eps);
    fail(health, eps.get(0), 7);

    health.updateEndpoints(List.of(ServiceEndpoint.of("10.0.0.1", 8080), eps.get(1), eps.get(2)));

    assertThat(health.isAvailable(eps.get(0))).isFalse();
    assertThat(health.ejectedCount()).isEqualTo(1);
  }

  @Test
  void successRateOutliersAreEjected() {
    SuccessRateOutlier detector = SuccessRateOutlier.defaults();
    List<Endpoint> eps = endpoints(6);
    EndpointHealth health = health(NO_JITTER.withSuccessRateOutlier(detector), eps);
    Endpoint bad = eps.get(5);
    Endpoint quiet = eps.get(4);

    // Four endpoints at 99 %, one at 50 % (never 7 failures in a row), one with too few requests.
    for (int i = 0; i < 200; i++) {
      for (Endpoint e : eps.subList(0, 4)) {
        health.onResult(e, i % 100 != 0);
      }
      health.onResult(bad, i % 2 == 0);
    }
    for (int i = 0; i < 49; i++) {
      health.onResult(quiet, false);
      health.onResult(quiet, true);
    }
    assertThat(available(health, eps)).isEqualTo(6);

    assertThat(health.detectOutliers()).containsExactly(bad);
    assertThat(health.isAvailable(bad)).isFalse();
    assertThat(health.isAvailable(quiet)).isTrue();

    // The counts start over each interval: with no traffic since, nothing more is ejected.
    assertThat(health.detectOutliers()).isEmpty();
  }

  @Test
  void outlierDetectionNeedsEnoughBusyEndpoints() {
    List<Endpoint> eps = endpoints(6);
    EndpointHealth health =
        health(NO_JITTER.withSuccessRateOutlier(SuccessRateOutlier.defaults()), eps);

    // Only four endpoints reach 100 requests; Envoy's minimum is five.
    for (int i = 0; i < 100; i++) {
      for (Endpoint e : eps.subList(0, 3)) {
        health.onResult(e, true);
      }
      health.onResult(eps.get(3), i % 2 == 0);
    }

    assertThat(health.detectOutliers()).isEmpty();
  }

  @Test
  void outlierDetectionIsOffByDefault() {
    List<Endpoint> eps = endpoints(5);
    EndpointHealth health = health(NO_JITTER, eps);
    for (int i = 0; i < 200; i++) {
      for (Endpoint e : eps) {
        health.onResult(e, e != eps.get(0) || i % 2 == 0);
      }
    }
    assertThat(health.detectOutliers()).isEmpty();
  }

  @Test
  void successRateOutlierThreshold() {
    SuccessRateOutlier detector = SuccessRateOutlier.defaults();

    // Rates 1, 1, 1, 1, 0.7: mean 0.94, stdev 0.12, threshold 0.94 - 1.9 * 0.12 = 0.712.
    assertThat(detector.outliers(samples(1000, 1000, 1000, 1000, 700))).containsExactly(4);
    // Rates 1 .. 0.8 evenly: mean 0.9, stdev 0.0707, threshold 0.766: nobody.
    assertThat(detector.outliers(samples(1000, 950, 900, 850, 800))).isEmpty();
    // All equal: stdev 0, nobody is below the mean.
    assertThat(detector.outliers(samples(500, 500, 500, 500, 500))).isEmpty();
  }

  private static List<SuccessRateOutlier.Sample<Integer>> samples(int... successesPerThousand) {
    List<SuccessRateOutlier.Sample<Integer>> samples = new ArrayList<>();
    for (int i = 0; i < successesPerThousand.length; i++) {
      samples.add(new SuccessRateOutlier.Sample<>(i, 1000, successesPerThousand[i]));
    }
    return samples;
  }
}
