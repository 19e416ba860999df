package io.jmesh.controller.kubernetes;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1beta1.ReferenceGrant;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.jmesh.controller.kubernetes.KubernetesTranslator.Translation;
import io.jmesh.controller.source.MeshSource;
import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.config.ServiceEndpoint;
import io.micrometer.core.instrument.MeterRegistry;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A {@link MeshSource} on the Kubernetes API: shared informers on Services, EndpointSlices
 * ({@code discovery.k8s.io/v1}), Pods, Gateway API HTTPRoutes, GRPCRoutes and ReferenceGrants
 * ({@code v1beta1}) and the jmesh policies ({@link PolicyKind}) in every namespace; each burst of
 * changes is coalesced ({@link Debouncer}), translated by the pure {@link KubernetesTranslator},
 * handed to the listener with its per-namespace views ({@link
 * io.jmesh.controller.source.MeshViews}) when either changed, and the routes' and policies'
 * statuses are written ({@link RouteStatusWriter}, {@link PolicyStatusWriter}) by the one replica
 * holding the status Lease
 * ({@link StatusLeader}); the others translate and serve the same model but do not write. Opted-in
 * pods running without the agent are reported after each translation ({@link
 * UninjectedPodReporter}).
 *
 * <p>Nothing is published before every informer has listed once, so a start or a relist never
 * serves a half-read cluster. The snapshot version is a content hash of the model: events that
 * change nothing jmesh uses (a pod's status, a route's own status) push nothing.
 *
 * <p>Cost per change: pod events that cannot change the model mark nothing ({@link EventFilter});
 * a translation rebuilds and hashes only the Services whose inputs changed ({@link
 * KubernetesTranslator.Memo}), and logs how many, and how long it took.
 *
 * <p>Thread-safety: informer events only mark a change; translation, the listener and status
 * writes run on one thread of the source.
 */
public final class KubernetesMeshSource implements MeshSource {
  private static final Logger LOG = System.getLogger(KubernetesMeshSource.class.getName());

  /** How long a burst must be quiet, and how long at most a change waits to be served. */
  public static final Duration DEFAULT_QUIET = Duration.ofMillis(100);

  public static final Duration DEFAULT_MAX_DELAY = Duration.ofSeconds(1);

  private final KubernetesClient client;
  private final String trustDomain;
  private final ScheduledExecutorService ownedExecutor; // null when the caller owns the scheduler
  private final Debouncer debouncer;
  // Pods without the agent are judged on pod and namespace events of their own: most pod events
  // change nothing served (EventFilter) and start no translation, but may change that verdict.
  private final Debouncer podReport;
  private final RouteStatusWriter statusWriter;
  private final PolicyStatusWriter policyStatusWriter;
  private final StatusLeader leader;
  private final UninjectedPodReporter uninjected;
  private final List<SharedIndexInformer<? extends HasMetadata>> informers = new ArrayList<>();
  private final Map<PolicyKind, SharedIndexInformer<GenericKubernetesResource>> policyInformers =
      new EnumMap<>(PolicyKind.class);
  private final ConcurrentHashMap<String, String> informerErrors = new ConcurrentHashMap<>();

  private volatile Listener listener;
  private volatile MeshSnapshot current;
  private volatile List<String> notes = List.of();
  private volatile int translations;
  // Kept across translations, on the source thread: unchanged Services are neither rebuilt nor
  // hashed again.
  private final KubernetesTranslator.Memo memo = new KubernetesTranslator.Memo();
  private final EventFilter events = new EventFilter();
  private Map<io.jmesh.runtime.config.Service, byte[]> digests = new IdentityHashMap<>();
  private boolean started; // guarded by this
  private volatile boolean closed;

  /**
   * A source on {@code client} (closed with this source), translating on a thread of its own.
   *
   * @param trustDomain the trust domain of the endpoints' identities
   * @param lease where and how the replicas elect the one that writes route statuses
   */
  public static KubernetesMeshSource create(
      KubernetesClient client, String trustDomain, StatusLeader.Settings lease) {
    return create(client, trustDomain, new StatusLeader(client, lease));
  }

  /**
   * As {@link #create(KubernetesClient, String, StatusLeader.Settings)}, with an election already
   * made (and maybe started, for the CA's Secret): the source starts it if need be, and closes it.
   */
  public static KubernetesMeshSource create(
      KubernetesClient client, String trustDomain, StatusLeader leader) {
    ScheduledExecutorService executor =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "jmesh-controller-kubernetes");
              t.setDaemon(true);
              return t;
            });
    return new KubernetesMeshSource(
        client, trustDomain, leader, Debouncer.Scheduler.of(executor), executor, DEFAULT_QUIET,
        DEFAULT_MAX_DELAY, Clock.systemUTC());
  }

  KubernetesMeshSource(
      KubernetesClient client,
      String trustDomain,
      StatusLeader.Settings lease,
      Debouncer.Scheduler scheduler,
      ScheduledExecutorService ownedExecutor,
      Duration quiet,
      Duration maxDelay,
      Clock clock) {
    this(client, trustDomain, new StatusLeader(client, lease), scheduler, ownedExecutor, quiet,
        maxDelay, clock);
  }

  KubernetesMeshSource(
      KubernetesClient client,
      String trustDomain,
      StatusLeader leader,
      Debouncer.Scheduler scheduler,
      ScheduledExecutorService ownedExecutor,
      Duration quiet,
      Duration maxDelay,
      Clock clock) {
    this.client = Objects.requireNonNull(client, "client");
    this.trustDomain = Objects.requireNonNull(trustDomain, "trustDomain");
    this.ownedExecutor = ownedExecutor;
    this.debouncer = new Debouncer(scheduler, quiet, maxDelay, this::flush);
    this.podReport = new Debouncer(scheduler, quiet, maxDelay, this::reportPods);
    this.statusWriter = new RouteStatusWriter(client, clock);
    this.policyStatusWriter = new PolicyStatusWriter(client, clock);
    // A new leader writes at once: statuses may have gone stale while no one led.
    this.leader = Objects.requireNonNull(leader, "leader");
    leader.onGained(debouncer::changed);
    leader.onGained(podReport::changed);
    this.uninjected =
        new UninjectedPodReporter(
            client, leader.settings().namespace(), leader.settings().identity(), leader::leading,
            clock);
  }

  @Override
  public void start(Listener listener) {
    Objects.requireNonNull(listener, "listener");
    synchronized (this) {
      if (started || closed) {
        throw new IllegalStateException(description() + ": already started or closed");
      }
      started = true;
      this.listener = listener;
    }
    inform("Service", client.services().inAnyNamespace().runnableInformer(0));
    inform(
        "EndpointSlice",
        client.discovery().v1().endpointSlices().inAnyNamespace().runnableInformer(0));
    inform("Pod", client.pods().inAnyNamespace().runnableInformer(0));
    inform("HTTPRoute", client.resources(HTTPRoute.class).inAnyNamespace().runnableInformer(0));
    inform("GRPCRoute", client.resources(GRPCRoute.class).inAnyNamespace().runnableInformer(0));
    inform(
        "ReferenceGrant",
        client.resources(ReferenceGrant.class).inAnyNamespace().runnableInformer(0));
    for (PolicyKind kind : PolicyKind.values()) {
      var informer =
          client.genericKubernetesResources(kind.context()).inAnyNamespace().runnableInformer(0);
      policyInformers.put(kind, informer);
      inform(kind.name(), informer);
    }
    uninjected.start(podReport::changed); // namespaces: never a gate on serving
    leader.start(); // asynchronous: serving does not wait for an election
  }

  private <T extends HasMetadata> void inform(String kind, SharedIndexInformer<T> informer) {
    informer.addEventHandler(
        new ResourceEventHandler<T>() {
          @Override
          public void onAdd(T obj) {
            if (matters(null, obj)) {
              debouncer.changed();
            }
          }

          @Override
          public void onUpdate(T oldObj, T newObj) {
            if (matters(oldObj, newObj)) {
              debouncer.changed();
            }
          }

          @Override
          public void onDelete(T obj, boolean deletedFinalStateUnknown) {
            if (matters(obj, null)) {
              debouncer.changed();
            }
          }
        });
    informers.add(informer);
    informer
        .start()
        .whenComplete(
            (ok, error) -> {
              if (error != null) {
                String why =
                    "kubernetes: cannot list and watch " + kind + "s: " + error.getMessage();
                informerErrors.put(kind, why);
                LOG.log(Level.ERROR, why);
              } else {
                informerErrors.remove(kind);
              }
              // An empty cluster sends no event: the end of the first list is one.
              debouncer.changed();
              podReport.changed();
            });
  }

  /**
   * Whether a change from {@code old} (null: added) to {@code now} (null: deleted) can change what
   * is served ({@link EventFilter}); slices are counted on the way, and every pod event asks for
   * the pods to be judged again ({@link UninjectedPodReporter}), whatever it changes.
   */
  private boolean matters(HasMetadata old, HasMetadata now) {
    HasMetadata any = now == null ? old : now;
    if (any instanceof EndpointSlice) {
      events.slice((EndpointSlice) old, (EndpointSlice) now);
      return true;
    }
    if (any instanceof Pod pod) {
      podReport.changed();
      return old == null || now == null
          ? events.podMatters(pod)
          : events.podUpdateMatters((Pod) old, pod);
    }
    return true;
  }

  /** Translates the caches, publishes a changed model and writes statuses; on the source thread. */
  private void flush() {
    if (closed) {
      return;
    }
    try {
      for (SharedIndexInformer<? extends HasMetadata> informer : informers) {
        if (!informer.hasSynced() && !missingPolicyCrd(informer)) {
          return; // its end of list triggers another flush
        }
      }
      ClusterState state =
          new ClusterState(
              items(Service.class),
              items(EndpointSlice.class),
              items(Pod.class),
              items(HTTPRoute.class),
              items(GRPCRoute.class),
              items(ReferenceGrant.class),
              policies());
      long started = System.nanoTime();
      Translation t = KubernetesTranslator.translate(state, trustDomain, memo);
      long translated = System.nanoTime();
      translations++;
      if (!t.notes().equals(notes)) {
        t.notes().forEach(n -> LOG.log(Level.INFO, "kubernetes: " + n));
        notes = t.notes();
      }
      String version = version(t);
      long hashed = System.nanoTime();
      MeshSnapshot previous = current;
      boolean changed = previous == null || !previous.version().equals(version);
      // One line per translation: where a push's time goes (controller README, "Kubernetes
      // source at scale").
      LOG.log(
          Level.INFO,
          "kubernetes: version " + version + (changed ? "" : " (unchanged)") + ": "
              + memo.rebuilt() + " services built, " + memo.reused() + " reused; translated in "
              + TimeUnit.NANOSECONDS.toMillis(translated - started) + " ms, hashed in "
              + TimeUnit.NANOSECONDS.toMillis(hashed - translated) + " ms");
      if (changed) {
        MeshSnapshot snapshot = new MeshSnapshot(version, t.services());
        current = snapshot;
        Listener l = listener;
        if (l != null) {
          l.onSnapshot(snapshot, t.views());
        }
      }
      if (leader.leading()) {
        statusWriter.write(state, t.statuses());
        policyStatusWriter.write(state, t.policyStatuses());
      }
    } catch (RuntimeException e) {
      // The last good snapshot stays; the next change tries again.
      LOG.log(Level.ERROR, description() + ": translation failed; keeping the last snapshot", e);
    }
  }

  /** Judges the cached pods for {@link UninjectedPodReporter}; on the source thread. */
  private void reportPods() {
    if (closed) {
      return;
    }
    try {
      for (SharedIndexInformer<? extends HasMetadata> informer : informers) {
        if (informer.getApiTypeClass() == Pod.class && !informer.hasSynced()) {
          return; // its end of list triggers another report
        }
      }
      uninjected.report(items(Pod.class));
    } catch (RuntimeException e) {
      LOG.log(Level.ERROR, description() + ": judging pods without the agent failed", e);
    }
  }

  @SuppressWarnings("unchecked")
  private <T extends HasMetadata> List<T> items(Class<T> type) {
    for (SharedIndexInformer<? extends HasMetadata> informer : informers) {
      if (informer.getApiTypeClass() == type) {
        return ((SharedIndexInformer<T>) informer).getStore().list();
      }
    }
    throw new AssertionError(type);
  }

  private Map<PolicyKind, List<GenericKubernetesResource>> policies() {
    Map<PolicyKind, List<GenericKubernetesResource>> out = new EnumMap<>(PolicyKind.class);
    policyInformers.forEach((kind, informer) -> out.put(kind, informer.getStore().list()));
    return out;
  }

  /**
   * Whether {@code informer} reads a jmesh policy kind whose list failed (its CRD is not
   * installed, or the controller may not read it): the mesh is served without those policies,
   * and {@link #lastError()} says why, rather than not at all.
   */
  private boolean missingPolicyCrd(SharedIndexInformer<? extends HasMetadata> informer) {
    for (var e : policyInformers.entrySet()) {
      if (e.getValue() == informer) {
        return informerErrors.containsKey(e.getKey().name());
      }
    }
    return false;
  }

  /**
   * The content hash of {@code t}: of each Service's own hash, kept for the next translation while
   * the translator returns the same object ({@link KubernetesTranslator.Memo}), so that only
   * changed Services are hashed again.
   */
  private String version(Translation t) {
    Map<io.jmesh.runtime.config.Service, byte[]> next = new IdentityHashMap<>();
    MessageDigest sha = sha256();
    t.services().forEach(s -> sha.update(digest(s, next)));
    // Who sees what is part of the version: an export or consumer-route change is a push.
    sha.update((t.views().exportTo() + "\n").getBytes(StandardCharsets.UTF_8));
    t.views().consumerServices().forEach((namespace, services) -> {
      sha.update(("consumers of " + namespace + "\n").getBytes(StandardCharsets.UTF_8));
      services.values().forEach(s -> sha.update(digest(s, next)));
    });
    digests = next;
    return HexFormat.of().formatHex(sha.digest(), 0, 6);
  }

  private byte[] digest(io.jmesh.runtime.config.Service s, Map<io.jmesh.runtime.config.Service, byte[]> next) {
    byte[] d = digests.get(s);
    if (d == null) {
      StringBuilder canonical = new StringBuilder();
      canonical(s, canonical);
      d = sha256().digest(canonical.toString().getBytes(StandardCharsets.UTF_8));
    }
    next.put(s, d);
    return d;
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  private static void canonical(io.jmesh.runtime.config.Service s, StringBuilder canonical) {
    // Labels are Map.copyOf maps, whose order is not their content's: sort them, so that the
    // same model always has the same version.
    canonical.append(s.name()).append('.').append(s.namespace()).append(s.ports())
        .append(s.identities()).append(s.routes()).append(s.policy())
        .append(s.authorization());
    for (ServiceEndpoint e : s.endpoints()) {
      canonical.append('|').append(e.host()).append(':').append(e.port()).append('/')
          .append(e.weight()).append('/').append(e.priority()).append(new TreeMap<>(e.labels()));
    }
    canonical.append('\n');
  }

  /** How many times the caches were translated: a measure of the debounce, for tests. */
  int translations() {
    return translations;
  }

  /** How many route statuses were written, for tests. */
  int statusWrites() {
    return statusWriter.writes();
  }

  /** How many policy statuses were written, for tests. */
  int policyStatusWrites() {
    return policyStatusWriter.writes();
  }

  /** The reporter of opted-in pods without the agent, for tests. */
  UninjectedPodReporter uninjected() {
    return uninjected;
  }

  /** The gauge of opted-in pods that run without the agent ({@link UninjectedPodReporter}). */
  @Override
  public void bindTo(MeterRegistry registry) {
    uninjected.bindTo(registry);
  }

  /** Whether this replica holds the status Lease, for tests. */
  boolean leading() {
    return leader.leading();
  }

  /** What the last translation left out of the model, one line each. */
  public List<String> notes() {
    return notes;
  }

  @Override
  public Optional<MeshSnapshot> current() {
    return Optional.ofNullable(current);
  }

  @Override
  public Optional<String> lastError() {
    return informerErrors.values().stream().sorted().reduce((a, b) -> a + "; " + b);
  }

  @Override
  public String description() {
    return "kubernetes " + client.getMasterUrl();
  }

  @Override
  public void close() {
    synchronized (this) {
      closed = true;
    }
    listener = null;
    leader.close(); // before the client closes: releasing the Lease needs it
    uninjected.close();
    informers.forEach(SharedIndexInformer::close);
    if (ownedExecutor != null) {
      ownedExecutor.shutdownNow();
    }
    client.close();
  }
}
