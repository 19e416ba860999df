package io.jmesh.agent.tooling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CaptureRulesTest {
  private static final InetAddress WORKLOAD = CaptureRules.ipLiteral("127.0.0.2");
  private static final InetAddress WORKLOAD_V6 = CaptureRules.ipLiteral("fd00::2");

  private static CaptureRules rules(Map<String, String> props) {
    AgentConfig config = AgentConfig.of(props, Map.of());
    assertThat(config.problems()).isEmpty();
    return new CaptureRules(config.capture(), List.of(WORKLOAD_V6, WORKLOAD));
  }

  @Test
  void aWildcardBindOfAnyPortGoesToLoopbackAndTheListenerTakesEveryWorkloadAddress() {
    CaptureRules rules = rules(Map.of());
    assertThat(rules.listenAddresses(new InetSocketAddress(8080))).containsExactly(WORKLOAD, WORKLOAD_V6);
    assertThat(rules.listenAddresses(new InetSocketAddress(CaptureRules.ipLiteral("::"), 8080)))
        .containsExactly(WORKLOAD, WORKLOAD_V6);
    // ServerSocketChannel.bind(null): the wildcard, an ephemeral port; captured when all ports are.
    assertThat(rules.listenAddresses(null)).containsExactly(WORKLOAD, WORKLOAD_V6);
    assertThat(CaptureRules.applicationAddress(new InetSocketAddress(8080)))
        .isEqualTo(new InetSocketAddress(CaptureRules.ipLiteral("127.0.0.1"), 8080));
  }

  @Test
  void aBindOfOneWorkloadAddressIsCapturedOnThatAddressOnly() {
    assertThat(rules(Map.of()).listenAddresses(new InetSocketAddress(WORKLOAD, 8080))).containsExactly(WORKLOAD);
  }

  @Test
  void loopbackAndForeignAddressesAndUnixSocketsAreLeftAlone() {
    CaptureRules rules = rules(Map.of());
    assertThat(rules.listenAddresses(new InetSocketAddress(CaptureRules.ipLiteral("127.0.0.1"), 8080))).isEmpty();
    assertThat(rules.listenAddresses(new InetSocketAddress(CaptureRules.ipLiteral("127.0.0.3"), 8080))).isEmpty();
    assertThat(rules.listenAddresses(new InetSocketAddress(CaptureRules.ipLiteral("::1"), 8080))).isEmpty();
    assertThat(rules.listenAddresses(InetSocketAddress.createUnresolved("localhost", 8080))).isEmpty();
    assertThat(rules.listenAddresses(UnixDomainSocketAddress.of("/tmp/app.sock"))).isEmpty();
  }

  @Test
  void onlyTheListedPortsLessTheSkippedOnesAreCaptured() {
    CaptureRules rules =
        rules(Map.of("jmesh.inbound.capture.ports", "8080, 9000-9010", "jmesh.inbound.skip.ports", "9005"));
    assertThat(rules.capturesPort(8080)).isTrue();
    assertThat(rules.capturesPort(9000)).isTrue();
    assertThat(rules.capturesPort(9010)).isTrue();
    assertThat(rules.capturesPort(9005)).as("skipped").isFalse();
    assertThat(rules.capturesPort(8081)).isFalse();
    assertThat(rules.capturesPort(0)).as("an ephemeral port cannot be listed").isFalse();
    assertThat(rules.listenAddresses(new InetSocketAddress(8081))).isEmpty();
  }

  @Test
  void skipPortsApplyToAllPorts() {
    CaptureRules rules = rules(Map.of("jmesh.inbound.skip.ports", "4191,9090-9091"));
    assertThat(rules.capturesPort(8080)).isTrue();
    assertThat(rules.capturesPort(4191)).isFalse();
    assertThat(rules.capturesPort(9091)).isFalse();
  }

  @Test
  void offCapturesNothing() {
    assertThat(rules(Map.of("jmesh.inbound.capture", "off")).listenAddresses(new InetSocketAddress(8080))).isEmpty();
  }

  @Test
  void badSettingsAreReportedWithTheKeyTheValueAndTheExpectation() {
    AgentConfig config =
        AgentConfig.of(
            Map.of(
                "jmesh.inbound.capture", "maybe",
                "jmesh.inbound.capture.ports", "8080,http",
                "jmesh.inbound.skip.ports", "10-5",
                "jmesh.inbound.workload.addresses", "127.0.0.1,pod.local,127.0.0.2"),
            Map.of());
    assertThat(config.problems())
        .anyMatch(p -> p.contains("jmesh.inbound.capture ") && p.contains("'maybe'") && p.contains("on or off"))
        .anyMatch(p -> p.contains("jmesh.inbound.capture.ports") && p.contains("http is no port (expected: 1..65535)"))
        .anyMatch(p -> p.contains("jmesh.inbound.skip.ports") && p.contains("range 10-5 is empty"))
        .anyMatch(p -> p.contains("jmesh.inbound.workload.addresses") && p.contains("'127.0.0.1'"))
        .anyMatch(p -> p.contains("jmesh.inbound.workload.addresses") && p.contains("'pod.local'"));
    assertThat(config.capture().on()).isTrue();
    assertThat(config.capture().ports()).isSameAs(CaptureRules.Ports.ALL);
    assertThat(config.capture().workloadAddresses()).containsExactly(WORKLOAD);
  }

  @Test
  void portsParseAndPrint() {
    assertThat(CaptureRules.Ports.parse("80, 8000-8080").toString()).isEqualTo("80,8000-8080");
    assertThat(CaptureRules.Ports.parse(" ")).isSameAs(CaptureRules.Ports.NONE);
    assertThatThrownBy(() -> CaptureRules.Ports.parse("70000"))
        .hasMessage("70000 is no port (expected: 1..65535)");
  }

  @Test
  void theDefaultWorkloadAddressesAreNeverLoopback() throws Exception {
    assertThat(CaptureRules.workloadAddresses(AgentConfig.of(Map.of(), Map.of()).capture()))
        .noneMatch(InetAddress::isLoopbackAddress);
  }
}
