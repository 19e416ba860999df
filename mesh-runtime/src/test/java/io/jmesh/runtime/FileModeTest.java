package io.jmesh.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmesh.runtime.config.ReloadResult;
import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.inbound.AuthorizationPolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileModeTest {
  private static final String V1 = """
      services:
        - name: hello
          ports: [8080]
          endpoints: [{address: 10.0.0.1, port: 18081}]
      """;
  private static final String V2 = """
      services:
        - name: hello
          ports: [8080]
          endpoints: [{address: 10.0.0.2, port: 18082}]
        - name: world
          ports: [9090]
          endpoints: [{address: 10.0.0.3, port: 19090}]
      """;
  private static final String BAD = """
      services:
        - name: hello
          ports: [8080]
          endpoints: [{address: 10.0.0.2, port: 18082, weight: -1}]
      """;

  @TempDir Path dir;
  Path file;
  ManualScheduler scheduler = new ManualScheduler();
  MeshRuntime runtime;

  @BeforeEach
  void setUp() {
    file = dir.resolve("mesh.yaml");
  }

  @AfterEach
  void tearDown() {
    if (runtime != null) {
      runtime.close();
      // Closing stops the poll: no task is left behind.
      assertThat(scheduler.pendingPeriodicTasks()).isZero();
    }
  }

  private MeshRuntime start() {
    runtime =
        MeshRuntime.builder()
            .configFile(file, scheduler, 1000)
            .random(new SplittableRandom(1))
            .build();
    return runtime;
  }

  private void write(String content) throws IOException {
    Files.writeString(file, content);
  }

  private String endpointOf(String host, int port) {
    OutboundCall call = runtime.route(Requests.get(host, port, "/"));
    return call == null ? null : call.nextEndpoint().host();
  }

  @Test
  void theInboundPolicyComesFromTheFileAndFollowsItsEdits() throws IOException {
    SpiffeId web = SpiffeId.of("cluster.local", "shop", "web");
    SpiffeId batch = SpiffeId.of("cluster.local", "jobs", "batch");
    write("""
        services:
          - name: hello
            ports: [8080]
            authorization:
              default: deny
              rules: [{name: shop, action: allow, namespaces: [shop]}]
        """);
    start();
    AuthorizationPolicy policy = runtime.inboundPolicy("hello.default");
    assertThat(policy.decide(web, "GET", "/").policy()).isEqualTo("hello.default/shop");
    assertThat(policy.decide(batch, "GET", "/").allowed()).isFalse();
    // A service the file does not name: every authenticated caller, named after the service.
    assertThat(runtime.inboundPolicy("other.default"))
        .isEqualTo(AuthorizationPolicy.allAuthenticated("other.default"));

    // Removing the policy brings the default back at the next reload.
    write(V1);
    runtime.reloadNow();
    assertThat(runtime.inboundPolicy("hello.default"))
        .isEqualTo(AuthorizationPolicy.allAuthenticated("hello.default"));
    assertThat(runtime.inboundPolicy("hello.default").decide(batch, "GET", "/").allowed()).isTrue();
  }

  @Test
  void loadsAtStartThenReloadsChangesAndKeepsLastGoodOnError() throws IOException {
    write(V1);
    start();
    assertThat(runtime.lastConfigError()).isEmpty();
    assertThat(endpointOf("hello", 8080)).isEqualTo("10.0.0.1");
    assertThat(runtime.isMeshDestination("world", 9090)).isFalse();

    // A good change is applied.
    write(V2);
    ReloadResult loaded = runtime.reloadNow();
    assertThat(loaded.status()).isEqualTo(ReloadResult.Status.LOADED);
    assertThat(runtime.snapshot()).isSameAs(loaded.snapshot());
    assertThat(endpointOf("hello", 8080)).isEqualTo("10.0.0.2");
    assertThat(endpointOf("world", 9090)).isEqualTo("10.0.0.3");
    String goodVersion = runtime.snapshot().version();

    // The same content again changes nothing.
    assertThat(runtime.reloadNow().status()).isEqualTo(ReloadResult.Status.UNCHANGED);

    // A bad change is reported and the last good snapshot still routes.
    write(BAD);
    ReloadResult failed = runtime.reloadNow();
    assertThat(failed.status()).isEqualTo(ReloadResult.Status.FAILED);
    String expected =
        file + ":4: services[0].endpoints[0].weight: -1 (expected: an integer >= 1)";
    assertThat(failed.error()).isEqualTo(expected);
    assertThat(runtime.lastConfigError()).contains(expected);
    assertThat(runtime.snapshot().version()).isEqualTo(goodVersion);
    assertThat(endpointOf("hello", 8080)).isEqualTo("10.0.0.2");
    assertThat(endpointOf("world", 9090)).isEqualTo("10.0.0.3");

    // Looking again at the same bad file still reports the error.
    assertThat(runtime.reloadNow().error()).isEqualTo(expected);

    // Fixing the file clears the error.
    write(V1);
    assertThat(runtime.reloadNow().status()).isEqualTo(ReloadResult.Status.LOADED);
    assertThat(runtime.lastConfigError()).isEmpty();
    assertThat(endpointOf("hello", 8080)).isEqualTo("10.0.0.1");
  }

  private List<String> hostsOf(String host, int port) {
    return runtime.endpointsOf(host, port).stream().map(Endpoint::host).toList();
  }

  @Test
  void updateListenersHearOfEveryAppliedChangeAndSeeIt() throws IOException {
    write(V1);
    start();
    List<String> heard = new ArrayList<>();
    // Each listener reads the config when told, as a gRPC channel's resolver does.
    Runnable removeFirst = runtime.addUpdateListener(() -> heard.add("first:" + hostsOf("hello", 8080)));
    runtime.addUpdateListener(
        () -> {
          throw new IllegalStateException("a broken listener");
        });
    runtime.addUpdateListener(() -> heard.add("last:" + hostsOf("hello", 8080)));

    // A rewritten file: both working listeners are told, after the new endpoints are in force,
    // and the broken one stops neither them nor the update.
    write(V2);
    assertThat(runtime.reloadNow().status()).isEqualTo(ReloadResult.Status.LOADED);
    assertThat(heard).hasSize(2).allMatch(h -> h.endsWith("[10.0.0.2]"), "the new endpoints");

    // Nothing applied, nobody told: the same content, then a bad file.
    heard.clear();
    runtime.reloadNow();
    write(BAD);
    runtime.reloadNow();
    assertThat(heard).isEmpty();

    // A removed listener is told no more.
    removeFirst.run();
    write(V1);
    runtime.reloadNow();
    assertThat(heard).containsExactly("last:[10.0.0.1]");
  }

  @Test
  void badFileAtStartGivesEmptySnapshotAndTheError() throws IOException {
    write(BAD);
    start();

    assertThat(runtime.snapshot().services()).isEmpty();
    assertThat(runtime.lastConfigError()).hasValueSatisfying(e -> assertThat(e).contains(":4: "));
    assertThat(runtime.route(Requests.get("hello", 8080, "/"))).isNull();
  }

  @Test
  void missingFileAtStartIsEmptyAndLaterDeletionKeepsLastGood() throws IOException {
    start();
    assertThat(runtime.snapshot().services()).isEmpty();
    assertThat(runtime.lastConfigError()).contains(file + ": no such file");

    // The file appears.
    write(V1);
    scheduler.runPeriodicTasks();
    assertThat(runtime.lastConfigError()).isEmpty();
    assertThat(endpointOf("hello", 8080)).isEqualTo("10.0.0.1");

    // The file is deleted: the last good snapshot stays.
    Files.delete(file);
    scheduler.runPeriodicTasks();
    assertThat(runtime.lastConfigError()).contains(file + ": no such file");
    assertThat(endpointOf("hello", 8080)).isEqualTo("10.0.0.1");
  }

  @Test
  void pollAppliesChangesOfSizeOrModificationTime() throws IOException {
    write(V1);
    start();

    // Same size, other content, same modification time: the cheap poll does not read it...
    FileTime mtime = Files.getLastModifiedTime(file);
    write(V1.replace("10.0.0.1", "10.0.0.9"));
    Files.setLastModifiedTime(file, mtime);
    scheduler.runPeriodicTasks();
    assertThat(endpointOf("hello", 8080)).isEqualTo("10.0.0.1");

    // ...until the modification time moves.
    Files.setLastModifiedTime(file, FileTime.from(Instant.now().plusSeconds(5)));
    scheduler.runPeriodicTasks();
    assertThat(endpointOf("hello", 8080)).isEqualTo("10.0.0.9");

    // A change of size is seen even with the same modification time.
    mtime = Files.getLastModifiedTime(file);
    write(V2);
    Files.setLastModifiedTime(file, mtime);
    scheduler.runPeriodicTasks();
    assertThat(endpointOf("world", 9090)).isEqualTo("10.0.0.3");
  }

  @Test
  void reloadNowNeedsFileMode() {
    runtime = MeshRuntime.of(io.jmesh.runtime.config.MeshSnapshot.empty(), MeshRuntime.Options.defaults());
    assertThatThrownBy(runtime::reloadNow).isInstanceOf(IllegalStateException.class);
    assertThat(runtime.lastConfigError()).isEmpty();
  }
}
