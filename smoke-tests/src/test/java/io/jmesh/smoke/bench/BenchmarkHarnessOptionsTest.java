package io.jmesh.smoke.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class BenchmarkHarnessOptionsTest {
  @Test
  void footprintDefaultsToAllFourApplicationsAndFewerMemoryRunsThanStartUpRuns() {
    BenchmarkHarness.Options o = BenchmarkHarness.Options.parse(new String[0]);

    assertThat(o.footprintApps).containsExactly("jdk", "okhttp", "grpc", "spring");
    assertThat(o.footprintRuns).isEqualTo(7);
    assertThat(o.footprintMemoryRuns).isEqualTo(3);
  }

  @Test
  void parsesTheFootprintFlagsFromOneMavenPropertyString() {
    // -Djmesh.bench.args arrives as one argument with spaces.
    BenchmarkHarness.Options o = BenchmarkHarness.Options.parse(new String[] {
        "--sections footprint --footprint-apps jdk,spring --footprint-runs 9 --footprint-memory-runs 2"
            + " --footprint-idle-seconds 5 --footprint-load-seconds 6", null});

    assertThat(o.sections).containsExactly("footprint");
    assertThat(o.footprintApps).containsExactly("jdk", "spring");
    assertThat(o.footprintRuns).isEqualTo(9);
    assertThat(o.footprintMemoryRuns).isEqualTo(2);
    assertThat(o.footprintIdleSeconds).isEqualTo(5.0);
    assertThat(o.footprintLoadSeconds).isEqualTo(6.0);
  }

  @Test
  void refusesAnUnknownApplicationNamingTheChoices() {
    assertThatThrownBy(() -> BenchmarkHarness.Options.parse(new String[] {"--footprint-apps", "jdk,quarkus"}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("--footprint-apps jdk,quarkus: unknown application quarkus"
            + " (expected: one or more of jdk,okhttp,grpc,spring)");
  }

  @Test
  void refusesZeroMemoryRuns() {
    assertThatThrownBy(() -> BenchmarkHarness.Options.parse(new String[] {"--footprint-memory-runs", "0"}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("--footprint-memory-runs 0 (expected: >= 1)");
  }
}
