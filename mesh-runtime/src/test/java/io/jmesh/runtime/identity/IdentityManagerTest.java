package io.jmesh.runtime.identity;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmesh.runtime.retry.Backoff;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class IdentityManagerTest {
  private static final SpiffeId ME = SpiffeId.of("cluster.local", "default", "hello");
  private final FakeTime time = new FakeTime(Instant.parse("2026-12-01T10:00:00Z"));
  private final Backoff backoff =
      Backoff.exponential(Duration.ofSeconds(1), Duration.ofSeconds(60), 0, new SplittableRandom(1));
  private TestCa ca;
  private ScriptedCa scripted;
  private IdentityManager manager;

  private IdentityManager start() throws Exception {
    ca = new TestCa("test", time.now());
    scripted = new ScriptedCa(ca, time::now);
    manager = new IdentityManager(ME, scripted, time, time.clock(), backoff, IdentityManager.DEFAULT_LIFETIME);
    return manager;
  }

  @AfterEach
  void noTimerLeft() {
    if (manager != null) {
      manager.close();
    }
    time.runDue();
    assertThat(time.pending()).as("timers left pending").isEmpty();
  }

  @Test
  void theFirstCertificateArrivesAndRenewalIsDueAtTwoThirdsOfItsLife() throws Exception {
    start().start();
    assertThat(manager.current()).isNull();

    time.runDue();

    WorkloadCertificate c = manager.current();
    assertThat(c).isNotNull();
    assertThat(c.id()).isEqualTo(ME);
    assertThat(c.anchors()).containsExactly(ca.anchor);
    assertThat(scripted.lastLifetime).isEqualTo(Duration.ofHours(24));
    // Valid from a minute ago for 24 h 1 min: renewal two thirds in, 16 h 0 min 40 s from now.
    assertThat(time.pending()).containsExactly(Duration.ofHours(16).plusSeconds(-20));
  }

  @Test
  void aLeafShorterThanTheCasBackdatingIsRenewedAtHalfOfWhatIsLeftNotAtOnce() throws Exception {
    ca = new TestCa("test", time.now());
    scripted = new ScriptedCa(ca, time::now);
    manager = new IdentityManager(ME, scripted, time, time.clock(), backoff, Duration.ofSeconds(6));
    manager.start();

    time.runDue();

    // Valid from a minute ago for 6 s more: two thirds of 66 s is 16 s in the past, so renewal
    // would be due at once, again and again. Half of the 6 s left instead.
    assertThat(scripted.requests).isEqualTo(1);
    assertThat(time.pending()).containsExactly(Duration.ofSeconds(3));
    time.forward(Duration.ofSeconds(3));
    assertThat(scripted.requests).isEqualTo(2);
    assertThat(time.pending()).containsExactly(Duration.ofSeconds(3));
  }

  @Test
  void renewalBringsANewKeyAndCertificate() throws Exception {
    start().start();
    time.runDue();
    WorkloadCertificate first = manager.current();

    time.forward(Duration.ofHours(16));

    WorkloadCertificate second = manager.current();
    assertThat(scripted.requests).isEqualTo(2);
    assertThat(second).isNotSameAs(first);
    assertThat(second.chain()[0].getPublicKey()).isNotEqualTo(first.chain()[0].getPublicKey());
    assertThat(second.notAfter()).isAfter(first.notAfter());
  }

  @Test
  void anUnreachableCaIsRetriedWithBackoffAndTheCurrentCertificateStaysInUse() throws Exception {
    start().start();
    time.runDue();
    WorkloadCertificate first = manager.current();
    scripted.thenFail("CA 127.0.0.1:18000: UNAVAILABLE: io exception").thenFail("CA: UNAVAILABLE");

    // Renewal fails twice; retries after 1 s, then 2 s; the old certificate serves meanwhile.
    time.forward(Duration.ofHours(16).plusSeconds(-20));
    assertThat(manager.lastError()).isEqualTo("CA 127.0.0.1:18000: UNAVAILABLE: io exception");
    assertThat(manager.current()).isSameAs(first);
    assertThat(time.pending()).containsExactly(Duration.ofSeconds(1));
    time.forward(Duration.ofSeconds(1));
    assertThat(time.pending()).containsExactly(Duration.ofSeconds(2));
    time.forward(Duration.ofSeconds(2));

    assertThat(scripted.requests).isEqualTo(4);
    assertThat(manager.lastError()).isNull();
    assertThat(manager.current()).isNotSameAs(first);
  }

  @Test
  void aCertificateThatExpiresWhileTheCaIsDownIsNoLongerOffered() throws Exception {
    start().start();
    time.runDue();
    scripted.down = "CA: UNAVAILABLE";

    time.forward(Duration.ofHours(24).plusMinutes(1));

    // Fails closed: no certificate, so no mesh handshake succeeds.
    assertThat(manager.current()).isNull();
    assertThat(manager.lastError()).isEqualTo("CA: UNAVAILABLE");
  }

  @Test
  void anAnswerForAnotherIdentityIsRefused() throws Exception {
    start();
    SpiffeId other = SpiffeId.of("cluster.local", "default", "intruder");
    scripted.then((csr, lifetime) -> {
      // The CA signs the CSR's key, but names another workload.
      String forged = csr; // same key
      List<String> a = ca.answer(forged, time.now(), lifetime);
      var key = Pem.certificates(a.get(0)).get(0).getPublicKey();
      return List.of(
          Pem.encode(ca.leaf(key, other.toString(), time.now(), time.now().plus(lifetime))),
          Pem.encode(ca.issuer),
          Pem.encode(ca.anchor));
    });
    manager.start();

    time.runDue();

    assertThat(manager.current()).isNull();
    assertThat(manager.lastError())
        .isEqualTo("CA answer: the leaf names " + other + " (expected: " + ME + ")");
    time.forward(Duration.ofSeconds(1)); // the retry succeeds
    assertThat(manager.current().id()).isEqualTo(ME);
  }

  @Test
  void anAnswerWithoutAnAnchorIsRefused() throws Exception {
    start();
    scripted.then((csr, lifetime) -> ca.answer(csr, time.now(), lifetime).subList(0, 2));
    manager.start();

    time.runDue();

    assertThat(manager.current()).isNull();
    assertThat(manager.lastError())
        .isEqualTo("CA answer holds no trust anchor (expected: leaf, issuers, then self-signed anchors)");
    time.forward(Duration.ofSeconds(1));
    assertThat(manager.current()).isNotNull();
  }

  @Test
  void closeCancelsTheRenewal() throws Exception {
    start().start();
    time.runDue();
    assertThat(time.pending()).hasSize(1);

    manager.close();
    time.runDue();

    assertThat(time.pending()).isEmpty();
    assertThat(manager.current()).isNotNull();
  }
}
