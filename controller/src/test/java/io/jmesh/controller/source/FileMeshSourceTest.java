package io.jmesh.controller.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmesh.runtime.config.MeshSnapshot;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The file source, driven with {@link FileMeshSource#reloadNow}: the scheduler polls only once an
 * hour here, so no poll interferes and no test waits for one.
 */
class FileMeshSourceTest {
  private static final String ONE_ENDPOINT =
      "services:\n"
          + "  - name: hello\n"
          + "    ports: [8080]\n"
          + "    endpoints:\n"
          + "      - {address: 127.0.0.2, port: 18081}\n";
  private static final String TWO_ENDPOINTS =
      ONE_ENDPOINT + "      - {address: 127.0.0.3, port: 18081}\n";

  @TempDir Path dir;
  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  private final List<MeshSnapshot> seen = new ArrayList<>();

  @AfterEach
  void stop() {
    scheduler.shutdownNow();
  }

  @Test
  void deliversTheFirstSnapshotBeforeStartReturns() throws Exception {
    Path file = write("mesh.yaml", ONE_ENDPOINT);
    FileMeshSource source = new FileMeshSource(file, "prod", scheduler, 3_600_000);
    assertThat(source.current()).isEmpty();

    source.start(seen::add);

    assertThat(seen).hasSize(1);
    assertThat(seen.get(0).services().get(0).namespace()).isEqualTo("prod");
    assertThat(source.current()).contains(seen.get(0));
    assertThat(source.lastError()).isEmpty();
    assertThat(source.description()).isEqualTo("file " + file);
    source.close();
  }

  @Test
  void aBadEditKeepsTheLastGoodSnapshotAndSaysWhere() throws Exception {
    Path file = write("mesh.yaml", ONE_ENDPOINT);
    FileMeshSource source = new FileMeshSource(file, "default", scheduler, 3_600_000);
    source.start(seen::add);
    MeshSnapshot good = seen.get(0);

    // A typo in a field name.
    write("mesh.yaml", ONE_ENDPOINT.replace("port: 18081", "prot: 18081"));
    source.reloadNow();

    assertThat(seen).containsExactly(good);
    assertThat(source.current()).contains(good);
    assertThat(source.lastError().orElseThrow())
        .startsWith(file + ":5: ")
        .contains("unknown field 'prot'");

    // Fixed, with one more endpoint: a new version, and the error is gone.
    write("mesh.yaml", TWO_ENDPOINTS);
    source.reloadNow();
    assertThat(seen).hasSize(2);
    assertThat(seen.get(1).version()).isNotEqualTo(good.version());
    assertThat(seen.get(1).services().get(0).endpoints()).hasSize(2);
    assertThat(source.lastError()).isEmpty();
    source.close();
  }

  @Test
  void aMissingFileAtStartIsAnErrorNotAFailure() throws Exception {
    Path file = dir.resolve("absent.yaml");
    FileMeshSource source = new FileMeshSource(file, "default", scheduler, 3_600_000);
    source.start(seen::add);

    assertThat(seen).isEmpty();
    assertThat(source.current()).isEmpty();
    assertThat(source.lastError()).contains(file + ": no such file");

    write("absent.yaml", ONE_ENDPOINT);
    source.reloadNow();
    assertThat(seen).hasSize(1);
    source.close();
  }

  @Test
  void aListenerThatThrowsDoesNotStopTheSource() throws Exception {
    Path file = write("mesh.yaml", ONE_ENDPOINT);
    FileMeshSource source = new FileMeshSource(file, "default", scheduler, 3_600_000);
    source.start(
        snapshot -> {
          seen.add(snapshot);
          throw new IllegalStateException("refused");
        });
    write("mesh.yaml", TWO_ENDPOINTS);
    source.reloadNow();
    assertThat(seen).hasSize(2);
    source.close();
  }

  @Test
  void nothingIsDeliveredAfterClose() throws Exception {
    Path file = write("mesh.yaml", ONE_ENDPOINT);
    FileMeshSource source = new FileMeshSource(file, "default", scheduler, 3_600_000);
    source.start(seen::add);
    source.close();

    write("mesh.yaml", TWO_ENDPOINTS);
    source.reloadNow();
    assertThat(seen).hasSize(1);
    assertThatThrownBy(() -> source.start(seen::add))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("file " + file + ": already started or closed");
  }

  @Test
  void pollMillisMustBePositive() {
    assertThatThrownBy(() -> new FileMeshSource(dir.resolve("m.yaml"), "default", scheduler, 0))
        .hasMessage("pollMillis: 0 (expected: > 0)");
  }

  private Path write(String name, String content) throws Exception {
    // Write and rename, as the README asks: the source never sees half a file.
    Path tmp = Files.writeString(dir.resolve(name + ".tmp"), content, StandardCharsets.UTF_8);
    return Files.move(
        tmp, dir.resolve(name), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }
}
