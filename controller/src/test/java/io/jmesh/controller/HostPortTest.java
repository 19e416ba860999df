package io.jmesh.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class HostPortTest {
  @Test
  void parses() {
    assertThat(HostPort.parse("--x", "127.0.0.1:18000"))
        .isEqualTo(new HostPort("127.0.0.1", 18000));
    assertThat(HostPort.parse("--x", "localhost:0")).isEqualTo(new HostPort("localhost", 0));
    assertThat(HostPort.parse("--x", "[::1]:18001")).isEqualTo(new HostPort("::1", 18001));
    assertThat(new HostPort("::1", 18001)).hasToString("[::1]:18001");
  }

  @Test
  void refusesWithTheFlagTheValueAndTheForm() {
    assertThatThrownBy(() -> HostPort.parse("--xds-address", "18000"))
        .hasMessage(
            "--xds-address: \"18000\" (expected: host:port, for example 127.0.0.1:18000 or"
                + " [::1]:18000)");
    assertThatThrownBy(() -> HostPort.parse("--xds-address", "::1:18000"))
        .hasMessageStartingWith("--xds-address: \"::1:18000\" (expected: host:port");
    assertThatThrownBy(() -> HostPort.parse("--xds-address", "host:http"))
        .hasMessageStartingWith("--xds-address: \"host:http\" (expected: host:port");
    assertThatThrownBy(() -> HostPort.parse("--admin-address", "host:70000"))
        .hasMessage("--admin-address: \"host:70000\": port 70000 (expected: 0..65535)");
    assertThatThrownBy(() -> HostPort.parse("--admin-address", ":80"))
        .hasMessageStartingWith("--admin-address: \":80\" (expected: host:port");
  }
}
