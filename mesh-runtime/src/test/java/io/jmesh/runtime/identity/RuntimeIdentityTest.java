package io.jmesh.runtime.identity;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmesh.runtime.MeshRuntime;
import io.jmesh.runtime.retry.Backoff;
import java.time.Duration;
import java.time.Instant;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The runtime carries the workload's mesh TLS for the inbound and outbound sides, and ends it. */
class RuntimeIdentityTest {
  private static final SpiffeId ME = SpiffeId.of("cluster.local", "default", "hello");
  private final FakeTime time = new FakeTime(Instant.parse("2026-12-01T10:00:00Z"));

  @Test
  void aRuntimeWithoutIdentityHasNoMeshTls() {
    try (MeshRuntime runtime = MeshRuntime.builder().build()) {
      assertThat(runtime.meshTls()).isNull();
    }
  }

  @Test
  void theRuntimeHandsOutItsMeshTlsAndStopsRenewingWhenClosed() throws Exception {
    ScriptedCa ca = new ScriptedCa(new TestCa("test", time.now()), time::now);
    IdentityManager identity =
        new IdentityManager(
            ME,
            ca,
            time,
            time.clock(),
            Backoff.exponential(Duration.ofSeconds(1), Duration.ofSeconds(60), 0, new SplittableRandom(1)),
            IdentityManager.DEFAULT_LIFETIME);
    MeshTls tls = new MeshTls(identity, new TlsRefusals(), time.clock());
    identity.start();
    time.runDue();
    MeshRuntime runtime = MeshRuntime.builder().identity(tls).build();

    assertThat(runtime.meshTls()).isSameAs(tls);
    assertThat(runtime.meshTls().identity().current().id()).isEqualTo(ME);
    assertThat(time.pending()).as("the renewal").hasSize(1);

    runtime.close();
    time.runDue();

    // No renewal outlives the runtime; the certificate in force stays readable.
    assertThat(time.pending()).isEmpty();
    assertThat(identity.current()).isNotNull();
  }
}
