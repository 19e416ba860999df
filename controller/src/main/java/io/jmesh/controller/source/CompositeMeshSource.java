package io.jmesh.controller.source;

import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.config.Service;
import io.micrometer.core.instrument.MeterRegistry;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Several sources served as one, for example a file beside Kubernetes: the services of every
 * source's last good snapshot, in source order. A service that two sources declare (same name and
 * namespace) is taken from the first, and the clash is logged. Published as soon as one source
 * has a snapshot, so a missing file does not hold Kubernetes back; the version joins the
 * sources' versions. The sources' {@link MeshViews} are merged the same way (the file has none).
 *
 * <p>Thread-safety: the sources may call in from their own threads; merging and the listener run
 * under this object's lock, one at a time.
 */
public final class CompositeMeshSource implements MeshSource {
  private static final Logger LOG = System.getLogger(CompositeMeshSource.class.getName());

  private final List<MeshSource> sources;
  private final MeshSnapshot[] latest; // guarded by this
  private final MeshViews[] latestViews; // guarded by this
  private Listener listener; // guarded by this
  private volatile MeshSnapshot current;
  private Set<String> clashes = Set.of(); // guarded by this

  public CompositeMeshSource(List<MeshSource> sources) {
    this.sources = List.copyOf(sources);
    if (this.sources.size() < 2) {
      throw new IllegalArgumentException(
          "sources: " + this.sources.size() + " (expected: at least 2)");
    }
    this.latest = new MeshSnapshot[this.sources.size()];
    this.latestViews = new MeshViews[this.sources.size()];
    java.util.Arrays.fill(latestViews, MeshViews.NONE);
  }

  @Override
  public void start(Listener listener) {
    Objects.requireNonNull(listener, "listener");
    synchronized (this) {
      this.listener = listener;
    }
    for (int i = 0; i < sources.size(); i++) {
      int index = i;
      sources
          .get(i)
          .start(
              new Listener() {
                @Override
                public void onSnapshot(MeshSnapshot snapshot) {
                  onSnapshot(snapshot, MeshViews.NONE);
                }

                @Override
                public void onSnapshot(MeshSnapshot snapshot, MeshViews views) {
                  CompositeMeshSource.this.onSnapshot(index, snapshot, views);
                }
              });
    }
  }

  private synchronized void onSnapshot(int index, MeshSnapshot snapshot, MeshViews views) {
    latest[index] = snapshot;
    latestViews[index] = views;
    List<Service> services = new ArrayList<>();
    Set<String> names = new HashSet<>();
    Set<String> clashing = new HashSet<>();
    List<String> versions = new ArrayList<>();
    for (int i = 0; i < latest.length; i++) {
      MeshSnapshot s = latest[i];
      versions.add(s == null ? "-" : s.version());
      if (s == null) {
        continue;
      }
      for (Service service : s.services()) {
        if (names.add(service.qualifiedName())) {
          services.add(service);
        } else {
          clashing.add(service.qualifiedName() + " (kept from " + firstWith(service) + ")");
        }
      }
    }
    if (!clashing.equals(clashes)) {
      clashes = clashing;
      if (!clashing.isEmpty()) {
        LOG.log(Level.WARNING, "services declared by more than one source: "
            + clashing.stream().sorted().collect(Collectors.joining(", ")));
      }
    }
    MeshSnapshot merged = new MeshSnapshot(String.join("+", versions), services);
    current = merged;
    if (listener != null) {
      listener.onSnapshot(merged, MeshViews.merge(List.of(latestViews)));
    }
  }

  private String firstWith(Service service) {
    for (int i = 0; i < latest.length; i++) {
      if (latest[i] != null && latest[i].service(service.name(), service.namespace()).isPresent()) {
        return sources.get(i).description();
      }
    }
    return "?";
  }

  @Override
  public Optional<MeshSnapshot> current() {
    return Optional.ofNullable(current);
  }

  @Override
  public Optional<String> lastError() {
    return sources.stream()
        .map(MeshSource::lastError)
        .flatMap(Optional::stream)
        .reduce((a, b) -> a + "; " + b);
  }

  @Override
  public String description() {
    return sources.stream().map(MeshSource::description).collect(Collectors.joining(" + "));
  }

  @Override
  public void bindTo(MeterRegistry registry) {
    sources.forEach(s -> s.bindTo(registry));
  }

  @Override
  public void close() {
    synchronized (this) {
      listener = null;
    }
    sources.forEach(MeshSource::close);
  }
}
