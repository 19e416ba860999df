package io.jmesh.controller.kubernetes;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.jmesh.controller.kubernetes.UninjectedPods.PodWithoutAgent;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/**
 * Reports the opted-in pods that run without the agent ({@link UninjectedPods}): a gauge by
 * namespace on every replica, and, from the replica holding the status Lease only, one Warning
 * Event per pod, reason {@value #REASON}, on the Pod.
 *
 * <p>An Event is created once per pod UID. Its name is derived from the pod's name and UID, so a
 * second create (another leader, a restarted controller) meets 409 Conflict and counts as done:
 * no pod gets two. Events are created on a thread of this reporter, not the source's, so a burst of
 * them (a rollout while the injector was down) never holds back a translation. A refused create
 * (403, API server down) is logged once per distinct problem and tried again at the next report.
 *
 * <p>Namespaces come from an informer of its own. If it cannot list them (the RBAC of an older
 * install), nothing is reported and the mesh is served as before: this is a report, not a gate.
 *
 * <p>Thread-safety: {@link #report} runs on the source's thread; {@link #bindTo} on any.
 */
final class UninjectedPodReporter implements AutoCloseable {
  private static final Logger LOG = System.getLogger(UninjectedPodReporter.class.getName());

  /** The Events' reason. */
  static final String REASON = UninjectedPods.EVENT_REASON;
  /** The Events' {@code source.component} and {@code reportingComponent}. */
  static final String COMPONENT = "jmesh-controller";
  /** The gauge, {@code jmesh_controller_pods_without_agent{namespace}} in Prometheus. */
  static final String METRIC = "jmesh.controller.pods.without.agent";
  /** At most this many namespaces get a series; the others are summed under {@value #OTHER}. */
  static final int MAX_NAMESPACE_SERIES = 50;
  static final String OTHER = "_other";
  /** A Kubernetes object name's limit (a DNS subdomain). */
  private static final int MAX_NAME = 253;
  private static final int MAX_MESSAGE = 1024;

  private final KubernetesClient client;
  private final String controllerNamespace;
  private final String identity;
  private final BooleanSupplier leading;
  private final Clock clock;
  private final ExecutorService events;
  private final Set<String> reported = ConcurrentHashMap.newKeySet(); // pod UIDs with their Event
  private final AtomicBoolean drainQueued = new AtomicBoolean();
  private final AtomicInteger created = new AtomicInteger();
  private volatile List<PodWithoutAgent> pending = List.of();
  private volatile Map<String, Integer> counts = Map.of();
  private SharedIndexInformer<Namespace> namespaces;
  private MultiGauge gauge; // guarded by this
  private String lastProblem; // on the events thread

  /**
   * @param controllerNamespace the control plane's namespace, excluded as the webhook excludes it
   * @param identity this replica's name, the Events' {@code reportingInstance}
   * @param leading whether this replica holds the status Lease, asked before each Event
   */
  UninjectedPodReporter(
      KubernetesClient client, String controllerNamespace, String identity, BooleanSupplier leading,
      Clock clock) {
    this.client = Objects.requireNonNull(client, "client");
    this.controllerNamespace = Objects.requireNonNull(controllerNamespace, "controllerNamespace");
    this.identity = Objects.requireNonNull(identity, "identity");
    this.leading = Objects.requireNonNull(leading, "leading");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.events = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "jmesh-controller-uninjected-events");
      t.setDaemon(true);
      return t;
    });
  }

  /** Starts the namespace informer; {@code changed} runs on each namespace event and its first list. */
  void start(Runnable changed) {
    namespaces = client.namespaces().runnableInformer(0);
    namespaces.addEventHandler(new ResourceEventHandler<>() {
      @Override
      public void onAdd(Namespace obj) {
        changed.run();
      }

      @Override
      public void onUpdate(Namespace oldObj, Namespace newObj) {
        changed.run();
      }

      @Override
      public void onDelete(Namespace obj, boolean deletedFinalStateUnknown) {
        changed.run();
      }
    });
    namespaces.start().whenComplete((ok, error) -> {
      if (error != null) {
        LOG.log(Level.ERROR, "kubernetes: cannot list and watch Namespaces: " + error.getMessage()
            + "; opted-in pods without the agent are not reported (expected: list and watch on"
            + " namespaces, as the RBAC of jmesh install grants)");
      }
      changed.run();
    });
  }

  /** Judges {@code pods} (the informer's cache); updates the gauge and, when leading, the Events. */
  void report(List<Pod> pods) {
    if (namespaces == null || !namespaces.hasSynced()) {
      return; // until a list succeeds (the informer retries), nothing to judge namespaces by
    }
    Map<String, ObjectMeta> byName = new HashMap<>();
    for (Namespace ns : namespaces.getStore().list()) {
      byName.put(ns.getMetadata().getName(), ns.getMetadata());
    }
    UninjectedPods.Findings findings = UninjectedPods.find(pods, byName, controllerNamespace);
    setCounts(findings.withoutAgent());
    Set<String> keys = new HashSet<>();
    findings.withoutAgent().forEach(p -> keys.add(key(p)));
    reported.retainAll(keys); // a pod gone, or meshed now, is forgotten
    pending = findings.withoutAgent();
    if (leading.getAsBoolean() && !pending.isEmpty() && drainQueued.compareAndSet(false, true)) {
      try {
        events.execute(this::drain);
      } catch (RejectedExecutionException closed) {
        drainQueued.set(false);
      }
    }
  }

  /** Creates the Events not created yet; on the events thread. */
  private void drain() {
    drainQueued.set(false); // a report from now on queues another pass
    for (PodWithoutAgent pod : pending) {
      if (!leading.getAsBoolean()) {
        return;
      }
      String key = key(pod);
      if (reported.contains(key)) {
        continue;
      }
      try {
        client.v1().events().inNamespace(pod.namespace()).resource(event(pod)).create();
        created.incrementAndGet();
        LOG.log(Level.WARNING, "kubernetes: " + pod.message());
        reported.add(key);
      } catch (KubernetesClientException e) {
        if (e.getCode() == 409) {
          reported.add(key); // made by another leader, or by this one before a restart
          continue;
        }
        String problem = "kubernetes: cannot create Event " + REASON + " for pod " + pod.ref()
            + ": HTTP " + e.getCode() + ": " + e.getMessage()
            + " (expected: create on events in every namespace, as the RBAC of jmesh install grants)";
        if (!problem.equals(lastProblem)) {
          LOG.log(Level.WARNING, problem);
          lastProblem = problem;
        }
        return; // the next report tries again
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "kubernetes: cannot create Event for pod " + pod.ref(), e);
        return;
      }
    }
  }

  /** The Event for {@code pod}: Warning, {@value #REASON}, on the Pod, named after it and its UID. */
  Event event(PodWithoutAgent pod) {
    String now = Instant.now(clock).truncatedTo(ChronoUnit.SECONDS).toString();
    String message = pod.message();
    return new EventBuilder()
        .withNewMetadata().withName(eventName(pod)).withNamespace(pod.namespace()).endMetadata()
        .withNewInvolvedObject()
            .withApiVersion("v1").withKind("Pod").withNamespace(pod.namespace())
            .withName(pod.name()).withUid(pod.uid())
        .endInvolvedObject()
        .withType("Warning")
        .withReason(REASON)
        .withMessage(message.length() > MAX_MESSAGE ? message.substring(0, MAX_MESSAGE) : message)
        .withNewSource().withComponent(COMPONENT).endSource()
        .withReportingComponent(COMPONENT)
        .withReportingInstance(identity)
        .withFirstTimestamp(now)
        .withLastTimestamp(now)
        .withCount(1)
        .build();
  }

  /** {@code <pod>.jmesh-not-injected.<uid>}, the pod's name shortened if need be to fit 253 characters. */
  static String eventName(PodWithoutAgent pod) {
    String suffix = ".jmesh-not-injected" + (pod.uid() == null ? "" : "." + pod.uid());
    String name = pod.name();
    if (name.length() + suffix.length() > MAX_NAME) {
      name = name.substring(0, MAX_NAME - suffix.length()).replaceAll("[-.]+$", "");
    }
    return name + suffix;
  }

  private static String key(PodWithoutAgent pod) {
    return pod.uid() != null ? pod.uid() : pod.ref();
  }

  private void setCounts(List<PodWithoutAgent> pods) {
    Map<String, Integer> all = new TreeMap<>();
    pods.forEach(p -> all.merge(p.namespace(), 1, Integer::sum));
    Map<String, Integer> bounded = new TreeMap<>();
    if (all.size() <= MAX_NAMESPACE_SERIES) {
      bounded.putAll(all);
    } else {
      // The namespaces with the most such pods keep their series; the rest are summed.
      List<Map.Entry<String, Integer>> byCount = new ArrayList<>(all.entrySet());
      byCount.sort(Map.Entry.<String, Integer>comparingByValue().reversed()
          .thenComparing(Map.Entry.comparingByKey()));
      for (int i = 0; i < byCount.size(); i++) {
        String ns = i < MAX_NAMESPACE_SERIES - 1 ? byCount.get(i).getKey() : OTHER;
        bounded.merge(ns, byCount.get(i).getValue(), Integer::sum);
      }
    }
    if (!bounded.equals(counts)) {
      counts = Map.copyOf(bounded);
      publish();
    }
  }

  /** The pods without the agent by namespace, as the gauge shows them. */
  Map<String, Integer> counts() {
    return counts;
  }

  /** How many Events this replica created, for tests. */
  int eventsCreated() {
    return created.get();
  }

  /**
   * Registers the gauge {@code jmesh_controller_pods_without_agent{namespace}}: one series per
   * namespace that has such pods, none when there are none.
   */
  synchronized void bindTo(MeterRegistry registry) {
    gauge = MultiGauge.builder(METRIC)
        .description("opted-in pods that run without the jmesh agent, by namespace (at most "
            + MAX_NAMESPACE_SERIES + " series; the rest under namespace=" + OTHER + ")")
        .register(registry);
    publish();
  }

  private synchronized void publish() {
    if (gauge == null) {
      return;
    }
    List<MultiGauge.Row<?>> rows = new ArrayList<>();
    counts.forEach((ns, n) -> rows.add(MultiGauge.Row.of(Tags.of("namespace", ns), n)));
    gauge.register(rows, true);
  }

  @Override
  public void close() {
    events.shutdownNow();
    if (namespaces != null) {
      namespaces.close();
    }
  }
}
