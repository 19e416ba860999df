package io.jmesh.controller.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The parts of the CLI that need no running mesh: flags, JSON, tap lines, errors. */
class JmeshCliTest {

  @Test
  void aControllerThatIsNotThereIsNamedWithWhatToCheck() throws Exception {
    int port;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code =
        JmeshCli.run(
            new String[] {"stat", "--controller-admin", "127.0.0.1:" + port, "--window", "1s"},
            new PrintWriter(out),
            new PrintWriter(err));

    assertThat(code).isEqualTo(1);
    assertThat(err.toString())
        .isEqualTo(
            "jmesh stat: controller admin 127.0.0.1:" + port + "/agents: connection refused"
                + " (expected: " + JmeshCli.CONTROLLER_EXPECTATION + ")\n");
  }

  @Test
  void aBadFlagIsExitCodeTwo() {
    StringWriter err = new StringWriter();
    int code = JmeshCli.run(new String[] {"stat", "--window", "soon"}, new PrintWriter(new StringWriter()), new PrintWriter(err));
    assertThat(code).isEqualTo(2);
    assertThat(err.toString()).contains("\"soon\" (expected: a positive duration such as 10s, 500ms, 2m or 1m30s)");
  }

  @Test
  void durations() {
    JmeshCli.DurationConverter c = new JmeshCli.DurationConverter();
    assertThat(c.convert("10s")).isEqualTo(Duration.ofSeconds(10));
    assertThat(c.convert("500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(c.convert("1m30s")).isEqualTo(Duration.ofSeconds(90));
    assertThatThrownBy(() -> c.convert("0s")).isInstanceOf(CommandLine.TypeConversionException.class);
    assertThatThrownBy(() -> c.convert("10")).isInstanceOf(CommandLine.TypeConversionException.class);
  }

  @Test
  @SuppressWarnings("unchecked")
  void tapLinesReadLikeLinkerds() {
    Map<String, Object> event =
        (Map<String, Object>)
            Json.parse(
                "{\"time\":\"2026-11-22T10:00:00Z\",\"direction\":\"outbound\",\"source\":\"client.default\","
                    + "\"destination\":\"hello.default\",\"method\":\"GET\",\"authority\":\"hello:8080\",\"path\":\"/\","
                    + "\"status\":200,\"errorType\":null,\"latencyMicros\":1234,\"endpoint\":\"127.0.0.2:8080\","
                    + "\"route\":\"split\",\"peer\":null,\"attempts\":2,\"tls\":false}");
    assertThat(TapCommand.format(0, 7, event))
        .isEqualTo(
            "req id=0:7 proxy=out src=client.default dst=hello.default tls=false :method=GET"
                + " :authority=hello:8080 :path=/ :status=200 latency=1234\u00b5s endpoint=127.0.0.2:8080"
                + " route=split attempts=2");
  }

  @Test
  void jsonValues() {
    assertThat(Json.parse(" {\"a\": [1, 2.5, -3e2, true, null, \"x\\u00e9\\n\"], \"b\": {}} "))
        .isEqualTo(Map.of("a", java.util.Arrays.asList(1L, 2.5, -300.0, true, null, "x\u00e9\n"), "b", Map.of()));
    assertThatThrownBy(() -> Json.parse("{\"a\" 1}"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("JSON: Expected ':' at line 1 column 7 path $.a");
    assertThatThrownBy(() -> Json.parse("{} x")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Json.parse("{'a': 1}")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Json.parse(" ")).hasMessage("JSON: empty text (expected: a value)");
    assertThat(Json.parse("[]")).isEqualTo(List.of());
  }

  @Test
  void agentsAndWhatTheyHaveNotAcked() {
    List<MeshAgent> agents =
        MeshAgent.fromAgentsJson(
            "{\"agentCount\":2,\"agents\":[{\"streamId\":1,\"nodeId\":\"c-1\",\"nodeCluster\":\"c\","
                + "\"metadata\":{\"NAMESPACE\":\"default\",\"jmesh.admin.port\":\"4191\"},\"adminAddress\":\"127.0.0.1:4191\","
                + "\"types\":{\"listener\":{\"sentVersion\":\"v2\",\"ackedVersion\":\"v2\",\"nacked\":false,\"lastNack\":null},"
                + "\"cluster\":{\"sentVersion\":\"v2\",\"ackedVersion\":\"v1\",\"nacked\":true,"
                + "\"lastNack\":{\"message\":\"lb_policy: MAGLEV\"}}}},"
                + "{\"streamId\":2,\"nodeId\":null,\"nodeCluster\":null,\"metadata\":{},\"adminAddress\":null,\"types\":{}}]}");
    assertThat(agents.get(0).label()).isEqualTo("c-1 (c.default)");
    assertThat(agents.get(0).adminAddress()).isEqualTo("127.0.0.1:4191");
    assertThat(agents.get(0).types().get("listener")).isNull();
    assertThat(agents.get(0).types().get("cluster"))
        .isEqualTo("NACKed version v2: lb_policy: MAGLEV; runs version v1");
    assertThat(agents.get(1).label()).isEqualTo("stream 2");
  }

  @Test
  void aResumedStreamIsInSyncAndAFreshOneHasNothingYet() {
    List<MeshAgent> agents =
        MeshAgent.fromAgentsJson(
            "{\"agentCount\":1,\"agents\":[{\"streamId\":3,\"nodeId\":\"c-1\",\"nodeCluster\":\"c\","
                + "\"metadata\":{},\"adminAddress\":null,\"types\":{"
                + "\"listener\":{\"sentVersion\":null,\"ackedVersion\":\"v2\",\"nacked\":false,\"lastNack\":null},"
                + "\"cluster\":{\"sentVersion\":null,\"ackedVersion\":null,\"nacked\":false,\"lastNack\":null}}}]}");
    // Resumed with the served version: the controller sends nothing, the agent runs v2.
    assertThat(agents.get(0).types().get("listener")).isNull();
    assertThat(agents.get(0).types().get("cluster")).isEqualTo("nothing sent yet");
  }

  @Test
  void eachTypeIsInSyncWithTheVersionServedForIt() {
    List<MeshAgent> agents =
        MeshAgent.fromAgentsJson(
            "{\"agentCount\":1,\"agents\":[{\"streamId\":4,\"nodeId\":\"c-1\",\"nodeCluster\":\"c\","
                + "\"metadata\":{},\"adminAddress\":null,\"types\":{"
                + "\"listener\":{\"servedVersion\":\"v1\",\"sentVersion\":\"v1\",\"ackedVersion\":\"v1\",\"nacked\":false,\"lastNack\":null},"
                + "\"endpoint\":{\"servedVersion\":\"v3\",\"sentVersion\":\"v2\",\"ackedVersion\":\"v2\",\"nacked\":false,\"lastNack\":null}}}]}");
    // Listeners unchanged since v1 are in sync at v1; endpoints of v3 have not reached it.
    assertThat(agents.get(0).types().get("listener")).isNull();
    assertThat(agents.get(0).types().get("endpoint"))
        .isEqualTo("runs version v2, the controller serves v3 (not sent yet)");
  }
}
