package io.jmesh.agent.tooling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmesh.bridge.AgentLog;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
  void theAdminEndpointDefaultsToLinkerdsPortAndABadPortFallsBackToIt() {
    assertThat(AgentConfig.of(Map.of(), Map.of()).adminPort()).isEqualTo(4191);
    // Loopback unless widened on purpose, for scraping.
    assertThat(AgentConfig.of(Map.of(), Map.of()).adminAddress()).isEqualTo("127.0.0.1");
    AgentConfig off = AgentConfig.of(Map.of(), Map.of("JMESH_ADMIN_PORT", "0", "JMESH_ADMIN_ADDRESS", "0.0.0.0"));
    assertThat(off.adminPort()).isZero();
    assertThat(off.adminAddress()).isEqualTo("0.0.0.0");
    assertThat(AgentConfig.of(Map.of("jmesh.admin.address", "192.0.2.10"), Map.of()).adminAddress())
        .isEqualTo("192.0.2.10");

    AgentConfig bad = AgentConfig.of(Map.of("jmesh.admin.port", "70000"), Map.of());

    assertThat(bad.adminPort()).isEqualTo(4191);
    assertThat(bad.problems())
        .containsExactly(
            "setting jmesh.admin.port (from -Djmesh.admin.port) = '70000' is invalid (expected: an integer between 0 and 65535); using '4191'");
  }

  @Test
  void outOfRangeNumberIsRejected() {
    AgentConfig c = AgentConfig.of(Map.of("jmesh.config.poll.ms", "10"), Map.of());

    assertThat(c.configPollMillis()).isEqualTo(1000);
    assertThat(c.problems()).singleElement().asString().contains("'10'").contains("between 50 and 3600000");
  }

  @Test
  void inboundLimitsDefaultToTheTerminatorsAndAreSetFromTheEnvironment() {
    assertThat(InboundStarter.limits(AgentConfig.of(Map.of(), Map.of())))
        .isEqualTo(io.jmesh.runtime.inbound.InboundTerminator.Limits.defaults());

    AgentConfig c =
        AgentConfig.of(
            Map.of(),
            Map.of(
                "JMESH_INBOUND_MAX_CONCURRENT_STREAMS", "250",
                "JMESH_INBOUND_MAX_PENDING_REQUESTS", "0",
                "JMESH_INBOUND_REQUEST_HEADER_TIMEOUT_MS", "2000",
                "JMESH_INBOUND_IDLE_TIMEOUT_MS", "70000"));
    io.jmesh.runtime.inbound.InboundTerminator.Limits limits = InboundStarter.limits(c);

    assertThat(c.problems()).isEmpty();
    assertThat(limits.maxConcurrentStreams()).isEqualTo(250);
    assertThat(limits.maxPendingRequests()).isZero();
    assertThat(limits.requestHeaderTimeout()).isEqualTo(java.time.Duration.ofSeconds(2));
    assertThat(limits.idleTimeout()).isEqualTo(java.time.Duration.ofSeconds(70));
    assertThat(AgentConfig.of(Map.of("jmesh.inbound.idle.timeout.ms", "5"), Map.of()).problems())
        .containsExactly(
            "setting jmesh.inbound.idle.timeout.ms (from -Djmesh.inbound.idle.timeout.ms) = '5' is invalid (expected: an integer between 1000 and 86400000); using '600000'");
  }

  @Test
  void probePathsAreReadOrRefusedWhole() {
    assertThat(AgentConfig.of(Map.of(), Map.of()).inboundProbePaths()).isEmpty();
    AgentConfig c = AgentConfig.of(Map.of(), Map.of("JMESH_INBOUND_PROBE_PATHS", "/healthz, /ready"));
    assertThat(c.problems()).isEmpty();
    assertThat(c.inboundProbePaths()).containsExactlyInAnyOrder("/healthz", "/ready");

    AgentConfig bad = AgentConfig.of(Map.of("jmesh.inbound.probe.paths", "/healthz,ready"), Map.of());

    assertThat(bad.inboundProbePaths()).isEmpty(); // fail closed: strict refuses all plaintext
    assertThat(bad.problems())
        .containsExactly(
            "setting jmesh.inbound.probe.paths (from -Djmesh.inbound.probe.paths) = '/healthz,ready' is invalid"
                + " (expected: comma-separated exact paths such as /healthz,/ready; probe path 'ready' (expected: an"
                + " exact path such as /healthz: starting with '/', printable ASCII without spaces, no '?', '#' or"
                + " '..' segment)); no probe paths: plaintext to a strict inbound port is refused");
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

  @Test
  void identityDefaults() {
    AgentConfig c = AgentConfig.of(Map.of(), Map.of("JMESH_CONTROLLER", "10.0.0.1:18000,10.0.0.2:18000"));

    assertThat(c.problems()).isEmpty();
    assertThat(c.bootstrapToken()).isNull();
    assertThat(c.serviceAccount()).isEqualTo("default");
    assertThat(c.trustDomain()).isEqualTo("cluster.local");
    // One address for xDS and the CA: the first controller.
    assertThat(c.caAddress()).isEqualTo("10.0.0.1:18000");
    assertThat(c.identityLifetimeSeconds()).isEqualTo(86_400);
    assertThat(c.identityWaitMillis()).isEqualTo(5_000);
  }

  @Test
  void theServiceAccountDefaultsToTheServiceName() {
    assertThat(AgentConfig.of(Map.of(), Map.of("JMESH_SERVICE", "hello")).serviceAccount()).isEqualTo("hello");
    assertThat(AgentConfig.of(Map.of(), Map.of("JMESH_SERVICE", "hello", "JMESH_SERVICE_ACCOUNT", "hello-sa")).serviceAccount())
        .isEqualTo("hello-sa");
  }

  @Test
  void aBootstrapTokenGivenAsAPropertyIsRefusedNamingTheSafeWays() {
    AgentConfig c = AgentConfig.of(Map.of("jmesh.bootstrap.token", "jmesh1.abc.def"), Map.of());

    assertThat(c.bootstrapToken()).isNull();
    assertThat(c.problems())
        .containsExactly(
            "setting jmesh.bootstrap.token (from -Djmesh.bootstrap.token) = a token of 14 characters"
                + " (not shown) is invalid (expected: the environment variable JMESH_BOOTSTRAP_TOKEN,"
                + " or a file named by JMESH_BOOTSTRAP_TOKEN_FILE or -Djmesh.bootstrap.token.file;"
                + " a -D property is visible to ps and jcmd); refused, never used");
    assertThat(String.join("\n", c.problems())).doesNotContain("abc");

    // The environment's token still counts; the property never does.
    AgentConfig both =
        AgentConfig.of(
            Map.of("jmesh.bootstrap.token", "jmesh1.from.property"),
            Map.of("JMESH_BOOTSTRAP_TOKEN", "jmesh1.from.env"));
    assertThat(both.bootstrapToken()).isEqualTo("jmesh1.from.env");
    assertThat(both.problems()).hasSize(1);
  }

  @Test
  void identitySettingsAreRead() {
    AgentConfig c =
        AgentConfig.of(
            Map.of(),
            Map.of(
                "JMESH_BOOTSTRAP_TOKEN", "jmesh1.abc.def",
                "JMESH_TRUST_DOMAIN", "prod.example",
                "JMESH_CA", "ca.jmesh:15012",
                "JMESH_IDENTITY_LIFETIME_S", "3600",
                "JMESH_IDENTITY_WAIT_MS", "0"));

    assertThat(c.problems()).isEmpty();
    assertThat(c.bootstrapToken()).isEqualTo("jmesh1.abc.def");
    assertThat(c.trustDomain()).isEqualTo("prod.example");
    assertThat(c.caAddress()).isEqualTo("ca.jmesh:15012");
    assertThat(c.identityLifetimeSeconds()).isEqualTo(3600);
    assertThat(c.identityWaitMillis()).isZero();
  }

  @Test
  void theTokenFileIsCheckedAtStartTrimmedAndNamedForTheReadsAtEachRenewal(@TempDir Path dir)
      throws Exception {
    Path file = dir.resolve("token");
    Files.writeString(file, "  jmesh1.abc.def\n");

    AgentConfig c = AgentConfig.of(Map.of(), Map.of("JMESH_BOOTSTRAP_TOKEN_FILE", file.toString()));

    assertThat(c.problems()).isEmpty();
    assertThat(c.bootstrapToken()).isEqualTo("jmesh1.abc.def");
    // The identity reads the file again at each CA request (a rotated projected token).
    assertThat(c.bootstrapTokenFile()).isEqualTo(file);
  }

  @Test
  void theTokenWinsOverTheFileAndTheOverlapIsReported(@TempDir Path dir) {
    String file = dir.resolve("token").toString();
    AgentConfig c =
        AgentConfig.of(Map.of(), Map.of("JMESH_BOOTSTRAP_TOKEN", "jmesh1.a.b", "JMESH_BOOTSTRAP_TOKEN_FILE", file));

    assertThat(c.bootstrapToken()).isEqualTo("jmesh1.a.b");
    assertThat(c.bootstrapTokenFile()).isNull(); // a token given directly stays as given
    assertThat(c.problems())
        .containsExactly(
            "settings jmesh.bootstrap.token and jmesh.bootstrap.token.file are both set: using"
                + " jmesh.bootstrap.token, ignoring the file " + file);
  }

  @Test
  void aMissingOrEmptyTokenFileMeansNoToken(@TempDir Path dir) throws Exception {
    Path missing = dir.resolve("missing");
    AgentConfig c = AgentConfig.of(Map.of(), Map.of("JMESH_BOOTSTRAP_TOKEN_FILE", missing.toString()));

    assertThat(c.bootstrapToken()).isNull();
    assertThat(c.problems())
        .singleElement()
        .asString()
        .startsWith("setting jmesh.bootstrap.token.file (from JMESH_BOOTSTRAP_TOKEN_FILE) = '" + missing
            + "' is invalid (expected: a readable file holding the token); cannot read it (java.nio.file.NoSuchFileException")
        .endsWith("no bootstrap token, mesh TLS off");

    Path empty = Files.writeString(dir.resolve("empty"), " \n");
    assertThat(AgentConfig.of(Map.of("jmesh.bootstrap.token.file", empty.toString()), Map.of()).problems())
        .containsExactly(
            "setting jmesh.bootstrap.token.file (from -Djmesh.bootstrap.token.file) = '" + empty
                + "' is invalid (expected: a file holding the token); it is empty; no bootstrap token, mesh TLS off");
  }

  @Test
  void aBadTokenIsRefusedWithoutShowingIt() {
    AgentConfig c = AgentConfig.of(Map.of(), Map.of("JMESH_BOOTSTRAP_TOKEN", "jmesh1.secret part"));

    assertThat(c.bootstrapToken()).isNull();
    assertThat(c.problems())
        .containsExactly(
            "setting jmesh.bootstrap.token (from JMESH_BOOTSTRAP_TOKEN) = a token of 18 characters (not shown)"
                + " with U+0020 at position 13 is invalid (expected: printable ASCII without spaces, the line"
                + " jmesh-controller token prints); no bootstrap token, mesh TLS off");
    assertThat(String.join("\n", c.problems())).doesNotContain("secret");
  }

  @Test
  void badIdentityValuesNameKeyValueAndExpectation() {
    AgentConfig c =
        AgentConfig.of(
            Map.of(),
            Map.of(
                "JMESH_CONTROLLER", "10.0.0.1:18000",
                "JMESH_SERVICE", "hello",
                "JMESH_SERVICE_ACCOUNT", "a/b",
                "JMESH_TRUST_DOMAIN", "Cluster.Local",
                "JMESH_CA", "ca-without-port",
                "JMESH_IDENTITY_LIFETIME_S", "30",
                "JMESH_IDENTITY_WAIT_MS", "-1"));

    assertThat(c.serviceAccount()).isEqualTo("hello");
    assertThat(c.trustDomain()).isEqualTo("cluster.local");
    assertThat(c.caAddress()).isEqualTo("10.0.0.1:18000");
    assertThat(c.identityLifetimeSeconds()).isEqualTo(86_400);
    assertThat(c.identityWaitMillis()).isEqualTo(5_000);
    assertThat(c.problems())
        .containsExactlyInAnyOrder(
            "setting jmesh.service.account (from JMESH_SERVICE_ACCOUNT) = 'a/b' is invalid (expected: 1 or more of letters, digits, '.', '-', '_'); using 'hello'",
            "setting jmesh.trust.domain (from JMESH_TRUST_DOMAIN) = 'Cluster.Local' is invalid (expected: 1 or more of lower-case letters, digits, '.', '-', '_', such as cluster.local); using 'cluster.local'",
            "setting jmesh.ca (from JMESH_CA) = 'ca-without-port' is invalid (expected: host:port with a port in 1..65535); using the first controller address 10.0.0.1:18000",
            "setting jmesh.identity.lifetime.s (from JMESH_IDENTITY_LIFETIME_S) = '30' is invalid (expected: an integer between 60 and 604800); using '86400'",
            "setting jmesh.identity.wait.ms (from JMESH_IDENTITY_WAIT_MS) = '-1' is invalid (expected: an integer between 0 and 60000); using '5000'");
  }
}
