package io.jmesh.controller.kubernetes;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.HttpURLConnection;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Keeps a copy of the trust-anchor ConfigMap ({@value TrustAnchorsConfigMap#NAME}, key {@value
 * TrustAnchorsConfigMap#KEY}) in every namespace where injected pods may run, as istiod keeps
 * {@code istio-ca-root-cert}: a pod can mount a ConfigMap of its own namespace only. Which
 * namespaces and what a copy holds is {@link AnchorCopyPlan}'s; this class is the loop.
 *
 * <p>Two informers: namespaces, and ConfigMaps labelled {@value #MANAGED_BY}={@value #MANAGER}
 * (ours only, so the cache stays small). A namespace added or changed, a copy changed or deleted,
 * the Lease gained, and a check every {@link #RESYNC_EVERY} each queue the namespaces concerned;
 * one thread of its own reconciles them. Only the replica holding the status Lease writes. A copy
 * already current in the cache costs no API call. A ConfigMap of that name without our label is
 * never written: it is logged once as foreign. A 409 (another writer meanwhile) is answered by
 * reading again, {@value #ATTEMPTS} times at most; anything else is logged once per problem and
 * tried again at the next event or check.
 *
 * <p>Thread-safety: informer callbacks and {@link #resync} from any thread; writes happen on this
 * class's thread only (or a test's, calling {@link #reconcile}).
 */
public final class TrustAnchorCopies implements AutoCloseable {
  private static final Logger LOG = System.getLogger("io.jmesh.controller.ca");

  /** The label marking the copies this class writes (and alone may rewrite). */
  public static final String MANAGED_BY = "app.kubernetes.io/managed-by";
  /** Its value. */
  public static final String MANAGER = "jmesh-controller";
  /** How often the leader compares every namespace with its cache, in case an event was missed. */
  static final Duration RESYNC_EVERY = Duration.ofMinutes(1);
  /** Reads and writes per reconcile when each write meets a 409. */
  static final int ATTEMPTS = 3;

  /** Where copies go. */
  public enum Scope {
    /** Every namespace but the system ones and the controller's own (Istio's rule). */
    ALL,
    /** Only namespaces labelled {@code jmesh.io/inject=enabled}. */
    INJECTION_ENABLED,
    /** None: the operator copies the ConfigMap. */
    NONE;

    /** {@code all}, {@code injection-enabled} or {@code none}, as the flag is written. */
    public static Scope parse(String value) {
      for (Scope s : values()) {
        if (s.flag().equals(value)) {
          return s;
        }
      }
      throw new IllegalArgumentException(
          "--trust-anchors-namespaces: \"" + value + "\" (expected: all, injection-enabled or none)");
    }

    /** How the flag writes it. */
    public String flag() {
      return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
  }

  /** What one reconcile of a namespace did. */
  enum Result {
    NOT_LEADING,
    NOT_SYNCED,
    SKIPPED,
    UP_TO_DATE,
    WRITTEN,
    FOREIGN,
    FAILED
  }

  private final KubernetesClient client;
  private final String own;
  private final Scope scope;
  private final Supplier<String> anchors;
  private final BooleanSupplier leading;
  private final Set<String> queued = ConcurrentHashMap.newKeySet();
  private final Set<String> foreign = ConcurrentHashMap.newKeySet(); // logged once each
  private final Map<String, String> problems = new ConcurrentHashMap<>(); // namespace -> last logged
  private SharedIndexInformer<Namespace> namespaces;
  private SharedIndexInformer<ConfigMap> copies;
  private ScheduledExecutorService executor;

  /**
   * @param own the controller's namespace (it holds the original; no copy goes there)
   * @param anchors the anchors' PEM, asked at each reconcile (the CA's)
   * @param leading whether this replica holds the status Lease, asked at each reconcile
   */
  public TrustAnchorCopies(
      KubernetesClient client,
      String own,
      Scope scope,
      Supplier<String> anchors,
      BooleanSupplier leading) {
    this.client = Objects.requireNonNull(client, "client");
    this.own = Objects.requireNonNull(own, "own");
    this.scope = Objects.requireNonNull(scope, "scope");
    this.anchors = Objects.requireNonNull(anchors, "anchors");
    this.leading = Objects.requireNonNull(leading, "leading");
  }

  /**
   * Starts the informers and the thread, and reconciles every namespace once both informers have
   * listed, each time {@code leader} gains the Lease, and every {@link #RESYNC_EVERY}. Returns at
   * once. With {@link Scope#NONE} it starts nothing. The client stays the caller's.
   */
  public synchronized TrustAnchorCopies start(StatusLeader leader) {
    if (scope == Scope.NONE) {
      LOG.log(Level.INFO, "trust anchors: no copies in workload namespaces (--trust-anchors-namespaces=none)");
      return this;
    }
    executor = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "jmesh-controller-anchor-copies");
      t.setDaemon(true);
      return t;
    });
    namespaces = client.namespaces().runnableInformer(0);
    copies = client.configMaps().inAnyNamespace().withLabel(MANAGED_BY, MANAGER).runnableInformer(0);
    namespaces.addEventHandler(handler(
        ns -> queue(ns.getMetadata().getName()),
        ns -> {
          // Gone: forget what was said of it, so that a namespace of that name made later is told anew.
          foreign.remove(ns.getMetadata().getName());
          problems.remove(ns.getMetadata().getName());
        }));
    // Ours changed by hand, or deleted: put it back.
    copies.addEventHandler(handler(
        cm -> queue(cm.getMetadata().getNamespace()), cm -> queue(cm.getMetadata().getNamespace())));
    for (SharedIndexInformer<?> informer : java.util.List.of(namespaces, copies)) {
      // Keep trying through an API server that is down (fabric8 would stop after a failed list).
      informer.exceptionHandler((started, e) -> {
        LOG.log(Level.WARNING, "trust anchors: informer: " + e.getMessage() + "; retrying");
        return true;
      });
    }
    namespaces.start().thenCombine(copies.start(), (a, b) -> null).thenRun(this::resync);
    leader.onGained(this::resync);
    executor.scheduleWithFixedDelay(
        this::resync, RESYNC_EVERY.toSeconds(), RESYNC_EVERY.toSeconds(), TimeUnit.SECONDS);
    LOG.log(Level.INFO, "trust anchors: the leader keeps configmap " + TrustAnchorsConfigMap.NAME
        + " in namespaces: " + scope.flag());
    return this;
  }

  private static <T extends HasMetadata> ResourceEventHandler<T> handler(
      Consumer<T> changed, Consumer<T> deleted) {
    return new ResourceEventHandler<>() {
      @Override
      public void onAdd(T obj) {
        changed.accept(obj);
      }

      @Override
      public void onUpdate(T oldObj, T newObj) {
        changed.accept(newObj);
      }

      @Override
      public void onDelete(T obj, boolean deletedFinalStateUnknown) {
        deleted.accept(obj);
      }
    };
  }

  /** Queues every namespace of the cache (when leading: others write nothing anyway). */
  void resync() {
    if (!leading.getAsBoolean() || namespaces == null) {
      return;
    }
    for (String name : namespaces.getStore().listKeys()) {
      queue(name);
    }
  }

  /** Queues one namespace, once however many events name it before it runs. */
  private void queue(String namespace) {
    if (namespace == null || !leading.getAsBoolean() || !queued.add(namespace)) {
      return;
    }
    try {
      executor.execute(() -> {
        queued.remove(namespace);
        try {
          reconcile(namespace);
        } catch (RuntimeException e) {
          problem(namespace, "reconcile failed: " + e);
        }
      });
    } catch (RejectedExecutionException closed) {
      queued.remove(namespace); // closed meanwhile: nothing to write
    }
  }

  /** One namespace: makes its copy current if it should have one and the copy is ours. */
  Result reconcile(String namespace) {
    if (!leading.getAsBoolean()) {
      return Result.NOT_LEADING;
    }
    if (!namespaces.hasSynced() || !copies.hasSynced()) {
      return Result.NOT_SYNCED; // the resync after both lists comes back to it
    }
    Namespace ns = namespaces.getStore().getByKey(namespace);
    String skip = AnchorCopyPlan.skipReason(ns, own, scope);
    if (skip != null) {
      LOG.log(Level.DEBUG, "trust anchors: namespace " + namespace + " skipped: " + skip);
      return Result.SKIPPED;
    }
    String pem = anchors.get();
    ConfigMap cached = copies.getStore().getByKey(namespace + "/" + TrustAnchorsConfigMap.NAME);
    if (cached != null && AnchorCopyPlan.decide(cached, pem) == AnchorCopyPlan.Action.NONE) {
      return Result.UP_TO_DATE;
    }
    String location = "configmap " + namespace + "/" + TrustAnchorsConfigMap.NAME;
    for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
      try {
        // Read, not the cache: a foreign one is not in it, and the cache may lag our last write.
        ConfigMap current =
            client.configMaps().inNamespace(namespace).withName(TrustAnchorsConfigMap.NAME).get();
        switch (AnchorCopyPlan.decide(current, pem)) {
          case NONE -> {
            problems.remove(namespace);
            return Result.UP_TO_DATE;
          }
          case FOREIGN -> {
            if (foreign.add(namespace)) {
              LOG.log(Level.WARNING, "trust anchors: " + location + " exists without label "
                  + MANAGED_BY + "=" + MANAGER + ": left alone, not overwritten; injected pods there"
                  + " mount it as it is (expected: the anchors under " + TrustAnchorsConfigMap.KEY
                  + "; delete it to let the controller keep it)");
            }
            return Result.FOREIGN;
          }
          case CREATE -> client.configMaps().inNamespace(namespace)
              .resource(AnchorCopyPlan.desired(namespace, pem)).create();
          case UPDATE -> client.configMaps().inNamespace(namespace)
              .resource(AnchorCopyPlan.rewrite(current, pem)).update();
        }
        foreign.remove(namespace);
        problems.remove(namespace);
        LOG.log(Level.INFO, "trust anchors: wrote " + location + " ("
            + (current == null ? "absent" : "held other anchors") + ")");
        return Result.WRITTEN;
      } catch (KubernetesClientException e) {
        if (e.getCode() != HttpURLConnection.HTTP_CONFLICT) {
          problem(namespace, location + ": " + e.getCode() + " " + e.getMessage()
              + " (expected: get, create and update on configmaps in every namespace, as jmesh"
              + " install grants)");
          return Result.FAILED;
        }
        // 409: created or changed by someone else since the read; read again.
      }
    }
    problem(namespace, location + ": 409 Conflict " + ATTEMPTS + " times in a row (another writer"
        + " keeps changing it)");
    return Result.FAILED;
  }

  private void problem(String namespace, String message) {
    if (!message.equals(problems.put(namespace, message))) {
      LOG.log(Level.WARNING, "trust anchors: " + message + "; tried again at the next change or in "
          + RESYNC_EVERY);
    }
  }

  /** Stops the informers and the thread; the client stays open. */
  @Override
  public synchronized void close() {
    if (executor != null) {
      executor.shutdownNow();
    }
    if (namespaces != null) {
      namespaces.close();
    }
    if (copies != null) {
      copies.close();
    }
  }
}
