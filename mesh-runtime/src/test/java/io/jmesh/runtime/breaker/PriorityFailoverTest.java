package io.jmesh.runtime.breaker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmesh.runtime.breaker.PriorityFailover.Load;
import org.junit.jupiter.api.Test;

class PriorityFailoverTest {

  private static Load load(int[] healthy, int[] total) {
    return PriorityFailover.load(healthy, total);
  }

  @Test
  void twoLevelsWithTheSecondFullyHealthy() {
    // Envoy's table: P=1 is 100 % healthy, P=0 degrades.
    int[][] table = {
      // healthy of 100 in P=0, traffic to P=0, traffic to P=1
      {100, 100, 0},
      {80, 100, 0},
      {72, 100, 0},
      {71, 99, 1},
      {50, 70, 30},
      {25, 35, 65},
      {0, 0, 100},
    };
    for (int[] row : table) {
      Load load = load(new int[] {row[0], 100}, new int[] {100, 100});
      assertThat(load.percent()).as("P=0 %d %% healthy", row[0]).containsExactly(row[1], row[2]);
      assertThat(load.panic()).isFalse();
    }
  }

  @Test
  void threeLevelsSpillInTurn() {
    // 50 %, 50 %, 100 %: health 70, 70, 100; P=1 takes only what P=0 leaves.
    assertThat(load(new int[] {5, 5, 10}, new int[] {10, 10, 10}).percent())
        .containsExactly(70, 30, 0);
    // 20 %, 20 %, 100 %: health 28, 28, 100.
    assertThat(load(new int[] {2, 2, 10}, new int[] {10, 10, 10}).percent())
        .containsExactly(28, 28, 44);
    // P=0 down entirely, 25 % of P=1 healthy: health 0, 35, 100.
    assertThat(load(new int[] {0, 1, 10}, new int[] {10, 4, 10}).percent())
        .containsExactly(0, 35, 65);
  }

  @Test
  void loadIsScaledUpWhenTotalHealthIsBelowHundred() {
    // 20 %, 20 %: health 28 + 28 = 56; each gets 28 / 56.
    assertThat(load(new int[] {2, 2}, new int[] {10, 10}).percent()).containsExactly(50, 50);
    // 20 %, 20 %, 10 %: health 28, 28, 14 = 70 → 40, 40, 20.
    assertThat(load(new int[] {2, 2, 1}, new int[] {10, 10, 10}).percent())
        .containsExactly(40, 40, 20);
    // 30 %, 10 %, 20 %: health 42, 14, 28 = 84 → 50, 16, 33 (+1 rounding to P=0).
    assertThat(load(new int[] {3, 1, 2}, new int[] {10, 10, 10}).percent())
        .containsExactly(51, 16, 33);
  }

  @Test
  void totalPanicSpreadsByEndpointCount() {
    // 10 % and 0 %: health 14 < panic threshold 50: split by size 10 : 30.
    Load load = load(new int[] {1, 0}, new int[] {10, 30});
    assertThat(load.percent()).containsExactly(25, 75);
    assertThat(load.panic()).isTrue();

    // Nothing healthy anywhere.
    assertThat(load(new int[] {0, 0, 0}, new int[] {1, 1, 1}).percent())
        .containsExactly(34, 33, 33);
    // No endpoint at all.
    assertThat(load(new int[] {0, 0}, new int[] {0, 0}).percent()).containsExactly(100, 0);
  }

  @Test
  void panicThresholdZeroTurnsPanicOff() {
    Load load = PriorityFailover.load(new int[] {1, 1}, new int[] {10, 10}, 140, 0);
    assertThat(load.percent()).containsExactly(50, 50);
    assertThat(load.panic()).isFalse();
  }

  @Test
  void emptyLevelsGetNothing() {
    assertThat(load(new int[] {0, 10}, new int[] {0, 10}).percent()).containsExactly(0, 100);
  }

  @Test
  void choosePriorityFollowsTheLoad() {
    Load load = load(new int[] {5, 10}, new int[] {10, 10}); // 70 / 30
    assertThat(load.choosePriority(0)).isEqualTo(0);
    assertThat(load.choosePriority(69)).isEqualTo(0);
    assertThat(load.choosePriority(70)).isEqualTo(1);
    assertThat(load.choosePriority(99)).isEqualTo(1);
    assertThatThrownBy(() -> load.choosePriority(100)).hasMessage("roll: 100 (expected: 0..99)");
  }

  @Test
  void rejectsInconsistentCounts() {
    assertThatThrownBy(() -> load(new int[] {3}, new int[] {2}))
        .hasMessage("priority 0: healthy 3, total 2 (expected: 0 <= healthy <= total)");
    assertThatThrownBy(() -> load(new int[] {1}, new int[] {1, 1}))
        .hasMessage("priorities: healthy 1, total 2 (expected: the same number, >= 1)");
  }
}
