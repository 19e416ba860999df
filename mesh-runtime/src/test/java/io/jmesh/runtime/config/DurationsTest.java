package io.jmesh.runtime.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DurationsTest {

  @Test
  void readsWhatMeshYamlWroteBeforeTheParsersMerged() {
    // One part, units ms, s, m, h: the file-mode YAML's old syntax.
    assertThat(Durations.parse("timeout", "250ms")).isEqualTo(Duration.ofMillis(250));
    assertThat(Durations.parse("timeout", "10s")).isEqualTo(Duration.ofSeconds(10));
    assertThat(Durations.parse("timeout", "5m")).isEqualTo(Duration.ofMinutes(5));
    assertThat(Durations.parse("timeout", "1h")).isEqualTo(Duration.ofHours(1));
    assertThat(Durations.parse("timeout", "0ms")).isEqualTo(Duration.ZERO);
  }

  @Test
  void readsWhatControllerFlagsWroteBeforeTheParsersMerged() {
    // Parts with d, h, m, s as Go and Kubernetes write them, and ISO-8601: DurationFlag's syntax.
    assertThat(Durations.parse("--x", "24h")).hasHours(24);
    assertThat(Durations.parse("--x", "1h30m")).hasMinutes(90);
    assertThat(Durations.parse("--x", "90s")).hasSeconds(90);
    assertThat(Durations.parse("--x", "365d")).hasDays(365);
    assertThat(Durations.parse("--x", "PT2H")).hasHours(2);
    assertThat(Durations.parse("--x", "P1DT12H")).hasHours(36);
  }

  @Test
  void readsWhatTheCliWroteBeforeTheParsersMerged() {
    // Parts with ms, s, m, h, any case, white space around: JmeshCli's syntax.
    assertThat(Durations.parse("--window", "500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(Durations.parse("--window", "1m30s")).isEqualTo(Duration.ofSeconds(90));
    assertThat(Durations.parse("--window", " 10S ")).isEqualTo(Duration.ofSeconds(10));
    assertThat(Durations.parse("--window", "1h1m1s1ms")).isEqualTo(Duration.ofMillis(3_661_001));
  }

  @Test
  void refusalsNameTheSettingTheValueAndTheForm() {
    for (String bad :
        new String[] {"", " ", "h", "1", "1.5h", "-1h", "1h 2m", "1w", "10 seconds", "PT-2H", "-PT2H",
            "P", "99999999999999999999s", "9223372036854775807d"}) {
      assertThatThrownBy(() -> Durations.parse("--ttl", bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage(
              "--ttl: \"" + bad + "\" (expected: a duration such as 250ms, 90s, 30m, 24h, 1h30m, 7d or PT2H)");
    }
  }
}
