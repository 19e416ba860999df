package io.jmesh.instrumentation.grpc.v1_60;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.jmesh.agent.tooling.Agent;
import io.jmesh.runtime.config.MeshConfigParser;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The cases where gRPC's own copy of the call path had drifted from the runtime's rule, now that
 * RPCs go through the runtime's call driver: a route's deadline bounds the mesh's fault delay and
 * the wait for a place among the requests in flight. Before, an RPC waited out the whole fault
 * delay and waited for a slot without bound (the application's gRPC deadline applies only once
 * an attempt exists). Here on grpc-netty-shaded; the call path is the same for every transport.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GrpcDeadlineMeshIT {
  // Far beyond the bounded polls below: only the route's deadline can end these RPCs in time.
  private static final CallOptions LONG_DEADLINE = CallOptions.DEFAULT.withDeadlineAfter(600, TimeUnit.SECONDS);

  private TestGrpcServer server;
  private ManagedChannel channel;

  @BeforeAll
  void startServer() throws Exception {
    server = new TestGrpcServer("v1-a", "127.0.0.2");
    await().atMost(Duration.ofSeconds(30)).until(() -> Agent.context() != null);
  }

  @AfterEach
  void closeChannel() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }
  }

  @AfterAll
  void stopServer() throws InterruptedException {
    server.close();
  }

  private void mesh(String... routeLines) throws Exception {
    String yaml =
        String.join(
            "\n",
            "services:",
            "  - name: drifted",
            "    ports: [8080]",
            "    policy: {maxInFlight: 1, maxPending: 1}",
            "    endpoints:",
            "      - {address: 127.0.0.2, port: " + server.port() + "}",
            "    routes:",
            String.join("\n", routeLines),
            "");
    Agent.context().runtime().update(MeshConfigParser.parse("test.yaml", yaml, "default"));
    channel = NettyChannelBuilder.forTarget("drifted:8080").usePlaintext().build();
  }

  /** The status the RPC ended with, once it has ended (bounded poll: it must end). */
  private static Status endOf(Future<String> rpc) throws InterruptedException {
    await().atMost(Duration.ofSeconds(30)).until(rpc::isDone);
    try {
      rpc.get();
      return Status.OK;
    } catch (ExecutionException e) {
      return Status.fromThrowable(e.getCause());
    }
  }

  @Test
  void aFaultDelayIsCappedByTheRoutesDeadline() throws Exception {
    mesh(
        "      - name: quick",
        "        timeout: 200ms",
        "        fault: {delay: {percent: 100, duration: 1h}}",
        "        backends: [{subset: {}, weight: 1}]");
    int before = server.calls();

    Future<String> rpc = ClientCalls.futureUnaryCall(channel.newCall(TestGrpcServer.HELLO, LONG_DEADLINE), "hi");

    Status status = endOf(rpc);
    assertThat(status.getCode()).as("%s", status).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
    assertThat(status.getDescription()).as("%s", status).contains("route quick");
    assertThat(server.calls() - before).as("RPCs that reached the server").isZero();
  }

  @Test
  void theWaitForASlotIsBoundedByTheRoutesDeadline() throws Exception {
    mesh(
        "      - name: holder",
        "        matches: [{path: {prefix: /test.Waiter/}}]",
        "        backends: [{subset: {}, weight: 1}]",
        "      - name: quick",
        "        timeout: 200ms",
        "        backends: [{subset: {}, weight: 1}]");
    int hanging = server.hanging();
    int before = server.calls();
    // The destination's one slot, held by an RPC that the server keeps open.
    Future<String> holder = ClientCalls.futureUnaryCall(channel.newCall(TestGrpcServer.HANG, LONG_DEADLINE), "hi");
    await().atMost(Duration.ofSeconds(10)).until(() -> server.hanging() > hanging);

    Future<String> waiter = ClientCalls.futureUnaryCall(channel.newCall(TestGrpcServer.HELLO, LONG_DEADLINE), "hi");

    Status status = endOf(waiter);
    assertThat(status.getCode()).as("%s", status).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
    assertThat(status.getDescription()).as("%s", status).contains("route quick");
    assertThat(holder.isDone()).as("the holder still holds its slot").isFalse();
    assertThat(server.calls() - before).as("RPCs that reached the server: the holder only").isEqualTo(1);
    holder.cancel(true);
  }
}
