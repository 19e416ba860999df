package io.jmesh.smoke.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class FootprintSectionTest {
  private static final long FAILED = FootprintSection.FAILED;

  @Test
  void anUnansweredStartUpRunIsCountedButLeftOutOfTheFigures() {
    // Under load the agent's start gate expired once: that run's first call got no answer.
    long[] withAgent = {9806, 11415, FAILED, 7124};

    assertThat(FootprintSection.msRange(withAgent)).isEqualTo("9806 ms (7124–11415, 1 unanswered)");
    assertThat(FootprintSection.addedMs(withAgent, new long[] {669, 741, 844})).isEqualTo("+9065 ms");
  }

  @Test
  void everyRunAnsweredPrintsThePlainRange() {
    assertThat(FootprintSection.msRange(new long[] {526, 649, 758})).isEqualTo("649 ms (526–758)");
  }

  @Test
  void noAnsweredRunOnOneSideHasNoFigure() {
    long[] none = {FAILED, FAILED};

    assertThat(FootprintSection.msRange(none)).isEqualTo("n/a, 2 unanswered");
    assertThat(FootprintSection.addedMs(none, new long[] {500})).isEqualTo("n/a");
  }
}
