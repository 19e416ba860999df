package io.jmesh.smoke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import io.jmesh.smoke.apps.HelloServer;
import io.jmesh.smoke.apps.TrafficClient;
import io.jmesh.smoke.support.ControllerProcess;
import io.jmesh.smoke.support.Jvm;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Controller mode with real JVMs: two HelloServers ({@code a} on version v1, {@code b} on v2), a
 * controller JVM watching a YAML file, and two client JVMs with the agent and {@code
 * JMESH_CONTROLLER} (applications without mesh code, sending 40 calls per second each to {@code
 * http://hello:8080/}). Each client prints one {@code STATS} line per second with the calls each
 * instance answered and the errors.
 *
 * <ol>
 *   <li>All traffic goes to v1 (weights 100/0).
 *   <li>A weight change in the controller's file (0/100) reaches both agents: their traffic moves
 *       to v2, and the controller's {@code /agents} shows both ACKed the new version (of the types
 *       it changed; each type ACKed the version served for it).
 *   <li>The controller is killed: traffic goes on, on the last snapshot, with zero errors.
 *   <li>The file changes back to 100/0 while it is down; the restarted controller pushes it and
 *       the traffic moves back to v1.
 *   <li>An override makes the Cluster unusable for the agents (lb_policy MAGLEV): both NACK it,
 *       the reason is in {@code /agents}, and traffic goes on to v1 with zero errors.
 * </ol>
 *
 * <p>No sleeps: every wait is for a line of a real process or a bounded poll of the admin API.
 */
class ControllerSmokeTest {
  private static final int RPS = 40;
  private final List<AutoCloseable> toClose = new ArrayList<>();

  @TempDir Path dir;

  @AfterEach
  void stopAll() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  @Test
  void weightChangesReachEveryAgentAndTrafficSurvivesTheController() throws Exception {
    Jvm a = start(Jvm.builder("hello-a").main(HelloServer.class.getName(),
        "--name", "a", "--version", "v1", "--bind", "127.0.0.2", "--port", "0"));
    Jvm b = start(Jvm.builder("hello-b").main(HelloServer.class.getName(),
        "--name", "b", "--version", "v2", "--bind", "127.0.0.3", "--port", "0"));
    int portA = a.awaitReady(30_000);
    int portB = b.awaitReady(30_000);
    Path config = dir.resolve("mesh.yaml");
    Path overrides = dir.resolve("overrides.json");
    ControllerProcess.write(overrides, "{\"resources\": []}");
    String v1 = ControllerProcess.write(config, mesh(portA, portB, 100, 0));
    ControllerProcess controller = new ControllerProcess(config, overrides).start();
    toClose.add(controller);

    List<Jvm> clients = new ArrayList<>();
    for (String name : List.of("client-1", "client-2")) {
      clients.add(start(Jvm.builder(name)
          .withAgent()
          .env(controller.agentEnv())
          .env("JMESH_SERVICE", name)
          // The controller is up: wait for it and for hello's first routes as long as a loaded
          // machine needs. With the defaults (2 s each) a run at load 16 made its first calls
          // before hello's endpoints arrived, and they failed with no endpoint.
          .env("JMESH_XDS_INITIAL_WAIT_MS", "60000")
          .env("JMESH_XDS_FIRST_USE_TIMEOUT_MS", "60000")
          .main(TrafficClient.class.getName(), "--url", "http://hello:8080/",
              "--rps", Integer.toString(RPS), "--seconds", "120")));
    }

    // 1. Everything to v1.
    for (Jvm client : clients) {
      awaitSeconds(client, 2, s -> s.count("a") > 0 && s.count("b") == 0, 60_000);
    }
    awaitAgents(controller, agents -> allAcked(agents, v1), "both agents ACKed " + v1);

    // 2. The operator moves all traffic to v2.
    String v2 = ControllerProcess.write(config, mesh(portA, portB, 0, 100));
    for (Jvm client : clients) {
      awaitSeconds(client, 2, s -> s.count("b") > 0 && s.count("a") == 0, 20_000);
    }
    awaitAgents(controller, agents -> allAcked(agents, v2), "both agents ACKed " + v2);

    // 3. The controller dies; the agents keep the last snapshot and no call fails.
    controller.kill();
    for (Jvm client : clients) {
      awaitLine(client, l -> l.contains("xDS stream to") && l.contains("ended"), 20_000);
      awaitSeconds(client, 5, s -> s.count("b") > 0 && s.count("a") == 0, 20_000);
    }

    // 4. Back to v1 while it is down; the restarted controller pushes it.
    String v3 = ControllerProcess.write(config, mesh(portA, portB, 100, 0));
    ControllerProcess restarted = controller.start();
    for (Jvm client : clients) {
      awaitSeconds(client, 2, s -> s.count("a") > 0 && s.count("b") == 0, 30_000);
    }
    awaitAgents(restarted, agents -> allAcked(agents, v3), "both agents ACKed " + v3);

    // 5. A push the agents cannot apply: NACKed with the reason, the previous snapshot stays.
    ControllerProcess.write(overrides, """
        {"resources": [{"@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster",
          "name": "hello.default", "type": "EDS", "lb_policy": "MAGLEV",
          "eds_cluster_config": {"eds_config": {"ads": {}, "resource_api_version": "V3"},
                                 "service_name": "hello.default"}}]}
        """);
    awaitAgents(
        restarted,
        agents -> clusterNacked(agents, v3, "Cluster hello.default: lb_policy: MAGLEV"),
        "both agents NACKed the Cluster with its reason and still hold " + v3);
    for (Jvm client : clients) {
      awaitLine(client, l -> l.contains("xDS: rejected") && l.contains("lb_policy"), 20_000);
      awaitSeconds(client, 3, s -> s.count("a") > 0 && s.count("b") == 0, 20_000);
    }
  }

  private Jvm start(Jvm.Builder builder) throws Exception {
    Jvm jvm = builder.start();
    toClose.add(jvm);
    return jvm;
  }

  private static String mesh(int portA, int portB, int v1Weight, int v2Weight) {
    return """
        services:
          - name: hello
            ports: [8080]
            endpoints:
              - {address: 127.0.0.2, port: %d, labels: {version: v1}}
              - {address: 127.0.0.3, port: %d, labels: {version: v2}}
            routes:
              - name: split
                backends:
                  - {subset: {version: v1}, weight: %d}
                  - {subset: {version: v2}, weight: %d}
        """.formatted(portA, portB, v1Weight, v2Weight);
  }

  /** One {@code STATS} line of a {@link TrafficClient}. */
  record Second(int t, Map<String, Long> counts, long errors) {
    long count(String instance) {
      return counts.getOrDefault(instance, 0L);
    }

    static Second parse(String line) {
      int t = 0;
      long errors = 0;
      Map<String, Long> counts = new LinkedHashMap<>();
      for (String token : line.substring("STATS ".length()).trim().split(" ")) {
        String[] kv = token.split("=");
        switch (kv[0]) {
          case "t" -> t = Integer.parseInt(kv[1]);
          case "errors" -> errors = Long.parseLong(kv[1]);
          case "skipped" -> { }
          default -> counts.put(kv[0], Long.parseLong(kv[1]));
        }
      }
      return new Second(t, counts, errors);
    }
  }

  /**
   * Waits for {@code n} consecutive seconds that satisfy {@code ok}. Every second read on the way
   * must have no error: no call may fail through weight changes, the controller's death and
   * restart, or a rejected push.
   */
  static void awaitSeconds(Jvm client, int n, Predicate<Second> ok, long timeoutMillis)
      throws InterruptedException {
    long deadline = System.currentTimeMillis() + timeoutMillis;
    int run = 0;
    while (run < n) {
      long left = deadline - System.currentTimeMillis();
      String line = client.awaitLine(l -> l.startsWith("STATS "), Math.max(1, left));
      Second second = Second.parse(line);
      assertThat(second.errors()).as("errors in %s\n%s", line, client.output()).isZero();
      run = ok.test(second) ? run + 1 : 0;
    }
  }

  /** Waits for a line; the {@code STATS} lines passed on the way must have no error either. */
  private static void awaitLine(Jvm client, Predicate<String> match, long timeoutMillis)
      throws InterruptedException {
    client.awaitLine(
        l -> {
          if (l.startsWith("STATS ")) {
            assertThat(Second.parse(l).errors()).as("errors in %s\n%s", l, client.output()).isZero();
          }
          return match.test(l);
        },
        timeoutMillis);
  }

  /** Polls {@code /agents} (bounded) until the parsed document satisfies {@code ok}. */
  private static void awaitAgents(ControllerProcess controller, Predicate<Struct> ok, String what) {
    AtomicReference<String> body = new AtomicReference<>("");
    try {
      await()
          .atMost(Duration.ofSeconds(20))
          .pollInterval(Duration.ofMillis(100))
          .until(
              () -> {
                body.set(controller.get("/agents").body());
                return ok.test(json(body.get()));
              });
    } catch (ConditionTimeoutException e) {
      throw new AssertionError("not within 20 s: " + what + "; /agents:\n" + body.get()
          + "\ncontroller output:\n" + controller.jvm().output(), e);
    }
  }

  private static Struct json(String body) throws InvalidProtocolBufferException {
    Struct.Builder out = Struct.newBuilder();
    JsonFormat.parser().merge(body, out);
    return out.build();
  }

  /** The two agents, each with its subscribed types ({@code listener}, {@code cluster}, ...). */
  private static List<Struct> agents(Struct doc) {
    List<Struct> out = new ArrayList<>();
    for (Value agent : doc.getFieldsOrThrow("agents").getListValue().getValuesList()) {
      out.add(agent.getStructValue());
    }
    return out;
  }

  private static Map<String, Struct> types(Struct agent) {
    Map<String, Struct> out = new LinkedHashMap<>();
    agent.getFieldsOrThrow("types").getStructValue().getFieldsMap()
        .forEach((k, v) -> out.put(k, v.getStructValue()));
    return out;
  }

  private static String text(Struct s, String field) {
    Value v = s.getFieldsOrDefault(field, Value.getDefaultInstance());
    return v.hasStringValue() ? v.getStringValue() : null;
  }

  /**
   * Both agents are in sync with {@code version}: each of the four types (every service is in
   * use) ACKed the version the controller serves for it now, and the types that changed in {@code
   * version} hold it (each type keeps the version it last changed in).
   */
  private static boolean allAcked(Struct doc, String version) {
    List<Struct> agents = agents(doc);
    if (agents.size() != 2) {
      return false;
    }
    for (Struct agent : agents) {
      Map<String, Struct> types = types(agent);
      if (!types.keySet().containsAll(List.of("listener", "route", "cluster", "endpoint"))) {
        return false;
      }
      boolean holdsVersion = false;
      for (Struct type : types.values()) {
        String acked = text(type, "ackedVersion");
        if (acked == null || !acked.equals(text(type, "servedVersion"))) {
          return false;
        }
        holdsVersion |= version.equals(acked);
      }
      if (!holdsVersion) {
        return false;
      }
    }
    return true;
  }

  /**
   * Both agents NACKed the Cluster with a message that starts with {@code reason}, and still hold
   * {@code kept} for it.
   */
  private static boolean clusterNacked(Struct doc, String kept, String reason) {
    List<Struct> agents = agents(doc);
    if (agents.size() != 2) {
      return false;
    }
    for (Struct agent : agents) {
      Struct cluster = types(agent).get("cluster");
      if (cluster == null
          || !cluster.getFieldsOrThrow("nacked").getBoolValue()
          || !kept.equals(text(cluster, "ackedVersion"))) {
        return false;
      }
      Value lastNack = cluster.getFieldsOrThrow("lastNack");
      if (!lastNack.hasStructValue()) {
        return false;
      }
      String message = text(lastNack.getStructValue(), "message");
      if (message == null || !message.startsWith(reason)) {
        return false;
      }
    }
    return true;
  }

}
