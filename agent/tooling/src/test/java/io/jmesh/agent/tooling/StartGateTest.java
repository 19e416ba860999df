package io.jmesh.agent.tooling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.lang.instrument.ClassFileTransformer;
import java.security.ProtectionDomain;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class StartGateTest {
  private static final String TARGET = "com/example/Client";
  private static final byte[] WOVEN = {1};

  private final ClassFileTransformer weaver =
      new ClassFileTransformer() {
        @Override
        public byte[] transform(
            Module module, ClassLoader loader, String name, Class<?> redefined, ProtectionDomain domain, byte[] bytes) {
          return WOVEN;
        }
      };

  @Test
  void aWaitingClassWorksWhileItWaitsThenIsWoven() throws Exception {
    StartGate gate = new StartGate(Set.of(TARGET), 30_000);
    List<String> prepared = new CopyOnWriteArrayList<>();
    gate.whileWaiting(prepared::add);
    AtomicReference<byte[]> result = new AtomicReference<>();
    Thread app = new Thread(() -> result.set(transform(gate, getClass().getClassLoader(), TARGET)), "app");
    app.start();

    await().atMost(Duration.ofSeconds(10)).until(() -> app.getState() == Thread.State.WAITING
        || app.getState() == Thread.State.TIMED_WAITING);
    assertThat(prepared).containsExactly(TARGET);
    gate.open(weaver);
    app.join(10_000);

    assertThat(result.get()).isEqualTo(WOVEN);
  }

  @Test
  void workThatFailsWhileWaitingChangesNothingButTheTiming() {
    StartGate gate = new StartGate(Set.of(TARGET), 30_000);
    gate.whileWaiting(name -> {
      throw new IllegalStateException("boom");
    });
    Thread app = new Thread(() -> transform(gate, null, TARGET), "app");
    app.start();
    await().atMost(Duration.ofSeconds(10)).until(() -> app.getState() == Thread.State.WAITING
        || app.getState() == Thread.State.TIMED_WAITING);
    gate.open(weaver);

    await().atMost(Duration.ofSeconds(10)).until(() -> !app.isAlive());
  }

  @Test
  void remembersTheTargetsWovenAsTheyLoadedSoNoneIsRetransformed() {
    StartGate gate = new StartGate(Set.of(TARGET, internal(String.class), internal(StartGateTest.class)), 30_000);
    gate.open(weaver);

    assertThat(gate.wovenAtLoad(String.class)).isFalse();
    transform(gate, null, internal(String.class)); // the bootstrap loader
    transform(gate, getClass().getClassLoader(), internal(StartGateTest.class));

    assertThat(gate.wovenAtLoad(String.class)).isTrue();
    assertThat(gate.wovenAtLoad(StartGateTest.class)).isTrue();
    assertThat(gate.wovenAtLoad(Thread.class)).isFalse();
  }

  @Test
  void aRetransformationIsNoLoad() throws Exception {
    StartGate gate = new StartGate(Set.of(internal(StartGateTest.class)), 30_000);
    gate.open(weaver);

    gate.transform(null, getClass().getClassLoader(), internal(StartGateTest.class), StartGateTest.class, null, new byte[0]);

    assertThat(gate.wovenAtLoad(StartGateTest.class)).isFalse();
  }

  private static String internal(Class<?> c) {
    return c.getName().replace('.', '/');
  }

  private static byte[] transform(StartGate gate, ClassLoader loader, String name) {
    try {
      return gate.transform(null, loader, name, null, null, new byte[0]);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }
}
