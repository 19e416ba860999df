package io.jmesh.controller.xds;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Set;
import org.junit.jupiter.api.Test;

class VersionHistoryTest {
  @Test
  void forgetsTheOldestVersionsButNotOnesStillServed() {
    VersionHistory history = new VersionHistory(3);
    history.set("v1", 10, Set.of("v1"));
    history.set("v2", 20, Set.of("v1", "v2"));
    history.set("v3", 30, Set.of("v1", "v3"));
    history.set("v4", 40, Set.of("v1", "v4"));
    // v1 is still served (a type unchanged since v1); v2 is the oldest of the others.
    assertThat(history.setAtNanos("v1")).isEqualTo(10);
    assertThat(history.setAtNanos("v2")).isEqualTo(-1);
    assertThat(history.setAtNanos("v3")).isEqualTo(30);
    assertThat(history.setAtNanos("v4")).isEqualTo(40);
    // A namespace's version is timed by its source version.
    assertThat(history.setAtNanos("v4/shop")).isEqualTo(40);
  }
}
