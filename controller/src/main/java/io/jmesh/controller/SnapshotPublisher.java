package io.jmesh.controller;

import io.jmesh.controller.source.MeshViews;
import io.jmesh.controller.xds.ProxylessTranslator;
import io.jmesh.controller.xds.XdsOverrides;
import io.jmesh.controller.xds.XdsResources;
import io.jmesh.controller.xds.XdsServer;
import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.config.Service;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Turns each good snapshot of the source into what the xDS server serves: translates it (for jmesh
 * agents and for standard proxyless gRPC clients), gives it the source's version, applies the
 * overrides, hands it to the {@link XdsServer}, and logs one line saying what was applied. With
 * {@link MeshViews} (Kubernetes), what is translated at once is the public view; a namespace
 * that sees more or other routes is translated when the server first needs it (an agent of that
 * namespace is connected), once per version. Proxyless gRPC clients get the public view.
 *
 * <p>A snapshot that cannot be translated is refused: the previous one stays served (a translation
 * bug must not empty the mesh), the failure is counted ({@code
 * jmesh_controller_translation_failures_total}) and kept for {@code /ready} and {@code /snapshot}.
 *
 * <p>Thread-safety: {@link #publish} may be called from any thread (the source's and the overrides
 * file's); one snapshot is published at a time. The getters may be read from any thread.
 */
final class SnapshotPublisher {
  private static final Logger LOG = System.getLogger("io.jmesh.controller");

  private final String sourceDescription;
  private final Function<MeshSnapshot, XdsResources> translator;
  private final ProxylessTranslator.Memo proxylessTranslator;
  private final XdsServer xds;
  private final Supplier<XdsOverrides> overrides;
  private final BooleanSupplier closed;
  private final Clock clock;
  private final Counter translationFailures;
  private final Object lock = new Object();

  private volatile Applied applied; // null before the first snapshot is set
  private MeshSnapshot last; // the source's last snapshot; guarded by lock
  private MeshViews lastViews = MeshViews.NONE; // guarded by lock
  private volatile String translationError;

  /** The snapshot in the xDS cache and when it was set. */
  record Applied(MeshSnapshot snapshot, Instant at) {}

  /**
   * @param overrides the overrides in force now ({@link XdsOverrides#NONE} without a file)
   * @param closed true once the controller closes: nothing is published any more
   */
  SnapshotPublisher(
      String sourceDescription,
      Function<MeshSnapshot, XdsResources> translator,
      String clusterDomain,
      XdsServer xds,
      Supplier<XdsOverrides> overrides,
      BooleanSupplier closed,
      Clock clock,
      MeterRegistry registry) {
    this.sourceDescription = sourceDescription;
    this.translator = translator;
    // Unchanged Services keep their resources, as the agents' translator does (Controller).
    this.proxylessTranslator = new ProxylessTranslator.Memo(clusterDomain);
    this.xds = xds;
    this.overrides = overrides;
    this.closed = closed;
    this.clock = clock;
    this.translationFailures =
        Counter.builder("jmesh.controller.translation.failures")
            .description("Good source snapshots that could not be translated to xDS")
            .register(registry);
  }

  /** The snapshot in the xDS cache and when it was set; null before the first. */
  Applied applied() {
    return applied;
  }

  /** Why the source's latest good snapshot could not be translated; null when it could. */
  String translationError() {
    return translationError;
  }

  /** Translates and serves one good snapshot of the source, the same to every namespace. */
  void publish(MeshSnapshot snapshot) {
    publish(snapshot, MeshViews.NONE);
  }

  /** Translates and serves one good snapshot of the source, as {@code views} says who sees what. */
  void publish(MeshSnapshot snapshot, MeshViews views) {
    // Snapshots come from the source's thread, overrides changes from the overrides file's.
    synchronized (lock) {
      last = snapshot;
      lastViews = views;
      push(snapshot, views);
    }
  }

  /** Serves the last snapshot again, with the overrides in force now; nothing before the first. */
  void republish() {
    synchronized (lock) {
      if (last != null) {
        push(last, lastViews);
      }
    }
  }

  private void push(MeshSnapshot snapshot, MeshViews views) {
    if (closed.getAsBoolean()) {
      return;
    }
    XdsResources resources;
    XdsResources proxyless;
    XdsOverrides overridden = overrides.get();
    MeshSnapshot publicView = views.publicView(snapshot);
    long started = System.nanoTime();
    try {
      resources = translate(publicView, overridden);
      proxyless = proxylessTranslator.translate(publicView);
    } catch (RuntimeException e) {
      // Keep serving the previous snapshot: a translation bug must not empty the mesh.
      translationFailures.increment();
      translationError = "version " + snapshot.version() + ": " + e;
      LOG.log(
          Level.ERROR,
          "snapshot version "
              + snapshot.version()
              + " from "
              + sourceDescription
              + " cannot be translated to xDS; still serving "
              + (applied == null ? "nothing" : "version " + applied.snapshot().version()),
          e);
      return;
    }
    // Standard gRPC clients get the same version; overrides are jmesh resources for agents.
    proxyless =
        new XdsResources(
            resources.version(),
            proxyless.listeners(),
            proxyless.routes(),
            proxyless.clusters(),
            proxyless.endpoints());
    translationError = null;
    long translated = System.nanoTime();
    boolean pushed;
    try {
      pushed =
          xds.update(
              new TranslatedViews(
                  snapshot, views, resources, proxyless, view -> translate(view, overridden)));
    } catch (IllegalStateException e) {
      if (closed.getAsBoolean()) {
        return; // closed while translating: nothing to serve any more
      }
      throw e;
    }
    applied = new Applied(snapshot, clock.instant());
    if (pushed) {
      LOG.log(
          Level.INFO,
          "applied snapshot version "
              + resources.version()
              + " from "
              + sourceDescription
              + ": "
              + summary(snapshot)
              + ", "
              + xds.agents().size()
              + " agents connected (translated in "
              + TimeUnit.NANOSECONDS.toMillis(translated - started)
              + " ms, handed to the agents' streams in "
              + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - translated)
              + " ms)");
      List<String> refused = ProxylessTranslator.meshTlsServices(snapshot);
      if (!refused.isEmpty()) {
        LOG.log(
            Level.WARNING,
            "version "
                + resources.version()
                + ": "
                + refused
                + " require mesh TLS: standard proxyless gRPC clients (not jmesh agents) get"
                + " a route to a cluster without endpoints (<service>|mesh-tls-required), so their"
                + " calls fail (UNAVAILABLE) instead of going in plaintext");
      }
    } else {
      LOG.log(
          Level.INFO,
          "snapshot version " + resources.version() + " is already served; nothing to push");
    }
  }

  /** {@code snapshot} in xDS with the source's version and {@code overridden} applied. */
  private XdsResources translate(MeshSnapshot snapshot, XdsOverrides overridden) {
    XdsResources resources = translator.apply(snapshot);
    // The version agents see is the source's content hash, whatever the translator put there,
    // so that an unchanged source is never pushed again.
    if (!resources.version().equals(snapshot.version())) {
      resources =
          new XdsResources(
              snapshot.version(),
              resources.listeners(),
              resources.routes(),
              resources.clusters(),
              resources.endpoints());
    }
    // Overrides replace translated resources by name and add their hash to the version.
    return overridden.applyTo(resources);
  }

  private static String summary(MeshSnapshot snapshot) {
    int endpoints = 0;
    for (Service service : snapshot.services()) {
      endpoints += service.endpoints().size();
    }
    return snapshot.services().size() + " services, " + endpoints + " endpoints";
  }
}
