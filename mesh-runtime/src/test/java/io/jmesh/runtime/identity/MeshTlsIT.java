package io.jmesh.runtime.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmesh.runtime.retry.Backoff;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Mesh TLS over real loopback sockets with the JDK's TLS 1.3: both sides present certificates of
 * the mesh, each checks the other, and each way a peer can be wrong is refused and counted.
 */
class MeshTlsIT {
  private static final String TD = "cluster.local";
  private static final SpiffeId SERVER = SpiffeId.of(TD, "default", "hello");
  private static final SpiffeId CLIENT = SpiffeId.of(TD, "default", "client");

  private final Instant now = Instant.now();
  private final Clock clock = Clock.systemUTC();
  private final ExecutorService acceptor = Executors.newSingleThreadExecutor();
  private TestCa mesh;
  private SSLServerSocket listener;
  private MeshTls server;
  private final TlsRefusals serverRefusals = new TlsRefusals();
  private final TlsRefusals clientRefusals = new TlsRefusals();

  @BeforeEach
  void setUp() throws Exception {
    mesh = new TestCa("mesh", now);
    server = new MeshTls(identity(mesh, SERVER, now, Duration.ofHours(24)), serverRefusals, clock);
    listener = (SSLServerSocket) server.serverContext().getServerSocketFactory().createServerSocket(0, 8, InetAddress.getLoopbackAddress());
    listener.setEnabledProtocols(MeshTls.PROTOCOLS);
    listener.setNeedClientAuth(true);
  }

  @AfterEach
  void tearDown() throws Exception {
    listener.close();
    acceptor.shutdownNow();
    assertThat(acceptor.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
  }

  /** A manager that holds a certificate from {@code ca}, issued at {@code issuedAt}. */
  private static IdentityManager identity(TestCa ca, SpiffeId id, Instant issuedAt, Duration lifetime) throws Exception {
    FakeTime time = new FakeTime(issuedAt);
    IdentityManager m =
        new IdentityManager(id, new ScriptedCa(ca, time::now), time, time.clock(), Backoff.exponential(Duration.ofSeconds(1), Duration.ofSeconds(1), 0, new java.util.SplittableRandom(1)), lifetime);
    m.start();
    time.runDue();
    m.close();
    time.runDue();
    assertThat(m.current()).as("certificate for " + id).isNotNull();
    return m;
  }

  /** Accepts one connection, handshakes, echoes one line with the caller's identity. */
  private CompletableFuture<SpiffeId> serveOne() {
    return CompletableFuture.supplyAsync(
        () -> {
          try (SSLSocket s = (SSLSocket) listener.accept()) {
            s.setSoTimeout(10_000);
            s.startHandshake();
            SpiffeId caller = MeshTls.peerIdentity(s.getSession());
            OutputStream out = s.getOutputStream();
            out.write(("hello " + caller + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            return caller;
          } catch (IOException e) {
            throw new RuntimeException(e);
          }
        },
        acceptor);
  }

  private String call(MeshTls client, Set<SpiffeId> expected) throws IOException {
    SSLSocket s =
        (SSLSocket) client.clientContext("hello.default", expected).getSocketFactory()
            .createSocket();
    try (s) {
      s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), listener.getLocalPort()), 10_000);
      s.setSoTimeout(10_000);
      s.setEnabledProtocols(MeshTls.PROTOCOLS);
      s.startHandshake();
      assertThat(MeshTls.peerIdentity(s.getSession())).isEqualTo(SERVER);
      InputStream in = s.getInputStream();
      return new String(in.readNBytes(("hello " + CLIENT + "\n").length()), StandardCharsets.UTF_8);
    }
  }

  @Test
  void bothSidesProveTheirIdentity() throws Exception {
    MeshTls client = new MeshTls(identity(mesh, CLIENT, now, Duration.ofHours(24)), clientRefusals, clock);
    CompletableFuture<SpiffeId> served = serveOne();

    assertThat(call(client, Set.of(SERVER))).isEqualTo("hello " + CLIENT + "\n");

    assertThat(served.get(10, TimeUnit.SECONDS)).isEqualTo(CLIENT);
    assertThat(serverRefusals.total()).isZero();
    assertThat(clientRefusals.total()).isZero();
  }

  @Test
  void aClientCertificateFromAnotherCaIsRefused() throws Exception {
    TestCa other = new TestCa("other", now);
    MeshTls client = new MeshTls(identity(other, CLIENT, now, Duration.ofHours(24)), clientRefusals, clock);
    CompletableFuture<SpiffeId> served = serveOne();

    // The client cannot trust the server either (its anchors are the other CA's), so it refuses
    // first; run the other way round too: a client that trusts the mesh but holds another CA's leaf.
    assertThatThrownBy(() -> call(client, Set.of(SERVER))).isInstanceOf(SSLHandshakeException.class);
    assertThat(clientRefusals.count(TlsRefusals.Reason.UNTRUSTED_CHAIN)).isEqualTo(1);
    assertThatThrownBy(() -> served.get(10, TimeUnit.SECONDS)).hasRootCauseInstanceOf(IOException.class);

    CompletableFuture<SpiffeId> served2 = serveOne();
    MeshTls forger = new MeshTls(mixed(other, mesh, CLIENT), clientRefusals, clock);
    assertThatThrownBy(() -> call(forger, Set.of(SERVER))).isInstanceOf(IOException.class);
    assertThatThrownBy(() -> served2.get(10, TimeUnit.SECONDS))
        .hasMessageContaining("chain does not lead to a trust anchor of this mesh");
    assertThat(serverRefusals.count(TlsRefusals.Reason.UNTRUSTED_CHAIN)).isEqualTo(1);
  }

  @Test
  void anExpiredClientCertificateIsRefused() throws Exception {
    // Issued two days ago for one day: expired a day ago. Its manager's clock stayed at the issue
    // time, so it still offers the certificate; the server checks it against the real time.
    IdentityManager expired = identity(mesh, CLIENT, now.minus(Duration.ofDays(2)), Duration.ofHours(24));
    MeshTls client = new MeshTls(expired, clientRefusals, clock);
    CompletableFuture<SpiffeId> served = serveOne();

    assertThatThrownBy(() -> call(client, Set.of(SERVER))).isInstanceOf(IOException.class);

    assertThatThrownBy(() -> served.get(10, TimeUnit.SECONDS)).hasMessageContaining("is not valid at");
    assertThat(serverRefusals.count(TlsRefusals.Reason.EXPIRED)).isEqualTo(1);
  }

  @Test
  void aServerWhoseIdentityIsNotTheDestinationsIsRefused() throws Exception {
    MeshTls client = new MeshTls(identity(mesh, CLIENT, now, Duration.ofHours(24)), clientRefusals, clock);
    CompletableFuture<SpiffeId> served = serveOne();
    SpiffeId expected = SpiffeId.of(TD, "default", "payments");

    assertThatThrownBy(() -> call(client, Set.of(expected)))
        .isInstanceOf(SSLHandshakeException.class)
        .hasMessageContaining(
            "server identity " + SERVER + " is not one of [" + expected + "] expected for hello.default");

    assertThat(clientRefusals.count(TlsRefusals.Reason.WRONG_IDENTITY)).isEqualTo(1);
    assertThatThrownBy(() -> served.get(10, TimeUnit.SECONDS)).hasRootCauseInstanceOf(IOException.class);
  }

  @Test
  void plaintextGetsNoAnswer() throws Exception {
    CompletableFuture<SpiffeId> served = serveOne();
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), listener.getLocalPort())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write("GET / HTTP/1.1\r\nHost: hello\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      // The server answers a TLS alert at most, never HTTP.
      byte[] answer = s.getInputStream().readAllBytes();
      assertThat(new String(answer, StandardCharsets.ISO_8859_1)).doesNotContain("HTTP/");
    }
    assertThatThrownBy(() -> served.get(10, TimeUnit.SECONDS)).hasRootCauseInstanceOf(IOException.class);
  }

  /** A workload that trusts {@code trusted}'s anchors but holds a leaf from {@code signer}. */
  private static IdentityManager mixed(TestCa signer, TestCa trusted, SpiffeId id) throws Exception {
    FakeTime time = new FakeTime(Instant.now());
    ScriptedCa ca = new ScriptedCa(signer, time::now);
    ca.then((csr, lifetime) -> {
      var answer = new java.util.ArrayList<>(signer.answer(csr, time.now(), lifetime));
      answer.add(Pem.encode(trusted.anchor));
      return answer;
    });
    IdentityManager m = new IdentityManager(id, ca, time, time.clock(), Backoff.exponential(Duration.ofSeconds(1), Duration.ofSeconds(1), 0, new java.util.SplittableRandom(1)), Duration.ofHours(24));
    m.start();
    time.runDue();
    m.close();
    time.runDue();
    assertThat(m.current()).isNotNull();
    return m;
  }
}
