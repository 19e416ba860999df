package io.jmesh.injector.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.channel.embedded.EmbeddedChannel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServerTlsTest {
  private final TestCerts certs = new TestCerts("test ca");
  private final Clock clock = Clock.systemUTC();
  @TempDir Path dir;

  @Test
  void aNewVersionOfTheSecretIsTakenAtTheNextPollAndOnlyThen() throws Exception {
    TestCerts.Leaf first = certs.leaf();
    certs.write(dir, first);
    ServerTls tls = ServerTls.load(dir, clock);
    assertThat(tls.certificate().getSerialNumber()).isEqualTo(first.serial());

    // Nothing changed: the poll reads, hashes and keeps.
    assertThat(tls.poll()).isFalse();

    // The kubelet swaps ..data; the context changes at the poll, not before.
    TestCerts.Leaf second = certs.leaf();
    certs.swap(dir, second);
    assertThat(tls.certificate().getSerialNumber()).isEqualTo(first.serial());
    assertThat(tls.poll()).isTrue();
    assertThat(tls.certificate().getSerialNumber()).isEqualTo(second.serial());
    assertThat(tls.reloads()).isEqualTo(1);
    assertThat(tls.poll()).isFalse();
  }

  @Test
  void thePollRunsOnTheInjectedSchedulerAtItsInterval() throws Exception {
    TestCerts.Leaf first = certs.leaf();
    certs.write(dir, first);
    ServerTls tls = ServerTls.load(dir, clock);
    // An embedded event loop with frozen time: a scheduler the test moves by hand.
    EmbeddedChannel scheduler = new EmbeddedChannel();
    scheduler.freezeTime();
    tls.pollEvery(scheduler.eventLoop(), Duration.ofSeconds(10));
    TestCerts.Leaf second = certs.leaf();
    certs.swap(dir, second);

    scheduler.advanceTimeBy(9, TimeUnit.SECONDS);
    scheduler.runScheduledPendingTasks();
    assertThat(tls.certificate().getSerialNumber()).isEqualTo(first.serial());

    scheduler.advanceTimeBy(1, TimeUnit.SECONDS);
    scheduler.runScheduledPendingTasks();
    assertThat(tls.certificate().getSerialNumber()).isEqualTo(second.serial());
    scheduler.finishAndReleaseAll();
  }

  @Test
  void aKeyOfAnotherCertificateKeepsTheLastGoodOneUntilThePairIsWhole() throws Exception {
    TestCerts.Leaf first = certs.leaf();
    certs.write(dir, first);
    ServerTls tls = ServerTls.load(dir, clock);
    TestCerts.Leaf second = certs.leaf();

    // A torn write: the new certificate with the old key.
    TestCerts.swap(dir, TestCerts.pem(second.cert()), TestCerts.pkcs8(first.keys().getPrivate()), TestCerts.pem(certs.ca));
    assertThat(tls.poll()).isFalse();
    assertThat(tls.certificate().getSerialNumber()).isEqualTo(first.serial());
    assertThat(tls.failures()).isEqualTo(1);
    // The same bad content is not refused again at every poll.
    assertThat(tls.poll()).isFalse();
    assertThat(tls.failures()).isEqualTo(1);

    certs.swap(dir, second);
    assertThat(tls.poll()).isTrue();
    assertThat(tls.certificate().getSerialNumber()).isEqualTo(second.serial());
  }

  @Test
  void filesThatVanishKeepTheLastGoodCertificate() throws Exception {
    TestCerts.Leaf first = certs.leaf();
    Files.writeString(dir.resolve("tls.crt"), TestCerts.pem(first.cert()));
    Files.writeString(dir.resolve("tls.key"), TestCerts.pkcs8(first.keys().getPrivate()));
    ServerTls tls = ServerTls.load(dir, clock); // a plain folder, no ..data, no ca.crt

    Files.delete(dir.resolve("tls.key"));
    assertThat(tls.poll()).isFalse();
    assertThat(tls.failures()).isEqualTo(1);
    assertThat(tls.certificate().getSerialNumber()).isEqualTo(first.serial());
  }

  @Test
  void aCertificateNotSignedByCaCrtIsRefusedNamingBoth() throws Exception {
    TestCerts other = new TestCerts("other ca");
    TestCerts.Leaf leaf = other.leaf();
    TestCerts.swap(dir, TestCerts.pem(leaf.cert()), TestCerts.pkcs8(leaf.keys().getPrivate()), TestCerts.pem(certs.ca));

    assertThatThrownBy(() -> ServerTls.load(dir, clock))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(dir.resolve("tls.crt") + ": CN=jmesh-injector.jmesh-system.svc does not chain to " + dir.resolve("ca.crt"))
        .hasMessageEndingWith("(expected: signed by the CA the API server trusts, its caBundle)");
  }

  @Test
  void anExpiredCertificateIsRefusedWithItsDates() throws Exception {
    Instant now = Instant.now();
    certs.write(dir, certs.leaf(now.minus(Duration.ofDays(2)), now.minus(Duration.ofDays(1))));

    assertThatThrownBy(() -> ServerTls.load(dir, Clock.fixed(now, ZoneOffset.UTC)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not at " + now)
        .hasMessageEndingWith("(expected: a current certificate)");
  }

  @Test
  void keysInEveryPemFormOfASecretAreRead() throws Exception {
    // PKCS#1 "RSA PRIVATE KEY" and SEC1 "EC PRIVATE KEY", as openssl and cert-manager write them.
    // (Bouncy Castle's EC key: its SEC1 form carries the curve, as openssl's does.)
    var generator = java.security.KeyPairGenerator.getInstance("EC", new org.bouncycastle.jce.provider.BouncyCastleProvider());
    generator.initialize(new java.security.spec.ECGenParameterSpec("secp256r1"));
    for (var keys : new java.security.KeyPair[] {TestCerts.rsa(), generator.generateKeyPair()}) {
      TestCerts.Leaf leaf = certs.leaf(keys, Instant.now().minusSeconds(60), Instant.now().plusSeconds(3600));
      String traditional = TestCerts.pem(keys.getPrivate());
      assertThat(traditional).containsPattern("BEGIN (RSA|EC) PRIVATE KEY");
      TestCerts.swap(dir, TestCerts.pem(leaf.cert()), traditional, TestCerts.pem(certs.ca));

      assertThat(ServerTls.load(dir, clock).certificate().getSerialNumber()).isEqualTo(leaf.serial());
    }
  }

  @Test
  void missingFilesAtTheStartNameTheSecret() {
    assertThatThrownBy(() -> ServerTls.load(dir, clock))
        .isInstanceOf(IOException.class)
        .hasMessageStartingWith(dir.resolve("tls.crt") + ": cannot read: ")
        .hasMessageEndingWith("(expected: the Secret jmesh-injector-tls mounted there, with tls.crt and tls.key)");
  }

  @Test
  void somethingElseThanAKeyIsRefused() throws Exception {
    TestCerts.Leaf leaf = certs.leaf();
    TestCerts.swap(dir, TestCerts.pem(leaf.cert()), TestCerts.pem(leaf.cert()), null);

    assertThatThrownBy(() -> ServerTls.load(dir, clock))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(dir.resolve("tls.key") + ": X509CertificateHolder (expected: an unencrypted private key, PKCS#8, PKCS#1 RSA or SEC1 EC)");
  }
}
