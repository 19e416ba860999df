package io.jmesh.agent.tooling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.jmesh.runtime.telemetry.MeshMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The admin endpoint over real sockets: where it listens by default, what a widened bind serves to
 * whom, and that slow or idle clients cannot take its workers. Connects only to this machine's own
 * addresses.
 */
class AdminServerTest {
  private final List<AdminServer> servers = new ArrayList<>();
  private final List<Socket> clients = new ArrayList<>();

  @AfterEach
  void close() throws IOException {
    for (Socket s : clients) {
      s.close();
    }
    servers.forEach(AdminServer::close);
  }

  private AdminServer start(String address, long requestTimeoutMillis) {
    AdminServer server =
        AdminServer.start(
            address,
            0,
            requestTimeoutMillis,
            new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
            MeshMetrics.noop().tap(),
            () -> null, // no runtime: an admitted /config answers 503, a refused one 403
            List::of);
    assertThat(server).as("admin endpoint on " + address).isNotNull();
    servers.add(server);
    return server;
  }

  @Test
  void listensOnLoopbackOnlyByDefault() throws Exception {
    String address = AgentConfig.of(Map.of(), Map.of()).adminAddress();
    AdminServer admin = start(address, AdminServer.REQUEST_TIMEOUT_MILLIS);

    assertThat(statusLine(null, InetAddress.getByName("127.0.0.1"), admin.port(), "/live")).contains(" 200 ");
    // Another loopback address of this host is already another address: nothing listens there.
    assertThatThrownBy(() -> statusLine(null, InetAddress.getByName("127.0.0.2"), admin.port(), "/live"))
        .isInstanceOf(ConnectException.class);
    // Nor on any of this machine's network addresses.
    for (InetAddress own : ownNonLoopbackAddresses(false)) {
      assertThatThrownBy(() -> statusLine(null, own, admin.port(), "/metrics"))
          .as("admin endpoint reached on %s", own)
          .isInstanceOf(ConnectException.class);
    }
  }

  @Test
  void aWidenedBindServesScrapesButKeepsTheMeshToLoopback() throws Exception {
    List<InetAddress> own = ownNonLoopbackAddresses(true);
    org.junit.jupiter.api.Assumptions.assumeFalse(
        own.isEmpty(), "this machine has no non-loopback IPv4 address to receive a request on");
    InetAddress network = own.get(0);
    InetAddress loopback = InetAddress.getByName("127.0.0.1");
    AdminServer admin = start("0.0.0.0", AdminServer.REQUEST_TIMEOUT_MILLIS);

    // Scraping works from the network, as JMESH_ADMIN_ADDRESS=0.0.0.0 is for.
    assertThat(statusLine(network, network, admin.port(), "/metrics")).contains(" 200 ");
    // The mesh's pages are refused there, even to a caller connecting from loopback (a proxy or
    // port forward on the host): the request was received on a network address.
    for (String page : List.of("/config", "/endpoints", "/tap")) {
      assertThat(statusLine(network, network, admin.port(), page)).as(page).contains(" 403 ");
      assertThat(statusLine(loopback, network, admin.port(), page)).as(page + " from loopback").contains(" 403 ");
    }
    // On loopback they are served (503 here only because this test starts no runtime).
    assertThat(statusLine(loopback, loopback, admin.port(), "/config")).contains(" 503 ");
  }

  @Test
  void aSlowClientDoesNotHoldUpOthers() throws Exception {
    // A timeout longer than the test: only the spare workers can serve the scrape.
    AdminServer admin = start("127.0.0.1", 600_000);
    InetAddress loopback = InetAddress.getByName("127.0.0.1");
    // Clients that never finish their headers, one fewer than there are workers, and idle ones.
    for (int i = 0; i < AdminServer.WORKERS - 1; i++) {
      slowClient(admin.port());
    }
    for (int i = 0; i < AdminServer.WORKERS + 2; i++) {
      clients.add(new Socket(loopback, admin.port()));
    }

    assertThat(statusLine(null, loopback, admin.port(), "/live")).contains(" 200 ");
  }

  @Test
  void aRequestThatOutlastsItsTimeoutIsClosedAndFreesItsWorker() throws Exception {
    AdminServer admin = start("127.0.0.1", 200);
    // As many never-finished requests as there are workers: only their timeout frees them.
    List<Socket> slow = new ArrayList<>();
    for (int i = 0; i < AdminServer.WORKERS; i++) {
      slow.add(slowClient(admin.port()));
    }

    // Each is closed by the endpoint: its read ends (end of stream or reset).
    for (Socket s : slow) {
      s.setSoTimeout(30_000);
      try {
        assertThat(s.getInputStream().read()).isEqualTo(-1);
      } catch (SocketException reset) {
        // closed with data unread: as good
      }
    }
    // And the workers serve again.
    await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () -> assertThat(statusLine(null, InetAddress.getByName("127.0.0.1"), admin.port(), "/live")).contains(" 200 "));
  }

  /** A connection that sends the start of a request and never its end. */
  private Socket slowClient(int port) throws IOException {
    Socket s = new Socket(InetAddress.getByName("127.0.0.1"), port);
    clients.add(s);
    s.getOutputStream().write("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".getBytes(StandardCharsets.US_ASCII));
    s.getOutputStream().flush();
    return s;
  }

  /** One GET from {@code from} (null: any) to {@code to:port}; its status line. */
  private static String statusLine(InetAddress from, InetAddress to, int port, String path) throws IOException {
    try (Socket s = new Socket()) {
      if (from != null) {
        s.bind(new InetSocketAddress(from, 0));
      }
      s.connect(new InetSocketAddress(to, port), 10_000);
      s.setSoTimeout(30_000);
      OutputStream out = s.getOutputStream();
      out.write(("GET " + path + " HTTP/1.1\r\nHost: jmesh\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = s.getInputStream();
      StringBuilder line = new StringBuilder();
      for (int c = in.read(); c != -1 && c != '\n'; c = in.read()) {
        line.append((char) c);
      }
      return line.toString().trim() + " ";
    }
  }

  /** This machine's own addresses that are not loopback (never another host's). */
  private static List<InetAddress> ownNonLoopbackAddresses(boolean ipv4Only) throws SocketException {
    List<InetAddress> out = new ArrayList<>();
    for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
      if (!nic.isUp() || nic.isLoopback()) {
        continue;
      }
      for (InetAddress a : Collections.list(nic.getInetAddresses())) {
        if (!a.isLoopbackAddress() && !a.isLinkLocalAddress() && (!ipv4Only || a instanceof Inet4Address)) {
          out.add(a);
        }
      }
    }
    return out;
  }
}
