package io.jmesh.controller;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ListValue;
import com.google.protobuf.NullValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.jmesh.controller.xds.AgentStatus;
import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.config.Route;
import io.jmesh.runtime.config.Service;
import io.jmesh.runtime.config.ServiceEndpoint;
import io.jmesh.runtime.xds.XdsNames;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The admin API's documents, whole: their field names are an API (controller/README.md). */
class AdminJsonTest {
  private static final Instant T0 = Instant.parse("2026-11-22T10:00:00Z");

  @Test
  void agents() {
    Map<String, AgentStatus.TypeStatus> types = new LinkedHashMap<>();
    types.put(
        "listener",
        new AgentStatus.TypeStatus(
            XdsNames.LISTENER_TYPE, List.of(), "v2", "v2", "4", T0.plusSeconds(2), 1, "v2",
            T0.plusSeconds(3), false, null));
    types.put(
        "cluster",
        new AgentStatus.TypeStatus(
            XdsNames.CLUSTER_TYPE,
            List.of("hello.default"),
            "v2",
            "v2",
            "6",
            T0.plusSeconds(2),
            1,
            "v1",
            T0.plusSeconds(1),
            true,
            new AgentStatus.Nack(
                "v2", 3, "Cluster hello.default: lb_policy: \"MAGLEV\"", T0.plusSeconds(4))));
    AgentStatus agent =
        new AgentStatus(
            3,
            "hello-1",
            "hello.default",
            "jmesh-agent 0.1.0",
            Struct.newBuilder()
                .putFields("zone", Value.newBuilder().setStringValue("a").build())
                .putFields("cores", Value.newBuilder().setNumberValue(4).build())
                .putFields("jmesh.admin.port", Value.newBuilder().setStringValue("4192").build())
                .build(),
            "127.0.0.1:53422",
            "spiffe://cluster.local/ns/default/sa/hello",
            T0,
            types);

    assertThat(AdminJson.write(AdminJson.agents(List.of(agent))))
        .isEqualTo(
            String.join(
                "\n",
                "{",
                "  \"agentCount\": 1,",
                "  \"agents\": [",
                "    {",
                "      \"streamId\": 3,",
                "      \"nodeId\": \"hello-1\",",
                "      \"nodeCluster\": \"hello.default\",",
                "      \"userAgent\": \"jmesh-agent 0.1.0\",",
                "      \"metadata\": {",
                "        \"cores\": 4,",
                "        \"jmesh.admin.port\": \"4192\",",
                "        \"zone\": \"a\"",
                "      },",
                "      \"remoteAddress\": \"127.0.0.1:53422\",",
                "      \"adminAddress\": \"127.0.0.1:4192\",",
                "      \"identity\": \"spiffe://cluster.local/ns/default/sa/hello\",",
                "      \"connectedSince\": \"2026-11-22T10:00:00Z\",",
                "      \"types\": {",
                "        \"listener\": {",
                "          \"typeUrl\": \"type.googleapis.com/envoy.config.listener.v3.Listener\",",
                "          \"wildcard\": true,",
                "          \"subscribed\": [],",
                "          \"servedVersion\": \"v2\",",
                "          \"sentVersion\": \"v2\",",
                "          \"sentNonce\": \"4\",",
                "          \"sentAt\": \"2026-11-22T10:00:02Z\",",
                "          \"sentResources\": 1,",
                "          \"ackedVersion\": \"v2\",",
                "          \"ackedAt\": \"2026-11-22T10:00:03Z\",",
                "          \"nacked\": false,",
                "          \"lastNack\": null",
                "        },",
                "        \"cluster\": {",
                "          \"typeUrl\": \"type.googleapis.com/envoy.config.cluster.v3.Cluster\",",
                "          \"wildcard\": false,",
                "          \"subscribed\": [\"hello.default\"],",
                "          \"servedVersion\": \"v2\",",
                "          \"sentVersion\": \"v2\",",
                "          \"sentNonce\": \"6\",",
                "          \"sentAt\": \"2026-11-22T10:00:02Z\",",
                "          \"sentResources\": 1,",
                "          \"ackedVersion\": \"v1\",",
                "          \"ackedAt\": \"2026-11-22T10:00:01Z\",",
                "          \"nacked\": true,",
                "          \"lastNack\": {",
                "            \"version\": \"v2\",",
                "            \"code\": 3,",
                "            \"message\": \"Cluster hello.default: lb_policy: \\\"MAGLEV\\\"\",",
                "            \"at\": \"2026-11-22T10:00:04Z\"",
                "          }",
                "        }",
                "      }",
                "    }",
                "  ]",
                "}",
                ""));
  }

  @Test
  void agentBeforeItsFirstRequest() {
    AgentStatus agent =
        new AgentStatus(
            0, null, null, null, Struct.getDefaultInstance(), null, null, T0, Map.of());
    assertThat(AdminJson.write(AdminJson.agent(agent)))
        .isEqualTo(
            String.join(
                "\n",
                "{",
                "  \"streamId\": 0,",
                "  \"nodeId\": null,",
                "  \"nodeCluster\": null,",
                "  \"userAgent\": null,",
                "  \"metadata\": {},",
                "  \"remoteAddress\": null,",
                "  \"adminAddress\": null,",
                "  \"identity\": null,",
                "  \"connectedSince\": \"2026-11-22T10:00:00Z\",",
                "  \"types\": {}",
                "}",
                ""));
  }

  @Test
  void snapshotServed() {
    MeshSnapshot snapshot =
        new MeshSnapshot(
            "0123456789ab",
            List.of(
                new Service(
                    "hello",
                    "default",
                    List.of(8080, 8443),
                    List.of(
                        ServiceEndpoint.of("127.0.0.2", 18081),
                        ServiceEndpoint.of("127.0.0.3", 18081)),
                    List.of()),
                new Service(
                    "db", "prod", List.of(5432), List.of(ServiceEndpoint.of("db", 5432)),
                    List.<Route>of())));
    AdminModel.SnapshotStatus status =
        new AdminModel.SnapshotStatus(
            "file /etc/jmesh/mesh.yaml",
            snapshot,
            T0,
            "0123456789ab",
            "/etc/jmesh/mesh.yaml:4: services[0].ports[0]: 0 (expected: 1..65535)",
            null,
            "0123456789ab+o1f2e3d",
            "file /etc/jmesh/overrides.json, 1 resources",
            null);

    assertThat(AdminJson.write(AdminJson.snapshot(status)))
        .isEqualTo(
            String.join(
                "\n",
                "{",
                "  \"version\": \"0123456789ab\",",
                "  \"appliedAt\": \"2026-11-22T10:00:00Z\",",
                "  \"source\": \"file /etc/jmesh/mesh.yaml\",",
                "  \"sourceVersion\": \"0123456789ab\",",
                "  \"lastError\": \"/etc/jmesh/mesh.yaml:4: services[0].ports[0]: 0 (expected:"
                    + " 1..65535)\",",
                "  \"translationError\": null,",
                "  \"servedVersion\": \"0123456789ab+o1f2e3d\",",
                "  \"overrides\": \"file /etc/jmesh/overrides.json, 1 resources\",",
                "  \"overridesError\": null,",
                "  \"serviceCount\": 2,",
                "  \"endpointCount\": 3,",
                "  \"services\": [",
                "    {",
                "      \"name\": \"hello\",",
                "      \"namespace\": \"default\",",
                "      \"ports\": [8080, 8443],",
                "      \"endpoints\": 2,",
                "      \"routes\": 0",
                "    },",
                "    {",
                "      \"name\": \"db\",",
                "      \"namespace\": \"prod\",",
                "      \"ports\": [5432],",
                "      \"endpoints\": 1,",
                "      \"routes\": 0",
                "    }",
                "  ]",
                "}",
                ""));
  }

  @Test
  void snapshotBeforeTheFirst() {
    AdminModel.SnapshotStatus status =
        new AdminModel.SnapshotStatus(
            "file /m.yaml", null, null, null, "/m.yaml: no such file", null, null, null, null);
    Map<String, Object> json = AdminJson.snapshot(status);
    assertThat(json.get("version")).isNull();
    assertThat(json.get("services")).isEqualTo(List.of());
    assertThat(json).containsEntry("lastError", "/m.yaml: no such file");
  }

  @Test
  void structValuesOfEveryKind() {
    Struct struct =
        Struct.newBuilder()
            .putFields("b", Value.newBuilder().setBoolValue(true).build())
            .putFields("n", Value.newBuilder().setNullValue(NullValue.NULL_VALUE).build())
            .putFields("half", Value.newBuilder().setNumberValue(0.5).build())
            .putFields(
                "list",
                Value.newBuilder()
                    .setListValue(
                        ListValue.newBuilder()
                            .addValues(Value.newBuilder().setStringValue("x"))
                            .addValues(Value.newBuilder().setNumberValue(2)))
                    .build())
            .putFields(
                "inner",
                Value.newBuilder()
                    .setStructValue(
                        Struct.newBuilder()
                            .putFields("k", Value.newBuilder().setStringValue("v").build()))
                    .build())
            .build();
    assertThat(AdminJson.write(AdminJson.struct(struct)))
        .isEqualTo(
            String.join(
                "\n",
                "{",
                "  \"b\": true,",
                "  \"half\": 0.5,",
                "  \"inner\": {",
                "    \"k\": \"v\"",
                "  },",
                "  \"list\": [\"x\", 2],",
                "  \"n\": null",
                "}",
                ""));
  }

  @Test
  void stringsAreEscaped() {
    assertThat(AdminJson.write("a\"b\\c\nd\te\u0001\u2028<&>"))
        .isEqualTo("\"a\\\"b\\\\c\\nd\\te\\u0001\\u2028<&>\"\n");
  }

  @Test
  void structNumbersAreIntegersWhenIntegralAndStringsWhenNotFinite() {
    assertThat(AdminJson.number(4.0)).isEqualTo(4L);
    assertThat(AdminJson.number(-0.5)).isEqualTo(-0.5);
    assertThat(AdminJson.number(1e15)).isEqualTo(1e15);
    assertThat(AdminJson.number(Double.NaN)).isEqualTo("NaN");
    assertThat(AdminJson.number(Double.NEGATIVE_INFINITY)).isEqualTo("-Infinity");
    assertThat(AdminJson.write(List.of(1e15, 0.25, 7L, "x", true)))
        .isEqualTo("[1.0E15, 0.25, 7, \"x\", true]\n");
    // A list that holds a list is not on one line; empty ones are.
    Map<String, Object> lists = new LinkedHashMap<>();
    lists.put("empty", List.of());
    lists.put("nested", List.of(List.of()));
    lists.put("none", null);
    assertThat(AdminJson.write(lists))
        .isEqualTo("{\n  \"empty\": [],\n  \"nested\": [\n    []\n  ],\n  \"none\": null\n}\n");
  }

  @Test
  void aRoutesGrpcRetryConditionsAreListedByEnvoysNames() throws Exception {
    Service service =
        io.jmesh.runtime.config.MeshConfigParser.parse(
                "t.yaml",
                "services:\n  - name: hello\n    ports: [8080]\n    routes:\n"
                    + "      - name: rpc\n        backends: [{subset: {}, weight: 1}]\n"
                    + "        retry: {on: [UNAVAILABLE, cancelled, 503]}\n",
                "default")
            .services()
            .get(0);

    @SuppressWarnings("unchecked")
    Map<String, Object> route = ((List<Map<String, Object>>) AdminJson.service(service, "v1").get("routes")).get(0);

    assertThat(route.get("retryOnStatus")).isEqualTo(List.of(503));
    assertThat(route.get("retryOnGrpc")).isEqualTo(List.of("cancelled", "unavailable"));
  }
}
