package io.jmesh.controller;

import static io.jmesh.controller.JsonPath.parse;
import static io.jmesh.controller.JsonPath.string;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Value;
import io.jmesh.controller.ca.BootstrapTokens;
import io.jmesh.controller.ca.CertificateAuthority;
import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.identity.ControllerTls;
import io.jmesh.runtime.identity.GrpcCertificateClient;
import io.jmesh.runtime.identity.IdentityManager;
import io.jmesh.runtime.identity.MeshTls;
import io.jmesh.runtime.identity.TlsRefusals;
import io.jmesh.runtime.retry.Backoff;
import io.jmesh.runtime.xds.XdsClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.X509ExtendedKeyManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The controller's port over real TLS, as agents meet it: the runtime's xDS client and CA client
 * verify the controller with trust anchors from a file; a controller with another CA (a man in the
 * middle, or a replacement on the same port) is refused and the last good config stays; once the
 * workload has a certificate its stream presents it, and the controller knows whose stream it is.
 */
class ControllerTlsIT {
  private static final String HELLO_ID = "spiffe://cluster.local/ns/default/sa/hello";
  private static final String MESH_A =
      "services:\n  - name: hello\n    ports: [8080]\n    endpoints:\n"
          + "      - {address: 127.0.0.2, port: 18081}\n";
  private static final String MESH_B =
      "services:\n  - name: evil\n    ports: [8080]\n    endpoints:\n"
          + "      - {address: 127.0.0.9, port: 18081}\n";

  @TempDir Path dir;
  private final List<AutoCloseable> closeables = new ArrayList<>();
  private final ScheduledExecutorService scheduler =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "test-xds");
            t.setDaemon(true);
            return t;
          });

  @AfterEach
  void stop() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
    scheduler.shutdownNow();
    assertThat(scheduler.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
  }

  private Controller controller(String name, String mesh, int port) throws Exception {
    Path file = dir.resolve(name + ".yaml");
    Files.writeString(file, mesh);
    Controller c =
        Controller.start(
            Controller.Options.defaults(file)
                .withXdsAddress("127.0.0.1", port)
                .withAdminAddress("127.0.0.1", 0)
                .withCaDir(dir.resolve(name))
                .withPollMillis(50));
    closeables.add(c);
    return c;
  }

  private XdsClient xdsClient(int port, ControllerTls tls) {
    return xdsClient(port, tls, null);
  }

  private XdsClient xdsClient(int port, ControllerTls tls, XdsClient.Prepared prepared) {
    XdsClient client =
        new XdsClient(
            new XdsClient.Options(
                List.of("127.0.0.1:" + port),
                new XdsClient.NodeIdentity("hello-1", "hello", "default"),
                Duration.ofMillis(50),
                Duration.ofMillis(200),
                tls),
            scheduler,
            new SplittableRandom(1),
            prepared);
    closeables.add(client);
    return client;
  }

  private static Value agents(Controller c) throws Exception {
    return parse(new AdminClient(c.adminPort()).body("/agents"));
  }

  private static int agentCount(Controller c) throws Exception {
    return (int) JsonPath.at(agents(c), "agentCount").getNumberValue();
  }

  private static ControllerTls anchorsOf(Controller c, X509ExtendedKeyManager keys)
      throws Exception {
    return ControllerTls.fromAnchorsFile(c.trustAnchorsFile().orElseThrow(), null, keys);
  }

  @Test
  void aControllerWithAnotherCaOnTheSamePortIsRefusedAndTheLastGoodConfigStays()
      throws Exception {
    Controller a = controller("a", MESH_A, 0);
    int port = a.xdsPort();
    ControllerTls anchorsA = anchorsOf(a, null);
    XdsClient client = xdsClient(port, anchorsA);
    AtomicReference<MeshSnapshot> applied = new AtomicReference<>();
    client.start(applied::set);
    String versionA = versionOf(a);
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> applied.get() != null && applied.get().version().equals(versionA));
    assertThat(client.status().tlsRefusals()).isZero();

    // A goes; B, with a CA of its own, takes its port.
    a.close();
    Controller b = controller("b", MESH_B, port);
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(() -> assertThat(client.status().tlsRefusals()).isGreaterThanOrEqualTo(2));
    assertThat(client.status().lastTlsRefusal())
        .startsWith("TLS handshake refused: ")
        .endsWith(
            "(expected: a controller certificate that chains to the trust anchors in "
                + dir.resolve("a").resolve("trust-anchors.pem")
                + " and names the host dialled)");
    assertThat(applied.get().version()).isEqualTo(versionA);
    assertThat(client.status().ackedVersions()).containsValue(versionA);
    assertThat(agentCount(b)).isZero();
  }

  @Test
  void aChannelPreparedBeforeTheClientCarriesItsFirstStream() throws Exception {
    Controller a = controller("a", MESH_A, 0);
    ControllerTls tls = anchorsOf(a, null);
    // The agent prepares the channel at its start, before it knows everything the client needs.
    XdsClient.Prepared prepared =
        XdsClient.Prepared.connect("127.0.0.1:" + a.xdsPort(), tls, scheduler);
    XdsClient client = xdsClient(a.xdsPort(), tls, prepared);
    AtomicReference<MeshSnapshot> applied = new AtomicReference<>();
    client.start(applied::set);

    assertThat(client.awaitListeners(Duration.ofSeconds(10))).isTrue();
    String version = versionOf(a);
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> applied.get() != null && applied.get().version().equals(version));
    assertThat(client.status().streams()).isEqualTo(1);
    assertThat(client.status().tlsRefusals()).isZero();
  }

  @Test
  void aNameTheCertificateDoesNotCarryIsRefused() throws Exception {
    Controller a = controller("a", MESH_A, 0);
    XdsClient client =
        xdsClient(
            a.xdsPort(),
            ControllerTls.fromAnchorsFile(
                a.trustAnchorsFile().orElseThrow(), "jmesh-controller.other.svc", null));
    AtomicReference<MeshSnapshot> applied = new AtomicReference<>();
    client.start(applied::set);
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(() -> assertThat(client.status().tlsRefusals()).isGreaterThanOrEqualTo(1));
    assertThat(applied.get()).isNull();

    // The service name is in the certificate by default.
    XdsClient byName =
        xdsClient(
            a.xdsPort(),
            ControllerTls.fromAnchorsFile(
                a.trustAnchorsFile().orElseThrow(), "jmesh-controller.default.svc", null));
    AtomicReference<MeshSnapshot> good = new AtomicReference<>();
    byName.start(good::set);
    await().atMost(Duration.ofSeconds(10)).until(() -> good.get() != null);
  }

  @Test
  void aManInTheMiddleWithAnotherCaHandsOutNeitherCertificatesNorConfig() throws Exception {
    // The real controller's anchors, which the agent was given out of band.
    Path realCa = dir.resolve("real");
    Path realAnchors =
        CertificateAuthority.loadOrCreate(realCa, "cluster.local", Clock.systemUTC())
            .writeTrustAnchors();
    ControllerTls real = ControllerTls.fromAnchorsFile(realAnchors, null, null);
    // The man in the middle: a controller of its own CA, even holding a token it accepts.
    Controller mitm = controller("mitm", MESH_B, 0);
    String token =
        BootstrapTokens.load(dir.resolve("mitm"), "cluster.local", Clock.systemUTC())
            .issue("default", "hello", Duration.ofHours(1));

    GrpcCertificateClient ca =
        new GrpcCertificateClient("127.0.0.1", mitm.xdsPort(), () -> token, scheduler, real);
    closeables.add(ca);
    Throwable refused =
        org.assertj.core.api.Assertions.catchThrowable(
            () -> ca.create(csrPem(), Duration.ofHours(1))
                .toCompletableFuture()
                .join());
    assertThat(refused).isInstanceOf(CompletionException.class);
    assertThat(refused.getCause().getMessage())
        .startsWith("CA 127.0.0.1:" + mitm.xdsPort() + ": UNAVAILABLE")
        .contains(": TLS handshake refused: ")
        .endsWith("(expected: a controller certificate that chains to the trust anchors in "
            + realAnchors + " and names the host dialled)");

    XdsClient client = xdsClient(mitm.xdsPort(), real);
    AtomicReference<MeshSnapshot> applied = new AtomicReference<>();
    client.start(applied::set);
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(() -> assertThat(client.status().tlsRefusals()).isGreaterThanOrEqualTo(2));
    assertThat(applied.get()).isNull();
    assertThat(agentCount(mitm)).isZero();
  }

  @Test
  void theStreamPresentsTheWorkloadCertificateOnceThereIsOne() throws Exception {
    Controller a = controller("a", MESH_A, 0);
    String token =
        BootstrapTokens.load(dir.resolve("a"), "cluster.local", Clock.systemUTC())
            .issue("default", "hello", Duration.ofHours(1));
    ControllerTls caTls = anchorsOf(a, null);
    GrpcCertificateClient ca =
        new GrpcCertificateClient("127.0.0.1", a.xdsPort(), () -> token, scheduler, caTls);
    closeables.add(ca);
    IdentityManager identity =
        new IdentityManager(
            io.jmesh.runtime.identity.SpiffeId.parse(HELLO_ID),
            ca,
            scheduler,
            Clock.systemUTC(),
            Backoff.exponential(Duration.ofMillis(100), Duration.ofSeconds(1), 0, () -> 0L),
            Duration.ofHours(1));
    closeables.add(identity);
    MeshTls meshTls = new MeshTls(identity, new TlsRefusals(), Clock.systemUTC());
    XdsClient client = xdsClient(a.xdsPort(), anchorsOf(a, meshTls.keyManager()));
    // As the agent does: replace the stream made without a certificate once one arrives.
    identity.onCertificate(c -> client.reconnect("the workload certificate arrived"));
    AtomicReference<MeshSnapshot> applied = new AtomicReference<>();
    client.start(applied::set);

    // Before the certificate: a stream without identity.
    await().atMost(Duration.ofSeconds(10)).until(() -> applied.get() != null);
    assertThat(agentCount(a)).isEqualTo(1);
    assertThat(JsonPath.at(agents(a), "agents", "0", "identity").hasNullValue()).isTrue();

    identity.start();
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> {
              Value agents = agents(a);
              assertThat(JsonPath.at(agents, "agentCount").getNumberValue()).isEqualTo(1);
              assertThat(string(agents, "agents", "0", "identity")).isEqualTo(HELLO_ID);
            });
    assertThat(client.status().tlsRefusals()).isZero();
  }

  @Test
  void aClientCertificateFromAnotherCaIsRefused() throws Exception {
    Controller a = controller("a", MESH_A, 0);
    Controller other = controller("other", MESH_B, 0);
    // A real workload certificate, but from the other controller's CA.
    String token =
        BootstrapTokens.load(dir.resolve("other"), "cluster.local", Clock.systemUTC())
            .issue("default", "hello", Duration.ofHours(1));
    GrpcCertificateClient ca =
        new GrpcCertificateClient("127.0.0.1", other.xdsPort(), () -> token, scheduler, anchorsOf(other, null));
    closeables.add(ca);
    IdentityManager identity =
        new IdentityManager(
            io.jmesh.runtime.identity.SpiffeId.parse(HELLO_ID),
            ca,
            scheduler,
            Clock.systemUTC(),
            Backoff.exponential(Duration.ofMillis(100), Duration.ofSeconds(1), 0, () -> 0L),
            Duration.ofHours(1));
    closeables.add(identity);
    identity.start();
    assertThat(identity.awaitFirst(Duration.ofSeconds(10))).isTrue();
    MeshTls foreign = new MeshTls(identity, new TlsRefusals(), Clock.systemUTC());

    // To A, with A's anchors (A is verified) but presenting the other CA's certificate.
    XdsClient client = xdsClient(a.xdsPort(), anchorsOf(a, foreign.keyManager()));
    AtomicReference<MeshSnapshot> applied = new AtomicReference<>();
    client.start(applied::set);
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(() -> assertThat(client.status().streams()).isGreaterThanOrEqualTo(3));
    assertThat(applied.get()).isNull();
    assertThat(agentCount(a)).isZero();
  }

  private static String csrPem() throws Exception {
    java.io.StringWriter pem = new java.io.StringWriter();
    try (org.bouncycastle.openssl.jcajce.JcaPEMWriter writer =
        new org.bouncycastle.openssl.jcajce.JcaPEMWriter(pem)) {
      writer.writeObject(io.jmesh.controller.ca.Csrs.forUris(HELLO_ID));
    }
    return pem.toString();
  }

  private static String versionOf(Controller c) throws Exception {
    return string(parse(new AdminClient(c.adminPort()).body("/snapshot")), "servedVersion");
  }
}
