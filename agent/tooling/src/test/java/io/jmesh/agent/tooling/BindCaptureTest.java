package io.jmesh.agent.tooling;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.SocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The hook's decisions, on real (unbound or loopback-bound) JDK sockets, without an agent. */
class BindCaptureTest {
  private static final InetAddress WORKLOAD = CaptureRules.ipLiteral("127.0.0.2");
  private final List<String> opened = new ArrayList<>();

  private BindCapture started(String... props) {
    Map<String, String> p = new java.util.HashMap<>();
    for (int i = 0; i < props.length; i += 2) {
      p.put(props[i], props[i + 1]);
    }
    BindCapture capture = new BindCapture(10_000);
    capture.start(
        new CaptureRules(AgentConfig.of(p, Map.of()).capture(), List.of(WORKLOAD)),
        (addresses, port) -> {
          opened.add(addresses + ":" + port);
          return () -> opened.add("closed " + port);
        });
    return capture;
  }

  @Test
  void anApplicationWildcardBindMovesToLoopbackAndOpensTheListenerOnItsPort() throws Exception {
    BindCapture capture = started();
    try (ServerSocketChannel ch = ServerSocketChannel.open()) {
      SocketAddress requested = new InetSocketAddress(0);
      SocketAddress instead = capture.bindAddress(ch, requested);
      assertThat(instead).isEqualTo(new InetSocketAddress(CaptureRules.APPLICATION_ADDRESS, 0));
      ch.bind(instead);
      capture.bound(ch, requested, null);
      int port = ((InetSocketAddress) ch.getLocalAddress()).getPort();
      assertThat(opened).containsExactly("[/127.0.0.2]:" + port);
      assertThat(capture.listening()).isEqualTo(1);
    }
  }

  @Test
  void theAgentsOwnBindsAreLeftAlone() throws Exception {
    BindCapture capture = started();
    InetSocketAddress admin = new InetSocketAddress(WORKLOAD, 4191);
    try (ServerSocketChannel ch = ServerSocketChannel.open()) {
      try (AgentBinds.Claim claim = AgentBinds.claim(List.of(admin))) {
        assertThat(capture.bindAddress(ch, admin)).as("claimed by the agent").isNull();
      }
      assertThat(capture.bindAddress(ch, admin)).as("the claim is over").isNotNull();
    }
  }

  @Test
  void aFailedBindOpensNoListener() throws Exception {
    BindCapture capture = started();
    try (ServerSocket s = new ServerSocket()) {
      capture.bound(s, new InetSocketAddress(8080), new java.net.BindException("Address already in use"));
    }
    assertThat(opened).isEmpty();
  }

  @Test
  void closingTheApplicationsSocketClosesItsListener() throws Exception {
    BindCapture capture = started();
    ServerSocket s = new ServerSocket();
    s.bind(capture.bindAddress(s, new InetSocketAddress(0)));
    capture.bound(s, new InetSocketAddress(0), null);
    s.close();
    capture.closed(s);
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5))
        .until(() -> opened.contains("closed " + s.getLocalPort()));
    assertThat(capture.listening()).isZero();
  }

  @Test
  void aNettyUnixSocketIsCapturedOnlyWhenAServerChannelBindsIt() {
    assertThat(BindCapture.isServerChannel("io.netty.channel.epoll.EpollServerSocketChannel")).isTrue();
    assertThat(BindCapture.isServerChannel("io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerSocketChannel")).isTrue();
    assertThat(BindCapture.isServerChannel("io.netty.channel.epoll.EpollDatagramChannel")).isFalse();
    assertThat(BindCapture.isServerChannel("io.jmesh.shaded.io.netty.channel.epoll.EpollServerSocketChannel")).isFalse();
    // Called from this test (no server channel on the stack), an unknown socket type is no server.
    assertThat(BindCapture.isServerSocket(new Object())).isFalse();
    BindCapture capture = started();
    assertThat(capture.bindAddress(new Object(), new InetSocketAddress(8080))).isNull();
  }

  @Test
  void theRelocatedNettyOfTheAgentIsNeverATarget() {
    assertThat(InboundCaptureModule.isTarget("io/netty/channel/unix/Socket")).isTrue();
    assertThat(InboundCaptureModule.isTarget("io/grpc/netty/shaded/io/netty/channel/unix/Socket")).isTrue();
    assertThat(InboundCaptureModule.isTarget("io/jmesh/shaded/io/netty/channel/unix/Socket")).isFalse();
    assertThat(InboundCaptureModule.isTarget("sun/nio/ch/ServerSocketChannelImpl")).isTrue();
    assertThat(InboundCaptureModule.isTarget("java/net/ServerSocket")).isTrue();
    assertThat(InboundCaptureModule.isTarget("java/net/Socket")).isFalse();
  }

  @Test
  void aBindBeforeTheDecisionWaitsForIt() throws Exception {
    BindCapture capture = new BindCapture(30_000);
    try (ServerSocketChannel ch = ServerSocketChannel.open()) {
      CompletableFuture<SocketAddress> bind =
          CompletableFuture.supplyAsync(() -> capture.bindAddress(ch, new InetSocketAddress(8080)));
      assertThat(bind).isNotDone();
      capture.start(new CaptureRules(AgentConfig.of(Map.of(), Map.of()).capture(), List.of(WORKLOAD)), (a, p) -> null);
      assertThat(bind.get(10, TimeUnit.SECONDS))
          .isEqualTo(new InetSocketAddress(CaptureRules.APPLICATION_ADDRESS, 8080));
    }
  }

  @Test
  void withoutADecisionAfterTheWaitOrWhenOffTheBindIsLeftAlone() throws Exception {
    try (ServerSocketChannel ch = ServerSocketChannel.open()) {
      BindCapture undecided = new BindCapture(1);
      assertThat(undecided.bindAddress(ch, new InetSocketAddress(8080))).isNull();
      BindCapture off = new BindCapture(10_000);
      off.off();
      assertThat(off.bindAddress(ch, new InetSocketAddress(8080))).isNull();
      assertThat(off.capturing()).isFalse();
    }
  }
}
