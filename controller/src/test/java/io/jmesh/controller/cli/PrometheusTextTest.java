package io.jmesh.controller.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PrometheusTextTest {

  @Test
  void readsSamplesSkippingCommentsWithEscapedLabelsAndSpecialValues() {
    List<PrometheusText.Sample> samples =
        PrometheusText.parse(
            String.join(
                "\n",
                "# HELP http_client_request_duration_seconds Outbound calls",
                "# TYPE http_client_request_duration_seconds histogram",
                "http_client_request_duration_seconds_bucket{jmesh_route=\"a\\\"b\",le=\"0.005\",path=\"c:\\\\d\\n\"} 3",
                "",
                "http_client_request_duration_seconds_bucket{le=\"+Inf\",} +Inf",
                "up 1 1700000000000",
                "jmesh_ratio{x=\"y, z\"} NaN",
                "neg -1.5e-3"));

    assertThat(samples).hasSize(5);
    assertThat(samples.get(0).labels())
        .isEqualTo(Map.of("jmesh_route", "a\"b", "le", "0.005", "path", "c:\\d\n"));
    assertThat(samples.get(0).value()).isEqualTo(3.0);
    assertThat(samples.get(1).value()).isEqualTo(Double.POSITIVE_INFINITY);
    assertThat(samples.get(2).name()).isEqualTo("up");
    assertThat(samples.get(2).labels()).isEmpty();
    assertThat(samples.get(3).label("x")).isEqualTo("y, z");
    assertThat(samples.get(3).value()).isNaN();
    assertThat(samples.get(4).value()).isEqualTo(-0.0015);
  }

  @Test
  void aBadLineIsNamedWithItsNumber() {
    assertThatThrownBy(() -> PrometheusText.parse("ok 1\nbroken{le=\"1} 2"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("metrics line 2")
        .hasMessageContaining("expected: a closing quote");
    assertThatThrownBy(() -> PrometheusText.parse("name abc"))
        .hasMessageContaining("value \"abc\" (expected: a number, NaN, +Inf or -Inf)");
  }
}
