package io.jmesh.controller.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code jmesh stat}'s numbers from two scrapes, and its table. */
class StatTest {

  /** One series of the outbound histogram with its cumulative buckets (5, 10, 25 ms, +Inf). */
  private static String series(String source, String route, String status, String errorType, long... cumulative) {
    String labels = "error_type=\"" + errorType + "\",http_request_method=\"GET\",http_response_status_code=\""
        + status + "\",jmesh_destination_service=\"hello.default\",jmesh_route=\"" + route
        + "\",jmesh_source_service=\"" + source + "\",server_address=\"hello\"";
    String[] le = {"0.005", "0.01", "0.025", "+Inf"};
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < le.length; i++) {
      s.append("http_client_request_duration_seconds_bucket{").append(labels).append(",le=\"").append(le[i])
          .append("\"} ").append(cumulative[i]).append('\n');
    }
    s.append("http_client_request_duration_seconds_count{").append(labels).append("} ")
        .append(cumulative[le.length - 1]).append('\n');
    return s.toString();
  }

  @Test
  void successRateRpsAndQuantilesComeFromTheIncreasesInTheWindow() {
    String before =
        series("client.default", "split", "200", "", 100, 100, 100, 100)
            + series("client.default", "split", "503", "503", 1, 1, 1, 1);
    String after =
        // 20 more successes: 10 up to 5 ms, 10 in (5, 10] ms.
        series("client.default", "split", "200", "", 110, 120, 120, 120)
            // 5 more 503s (two of them slow), 4 not-found (a success: the server's answer), and a
            // connect failure whose series appears in the window.
            + series("client.default", "split", "503", "503", 4, 4, 6, 6)
            + series("client.default", "split", "404", "404", 0, 4, 4, 4)
            + series("client.default", "split", "", "connect_failure", 1, 1, 1, 1)
            + series("other.default", "api", "200", "", 0, 0, 0, 10);

    List<Stat.Row> rows =
        Stat.compute(
            Map.of("a", PrometheusText.parse(before)),
            Map.of("a", PrometheusText.parse(after)),
            10.0,
            "client");

    assertThat(rows).singleElement().satisfies(r -> {
      assertThat(r.service()).isEqualTo("hello.default");
      assertThat(r.route()).isEqualTo("split");
      assertThat(r.total()).isEqualTo(30);
      assertThat(r.successes()).isEqualTo(24);
      assertThat(r.rps()).isEqualTo(3.0);
      // 14 calls <= 5 ms, 28 <= 10 ms, 30 <= 25 ms: p50 (rank 15) lies 1/14 into (5, 10] ms.
      assertThat(r.p50()).isCloseTo(0.005 + 0.005 / 14, within(1e-12));
      assertThat(r.p99()).isCloseTo(0.01 + 0.015 * (29.7 - 28) / 2, within(1e-12));
    });
  }

  @Test
  void aRestartedAgentsCountersCountWhole() {
    String before = series("c.default", "r", "200", "", 50, 50, 50, 50);
    String after = series("c.default", "r", "200", "", 2, 2, 2, 2);
    List<Stat.Row> rows =
        Stat.compute(Map.of("a", PrometheusText.parse(before)), Map.of("a", PrometheusText.parse(after)), 2.0, null);
    assertThat(rows.get(0).total()).isEqualTo(2);
  }

  @Test
  void rendersALinkerdStyleTableWithDashesForAnIdleRoute() {
    String table =
        Stat.render(
            List.of(
                new Stat.Row("hello.default", "split", 500, 499, 49.8, 0.0031, 0.0093, 0.0241),
                new Stat.Row("world.default", "default", 0, 0, 0, Double.NaN, Double.NaN, Double.NaN)));
    assertThat(table)
        .isEqualTo(
            "SERVICE         ROUTE     SUCCESS   RPS    LATENCY_P50   LATENCY_P95   LATENCY_P99\n"
                + "hello.default   split     99.80%    49.8   3.1ms         9.3ms         24ms\n"
                + "world.default   default   -         0.0    -             -             -\n");
  }

  @Test
  void fourHundredsAreTheServersAnswerAndFiveHundredsFailures() {
    assertThat(Stat.failed("200", "")).isFalse();
    assertThat(Stat.failed("404", "404")).isFalse();
    assertThat(Stat.failed("503", "503")).isTrue();
    assertThat(Stat.failed("429", "rate_limited")).isTrue();
    assertThat(Stat.failed("", "timeout")).isTrue();
  }
}
