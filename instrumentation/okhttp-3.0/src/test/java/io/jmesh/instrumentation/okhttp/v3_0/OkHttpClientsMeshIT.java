package io.jmesh.instrumentation.okhttp.v3_0;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.jmesh.agent.tooling.Agent;
import io.jmesh.instrumentation.testing.LoopbackServer;
import io.jmesh.runtime.config.MeshConfigParser;
import io.jmesh.runtime.identity.MeshTls;
import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.identity.TestIdentities;
import io.jmesh.runtime.identity.TlsRefusals;
import io.jmesh.runtime.inbound.AuthorizationPolicy;
import io.jmesh.runtime.inbound.InboundStats;
import io.jmesh.runtime.inbound.InboundTerminator;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import okhttp3.Interceptor;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * What the conformance suite cannot say about OkHttp alone: mesh-TLS attempts go through clients
 * derived from each application client, never from another one, and an expired deadline fails at
 * once. Real sockets: an {@link InboundTerminator} on 127.0.0.6 in front of a server on 127.0.0.1,
 * as in the suite; the agent holds an identity of a test mesh.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OkHttpClientsMeshIT {
  private static final SpiffeId CLIENT_ID = SpiffeId.of("cluster.local", "default", "okhttp-client");
  private static final SpiffeId SERVER_ID = SpiffeId.of("cluster.local", "default", "secure");

  private LoopbackServer app;
  private InboundTerminator terminator;

  @BeforeAll
  void start() throws Exception {
    app = new LoopbackServer("secure-app", "127.0.0.1");
    await().atMost(Duration.ofSeconds(30)).until(() -> Agent.context() != null);
    TestIdentities testMesh = TestIdentities.mesh("okhttp-clients");
    io.jmesh.agent.tooling.AgentTestHooks.installIdentity(testMesh.tls(CLIENT_ID, new TlsRefusals()));
    MeshTls serverTls = testMesh.tls(SERVER_ID, new TlsRefusals());
    terminator =
        InboundTerminator.start(
            InboundTerminator.Options.of(
                new InetSocketAddress("127.0.0.6", 0), new InetSocketAddress(app.ip(), app.port())),
            serverTls,
            AuthorizationPolicy::allAuthenticated,
            new InboundStats(io.jmesh.runtime.telemetry.MeshMetrics.noop().server("unknown")));
    mesh(
        "services:",
        "  - name: secure",
        "    ports: [8080]",
        "    identities: [\"" + SERVER_ID + "\"]",
        "    endpoints:",
        "      - {address: 127.0.0.6, port: " + terminator.port() + "}",
        "  - name: plain",
        "    ports: [8080]",
        "    endpoints:",
        "      - {address: 127.0.0.1, port: " + app.port() + "}");
  }

  @AfterAll
  void stop() {
    if (terminator != null) {
      terminator.close();
    }
    app.close();
  }

  private static void mesh(String... yamlLines) throws Exception {
    Agent.context().runtime().update(MeshConfigParser.parse("test.yaml", String.join("\n", yamlLines) + "\n", "default"));
  }

  /** A network interceptor that marks each request it sees with {@code name} and counts them. */
  private static Interceptor marking(String name, AtomicInteger seen) {
    return chain -> {
      seen.incrementAndGet();
      return chain.proceed(chain.request().newBuilder().header("x-canary", name).build());
    };
  }

  private static String get(OkHttpClient client, String url) throws Exception {
    try (Response r = client.newCall(new Request.Builder().url(url).build()).execute()) {
      assertThat(r.code()).as("GET %s", url).isEqualTo(200);
      return r.body().string();
    }
  }

  @Test
  void eachClientsInterceptorsApplyOnlyToItsOwnMeshTlsCalls() throws Exception {
    AtomicInteger seenByA = new AtomicInteger();
    AtomicInteger seenByB = new AtomicInteger();
    OkHttpClient a = new OkHttpClient.Builder().addNetworkInterceptor(marking("client-a", seenByA)).build();
    // B shares A's pool and dispatcher, as a client made from a shared base client does, but
    // has its own network interceptor in place of A's.
    OkHttpClient.Builder fromA = a.newBuilder();
    fromA.networkInterceptors().clear();
    OkHttpClient b = fromA.addNetworkInterceptor(marking("client-b", seenByB)).build();

    // A first, so that a derived client for the endpoint exists before B calls it.
    String first = get(a, "http://secure:8080/a");
    String second = get(b, "http://secure:8080/b");
    String third = get(a, "http://secure:8080/a");

    // Each call went over mesh TLS (the terminator named the caller) with its own client's mark.
    assertThat(first).contains("client=" + CLIENT_ID).contains("canary=client-a ");
    assertThat(second).contains("client=" + CLIENT_ID).contains("canary=client-b ");
    assertThat(third).contains("client=" + CLIENT_ID).contains("canary=client-a ");
    assertThat(seenByA).hasValue(2);
    assertThat(seenByB).hasValue(1);
  }

  @Test
  void anApplicationClientThatIsDroppedIsNotHeldByTheMeshTlsClients() throws Exception {
    int before = OkHttpMeshTls.INSTANCE.applicationClients();
    OkHttpClient dropped = new OkHttpClient();
    get(dropped, "http://secure:8080/once");
    assertThat(OkHttpMeshTls.INSTANCE.applicationClients()).isEqualTo(before + 1);

    dropped = null;

    // Bounded: the collector runs when asked, but may need a few requests to clear a weak key.
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> {
              System.gc();
              return OkHttpMeshTls.INSTANCE.applicationClients() <= before;
            });
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS) // a guard against the old unbounded wait, not a measure
  void anExpiredDeadlineFailsAtOnceWithTheDeadlineError() throws Exception {
    OkHttpClient client = new OkHttpClient();
    int before = app.requests();

    // The caller's caller left it no time: x-jmesh-deadline-ms 0, as a propagated deadline reads.
    try (Response r =
        client
            .newCall(new Request.Builder().url("http://plain:8080/late").header("x-jmesh-deadline-ms", "0").build())
            .execute()) {
      assertThat(r.code()).isEqualTo(504);
      assertThat(r.header("x-jmesh-refused")).isEqualTo("deadline-exceeded");
      assertThat(r.body().string()).contains("deadline");
    }
    // Refused before any attempt: the server never saw it.
    assertThat(app.requests()).isEqualTo(before);
  }
}
