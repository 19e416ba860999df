package io.jmesh.runtime.identity;

import io.jmesh.runtime.retry.Backoff;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.SplittableRandom;

/**
 * For tests of other packages: a mesh (a {@link TestCa}) whose workloads get real certificates,
 * and {@link MeshTls} contexts that present them. Certificates are valid from now for a day.
 */
public final class TestIdentities {
  private final TestCa ca;

  private TestIdentities(TestCa ca) {
    this.ca = ca;
  }

  public static TestIdentities mesh(String name) {
    try {
      return new TestIdentities(new TestCa(name, Instant.now()));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** TLS for a workload of this mesh that holds a certificate for {@code id}. */
  public MeshTls tls(SpiffeId id, TlsRefusals refusals) {
    FakeTime time = new FakeTime(Instant.now());
    IdentityManager m =
        new IdentityManager(
            id,
            new ScriptedCa(ca, time::now),
            time,
            Clock.systemUTC(),
            Backoff.exponential(Duration.ofSeconds(1), Duration.ofSeconds(1), 0, new SplittableRandom(1)),
            Duration.ofHours(24));
    m.start();
    time.runDue();
    m.close();
    time.runDue();
    if (m.current() == null) {
      throw new IllegalStateException("no certificate for " + id + ": " + m.lastError());
    }
    return new MeshTls(m, refusals, Clock.systemUTC());
  }
}
