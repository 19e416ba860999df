package io.jmesh.agent.tooling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class WeakIdentityMapTest {

  @Test
  void keysAreComparedByIdentityNotEquals() {
    WeakIdentityMap<Object, String> map = new WeakIdentityMap<>();
    List<String> a = List.of("x");
    List<String> b = List.of("x"); // equal to a, but another object

    map.put(a, "A");

    assertThat(map.get(a)).isEqualTo("A");
    assertThat(map.get(b)).isNull();
    assertThat(map.remove(a)).isEqualTo("A");
    assertThat(map.get(a)).isNull();
  }

  @Test
  void doesNotKeepKeysAlive() {
    WeakIdentityMap<Object, String> map = new WeakIdentityMap<>();
    map.put(new Object(), "gone");
    Object kept = new Object();
    map.put(kept, "kept");

    // Bounded poll: ask for collections until the unreachable key's entry is expunged.
    await()
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(20))
        .until(
            () -> {
              System.gc();
              return map.size() == 1;
            });
    assertThat(map.get(kept)).isEqualTo("kept");
  }
}
