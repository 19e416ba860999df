package io.jmesh.agent.tooling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmesh.bridge.AgentLog;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AgentConfigTest {

  @Test
  void defaultsWhenNothingIsSet() {
    AgentConfig c = AgentConfig.of(Map.of(), Map.of());

    assertThat(c.problems()).isEmpty();
    assertThat(c.enabled()).isTrue();
    assertThat(c.configFile()).isNull();
    assertThat(c.configPollMillis()).isEqualTo(1000);
    assertThat(c.namespace()).isEqualTo("default");
    assertThat(c.clusterDomain()).isEqualTo("cluster.local");
    assertThat(c.logLevel()).isEqualTo(AgentLog.Level.INFO);
  }

  @Test
  void environmentIsReadAndSystemPropertyWins() {
    AgentConfig c =
        AgentConfig.of(
            Map.of("jmesh.namespace", "payments"),
            Map.of("JMESH_NAMESPACE", "ignored", "JMESH_CONFIG", "/etc/jmesh/mesh.yaml", "JMESH_CONFIG_POLL_MS", "250"));

    assertThat(c.namespace()).isEqualTo("payments");
    assertThat(c.configFile()).isEqualTo(Path.of("/etc/jmesh/mesh.yaml"));
    assertThat(c.configPollMillis()).isEqualTo(250);
  }

  @Test
  void badValuesNameKeySourceValueAndExpectationAndFallBackToDefaults() {
    AgentConfig c =
        AgentConfig.of(
            Map.of("jmesh.log.level", "loud"),
            Map.of("JMESH_CONFIG_POLL_MS", "soon", "JMESH_NAMESPACE", "Not_A_Label", "JMESH_ENABLED", "yes"));

    assertThat(c.logLevel()).isEqualTo(AgentLog.Level.INFO);
    assertThat(c.configPollMillis()).isEqualTo(1000);
    assertThat(c.namespace()).isEqualTo("default");
    assertThat(c.enabled()).isTrue();
    assertThat(c.problems())
        .containsExactlyInAnyOrder(
            "setting jmesh.enabled (from JMESH_ENABLED) = 'yes' is invalid (expected: true or false); using 'true'",
            "setting jmesh.config.poll.ms (from JMESH_CONFIG_POLL_MS) = 'soon' is invalid (expected: an integer between 50 and 3600000); using '1000'",
            "setting jmesh.namespace (from JMESH_NAMESPACE) = 'not_a_label' is invalid (expected: a DNS label such as 'default' (lower-case letters, digits, '-')); using 'default'",
            "setting jmesh.log.level (from -Djmesh.log.level) = 'loud' is invalid (expected: one of debug, info, warn, error, off); using 'info'");
  }

  @Test
  void outOfRangeNumberIsRejected() {
    AgentConfig c = AgentConfig.of(Map.of("jmesh.config.poll.ms", "10"), Map.of());

    assertThat(c.configPollMillis()).isEqualTo(1000);
    assertThat(c.problems()).singleElement().asString().contains("'10'").contains("between 50 and 3600000");
  }

  @Test
  void everyKeyHasItsEnvironmentTwin() {
    assertThat(AgentConfig.KEYS)
        .allSatisfy(
            k -> assertThat(k.env()).isEqualTo("JMESH_" + k.property().substring(6).replace('.', '_').toUpperCase()));
    assertThat(AgentConfig.INJECT_FAULT.env()).isEqualTo("JMESH_DEBUG_INJECT_FAULT");
  }

  @Test
  void instrumentationsCanBeDisabledByName() {
    AgentConfig c = AgentConfig.of(Map.of(), Map.of("JMESH_INSTRUMENTATION_DISABLED", "okhttp-3.0, Java-Http-Client-11"));

    assertThat(c.instrumentationEnabled("okhttp-3.0")).isFalse();
    assertThat(c.instrumentationEnabled("java-http-client-11")).isFalse();
    assertThat(c.instrumentationEnabled("http-url-connection-1.0")).isTrue();
  }

  @Test
  void faultInjectionThrowsOnlyWhereAsked() {
    AgentConfig c = AgentConfig.of(Map.of("jmesh.debug.inject.fault", "route"), Map.of());

    c.maybeInjectFault("okhttp-3.0");
    assertThatThrownBy(() -> c.maybeInjectFault("route")).hasMessageContaining("fault injected at 'route'");
    AgentConfig all = AgentConfig.of(Map.of("jmesh.debug.inject.fault", "all"), Map.of());
    assertThatThrownBy(() -> all.maybeInjectFault("okhttp-3.0")).isInstanceOf(IllegalStateException.class);
  }
}
