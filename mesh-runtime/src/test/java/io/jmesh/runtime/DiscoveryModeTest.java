package io.jmesh.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.jmesh.runtime.config.DestinationPolicy;
import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.inbound.AuthorizationPolicy;
import io.jmesh.runtime.config.Route;
import io.jmesh.runtime.config.Service;
import io.jmesh.runtime.config.ServiceEndpoint;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Discovery mode: services the controller declares are mesh destinations before their resources
 * arrive; calls in a service's first-use window wait for them (all of them, not only the first),
 * and once the window is over calls never wait.
 */
class DiscoveryModeTest {
  static final Service DECLARED = new Service("hello", "default", List.of(8080), List.of(), List.of());
  static final Service RESOLVED =
      new Service(
          "hello",
          "default",
          List.of(8080),
          List.of(ServiceEndpoint.of("127.0.0.2", 18081)),
          List.<Route>of());

  final ExecutorService callers = Executors.newFixedThreadPool(2);
  final List<Thread> callerThreads = new CopyOnWriteArrayList<>();

  @AfterEach
  void stop() throws InterruptedException {
    callers.shutdownNow();
    assertThat(callers.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
  }

  /** Stands in for the controller: what it declares and resolves is up to the test. */
  static final class ScriptedDiscovery implements Discovery {
    final CompletableFuture<Consumer<MeshSnapshot>> sink = new CompletableFuture<>();
    final List<String> watched = new CopyOnWriteArrayList<>();

    @Override
    public void start(Consumer<MeshSnapshot> onSnapshot) {
      sink.complete(onSnapshot);
    }

    @Override
    public void watch(String qualifiedName) {
      watched.add(qualifiedName);
    }

    @Override
    public void close() {}

    void publish(MeshSnapshot snapshot) {
      sink.join().accept(snapshot);
    }
  }

  static OutboundRequest hello() {
    return OutboundRequest.of("http", "hello", 8080, "GET", "/", null);
  }

  Future<OutboundCall> callInBackground(MeshRuntime runtime) {
    return callers.submit(
        () -> {
          callerThreads.add(Thread.currentThread());
          return runtime.route(hello());
        });
  }

  @Test
  void aRoutesMirrorServiceIsWatchedWithoutWaitingForACall() {
    ScriptedDiscovery discovery = new ScriptedDiscovery();
    Route mirrored =
        new Route(
            "api",
            List.of(io.jmesh.runtime.config.RouteMatch.ANY),
            List.of(io.jmesh.runtime.config.Backend.all()),
            io.jmesh.runtime.config.RoutePolicy.DEFAULT,
            io.jmesh.runtime.config.RouteFilters.NONE.withMirror(
                new io.jmesh.runtime.config.RequestMirror("shadow", "default", 100)));
    Service hello =
        new Service("hello", "default", List.of(8080), List.of(ServiceEndpoint.of("127.0.0.2", 18081)), List.of(mirrored));
    Service shadow = new Service("shadow", "default", List.of(8080), List.of(), List.of());
    try (MeshRuntime runtime = MeshRuntime.builder().discovery(discovery, Duration.ofMinutes(5)).build()) {
      // Copies never wait on first use: the route's arrival asks for its mirror's resources.
      discovery.publish(new MeshSnapshot("1", List.of(hello), List.of(shadow)));
      assertThat(discovery.watched).containsExactly("shadow.default");

      // Once resolved, nothing more is asked.
      discovery.publish(new MeshSnapshot("2", List.of(hello, shadow)));
      assertThat(discovery.watched).containsExactly("shadow.default");
    }
  }

  @Test
  void everyCallInTheFirstUseWindowWaitsForTheResources() throws Exception {
    ScriptedDiscovery discovery = new ScriptedDiscovery();
    try (MeshRuntime runtime =
        MeshRuntime.builder().discovery(discovery, Duration.ofMinutes(5)).build()) {
      discovery.publish(new MeshSnapshot("1", List.of(), List.of(DECLARED)));
      assertThat(runtime.isMeshDestination("hello", 8080)).isTrue();

      Future<OutboundCall> first = callInBackground(runtime);
      Future<OutboundCall> second = callInBackground(runtime);
      await()
          .atMost(Duration.ofSeconds(10))
          .until(
              () ->
                  callerThreads.size() == 2
                      && callerThreads.stream()
                          .allMatch(t -> t.getState() == Thread.State.TIMED_WAITING));
      assertThat(first).isNotDone();
      assertThat(second).isNotDone();
      assertThat(discovery.watched).containsExactly("hello.default");

      discovery.publish(new MeshSnapshot("1", List.of(RESOLVED)));
      for (Future<OutboundCall> call : List.of(first, second)) {
        Endpoint endpoint = call.get(10, TimeUnit.SECONDS).nextEndpoint();
        assertThat(endpoint).isNotNull();
        assertThat(endpoint.host()).isEqualTo("127.0.0.2");
      }
    }
  }

  @Test
  void aClientThatDecidesBeforeItsFirstCallWaitsForTheResourcesToo() throws Exception {
    Service tls =
        new Service(
            "hello",
            "default",
            List.of(8080),
            List.of(ServiceEndpoint.of("127.0.0.2", 18081)),
            List.<Route>of(),
            DestinationPolicy.DEFAULT,
            List.of(io.jmesh.runtime.identity.SpiffeId.parse("spiffe://cluster.local/ns/default/sa/hello")));
    ScriptedDiscovery discovery = new ScriptedDiscovery();
    try (MeshRuntime runtime =
        MeshRuntime.builder().discovery(discovery, Duration.ofMinutes(5)).build()) {
      discovery.publish(new MeshSnapshot("1", List.of(), List.of(DECLARED)));
      assertThat(runtime.requiresMeshTls("hello", 8080)).as("not known before the resources").isFalse();

      // A gRPC channel being built: it waits, like a first call, then sees the service's identities.
      Future<Boolean> building =
          callers.submit(
              () -> {
                callerThreads.add(Thread.currentThread());
                runtime.awaitFirstUse("hello", 8080);
                return runtime.requiresMeshTls("hello", 8080);
              });
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> callerThreads.size() == 1 && callerThreads.get(0).getState() == Thread.State.TIMED_WAITING);
      assertThat(discovery.watched).containsExactly("hello.default");

      discovery.publish(new MeshSnapshot("1", List.of(tls)));
      assertThat(building.get(10, TimeUnit.SECONDS)).isTrue();
      assertThat(runtime.endpointsOf("hello", 8080)).hasSize(1);
      // Resolved, or no mesh destination: no wait.
      runtime.awaitFirstUse("hello", 8080);
      runtime.awaitFirstUse("other", 8080);
    }
  }

  @Test
  void afterTheWindowCallsDoNotWait() throws Exception {
    ScriptedDiscovery discovery = new ScriptedDiscovery();
    try (MeshRuntime runtime = MeshRuntime.builder().discovery(discovery, Duration.ZERO).build()) {
      discovery.publish(new MeshSnapshot("1", List.of(), List.of(DECLARED)));
      // Runs on the test thread: with a window of zero this returns at once.
      OutboundCall call = runtime.route(hello());
      assertThat(call.nextEndpoint()).isNull();
      assertThat(call.noEndpointMessage()).contains("hello");
      assertThat(discovery.watched).containsExactly("hello.default");

      runtime.route(hello());
      assertThat(discovery.watched).as("watched once per service").hasSize(1);

      discovery.publish(new MeshSnapshot("2", List.of(RESOLVED)));
      assertThat(runtime.route(hello()).nextEndpoint()).isNotNull();
    }
  }

  @Test
  void theInboundPolicyOfADeclaredServiceIsInForceBeforeItIsResolved() {
    // A workload serves services it never calls: their policy must not wait for a first call.
    AuthorizationPolicy denyAll =
        new AuthorizationPolicy(
            "hello.default", AuthorizationPolicy.Mode.ENFORCE, AuthorizationPolicy.Default.DENY, List.of());
    Service declared =
        new Service(
            "hello", "default", List.of(8080), List.of(), List.of(), DestinationPolicy.DEFAULT,
            List.of(), denyAll);
    ScriptedDiscovery discovery = new ScriptedDiscovery();
    try (MeshRuntime runtime =
        MeshRuntime.builder().discovery(discovery, Duration.ofMinutes(5)).build()) {
      assertThat(runtime.inboundPolicy("hello.default"))
          .isEqualTo(AuthorizationPolicy.allAuthenticated("hello.default"));

      discovery.publish(new MeshSnapshot("1", List.of(), List.of(declared)));
      assertThat(runtime.inboundPolicy("hello.default")).isEqualTo(denyAll);
      assertThat(discovery.watched).as("reading a policy is no call").isEmpty();

      // The policy's listener is gone: the default again.
      discovery.publish(new MeshSnapshot("2", List.of(), List.of(DECLARED)));
      assertThat(runtime.inboundPolicy("hello.default"))
          .isEqualTo(AuthorizationPolicy.allAuthenticated("hello.default"));
    }
  }

  @Test
  void undeclaredHostsAreNotMeshTraffic() {
    ScriptedDiscovery discovery = new ScriptedDiscovery();
    try (MeshRuntime runtime =
        MeshRuntime.builder().discovery(discovery, Duration.ofMinutes(5)).build()) {
      discovery.publish(new MeshSnapshot("1", List.of(), List.of(DECLARED)));
      assertThat(runtime.route(OutboundRequest.of("http", "example.com", 80, "GET", "/", null)))
          .isNull();
      assertThat(discovery.watched).isEmpty();
    }
  }
}
