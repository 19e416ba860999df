package io.jmesh.controller.source;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.config.Service;
import io.jmesh.runtime.config.ServiceEndpoint;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** A file beside Kubernetes: one snapshot of both, the first source winning a clash. */
class CompositeMeshSourceTest {

  /** A source whose snapshots the test hands in. */
  static final class Pushed implements MeshSource {
    private final String name;
    private Listener listener;

    Pushed(String name) {
      this.name = name;
    }

    @Override
    public void start(Listener listener) {
      this.listener = listener;
    }

    void push(String version, Service... services) {
      listener.onSnapshot(new MeshSnapshot(version, List.of(services)));
    }

    void push(MeshViews views, String version, Service... services) {
      listener.onSnapshot(new MeshSnapshot(version, List.of(services)), views);
    }

    @Override
    public Optional<MeshSnapshot> current() {
      return Optional.empty();
    }

    @Override
    public Optional<String> lastError() {
      return Optional.empty();
    }

    @Override
    public String description() {
      return name;
    }

    @Override
    public void close() {}
  }

  private static Service service(String name, String host) {
    return new Service(
        name, "default", List.of(8080), List.of(ServiceEndpoint.of(host, 8080)), List.of());
  }

  @Test
  void servesEachSourceAsSoonAsItHasASnapshotAndBothTogether() {
    Pushed file = new Pushed("file mesh.yaml");
    Pushed kubernetes = new Pushed("kubernetes");
    List<MeshSnapshot> got = new ArrayList<>();
    CompositeMeshSource composite = new CompositeMeshSource(List.of(file, kubernetes));
    composite.start(got::add);

    // Kubernetes first: a missing file does not hold it back.
    kubernetes.push("k1", service("hello", "10.0.0.1"));
    assertThat(got.get(0).version()).isEqualTo("-+k1");
    assertThat(got.get(0).services()).extracting(Service::name).containsExactly("hello");

    // The file adds a VM service and declares hello too: the file's hello wins.
    file.push("f1", service("db", "192.168.0.9"), service("hello", "192.168.0.1"));
    MeshSnapshot both = got.get(1);
    assertThat(both.version()).isEqualTo("f1+k1");
    assertThat(both.services()).extracting(Service::name).containsExactly("db", "hello");
    assertThat(both.service("hello", "default").orElseThrow().endpoints().get(0).host())
        .isEqualTo("192.168.0.1");
    assertThat(composite.current()).contains(both);
    assertThat(composite.description()).isEqualTo("file mesh.yaml + kubernetes");
  }

  @Test
  void passesOnTheViewsOfItsSources() {
    Pushed file = new Pushed("file mesh.yaml");
    Pushed kubernetes = new Pushed("kubernetes");
    List<MeshViews> got = new ArrayList<>();
    CompositeMeshSource composite = new CompositeMeshSource(List.of(file, kubernetes));
    composite.start(
        new MeshSource.Listener() {
          @Override
          public void onSnapshot(MeshSnapshot snapshot) {
            throw new AssertionError("the composite passes views on");
          }

          @Override
          public void onSnapshot(MeshSnapshot snapshot, MeshViews views) {
            got.add(views);
          }
        });

    // Kubernetes restricts hello to its namespace; the file, which has no views, keeps them.
    MeshViews restricted =
        new MeshViews(java.util.Map.of("hello.default", java.util.Set.of("default")), java.util.Map.of());
    kubernetes.push(restricted, "k1", service("hello", "10.0.0.1"));
    file.push("f1", service("db", "192.168.0.9"));
    assertThat(got).containsExactly(restricted, restricted);
    assertThat(got.get(1).seesPublicView("default")).isFalse();
    assertThat(got.get(1).seesPublicView("other")).isTrue();
  }
}
