package io.jmesh.runtime.balance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class PeakEwmaOptionsTest {
  @Test
  void defaultsAreLinkerds() {
    PeakEwmaOptions options = PeakEwmaOptions.defaults();
    assertThat(options.rttPrior()).isEqualTo(Duration.ofMillis(30));
    assertThat(options.decay()).isEqualTo(Duration.ofSeconds(10));
  }

  @Test
  void invalidValuesAreRejectedWithPreciseMessages() {
    PeakEwmaOptions defaults = PeakEwmaOptions.defaults();
    assertThatThrownBy(() -> defaults.withDecay(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("decay: PT0S (expected: > 0)");
    assertThatThrownBy(() -> defaults.withDecay(Duration.ofSeconds(-1)))
        .hasMessage("decay: PT-1S (expected: > 0)");
    assertThatThrownBy(() -> defaults.withDecay(Duration.ofHours(2)))
        .hasMessage("decay: PT2H (expected: <= PT1H)");
    assertThatThrownBy(() -> defaults.withRttPrior(Duration.ZERO))
        .hasMessage("rttPrior: PT0S (expected: > 0)");
    assertThatThrownBy(() -> defaults.withRttPrior(Duration.ofMinutes(2)))
        .hasMessage("rttPrior: PT2M (expected: <= PT1M)");
    assertThatThrownBy(() -> new PeakEwmaOptions(null, Duration.ofSeconds(1)))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("rttPrior");
    assertThatThrownBy(() -> Balancers.peakEwma(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("options");
  }

  @Test
  void boundsAreInclusive() {
    PeakEwmaOptions options = new PeakEwmaOptions(Duration.ofMinutes(1), Duration.ofHours(1));
    assertThat(options.decay()).isEqualTo(Duration.ofHours(1));
    assertThat(new PeakEwmaOptions(Duration.ofNanos(1), Duration.ofNanos(1)).rttPrior())
        .isEqualTo(Duration.ofNanos(1));
  }
}
