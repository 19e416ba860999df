package io.jmesh.controller.kubernetes;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.jmesh.controller.kubernetes.EndpointIndex.ResolvedEndpoint;
import io.jmesh.controller.kubernetes.RouteTranslator.AttachedRule;
import io.jmesh.controller.kubernetes.RouteTranslator.BackendTarget;
import io.jmesh.controller.source.MeshViews;
import io.jmesh.runtime.config.Backend;
import io.jmesh.runtime.config.DestinationPolicy;
import io.jmesh.runtime.config.Route;
import io.jmesh.runtime.config.RouteMatch;
import io.jmesh.runtime.config.RoutePolicy;
import io.jmesh.runtime.config.Service;
import io.jmesh.runtime.config.ServiceEndpoint;
import io.jmesh.runtime.identity.SpiffeId;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * Kubernetes objects → the mesh model the file source produces ({@link Service}s with endpoints,
 * routes and identities) and the route statuses to write. A pure function of a {@link
 * ClusterState}: no I/O, no clock, the same input gives an equal result.
 *
 * <ul>
 *   <li>Every Service with ports, but {@code ExternalName} ones, is a mesh service. Its model
 *       ports are its first port and the others that target the same container port (jmesh's
 *       model maps a service to one endpoint port); the rest stay plain Kubernetes traffic and
 *       are listed in {@link Translation#notes()}.
 *   <li>Endpoints: {@link EndpointIndex} (EndpointSlices, KEP-1669 conditions, dual stack); their
 *       labels are their pods' labels, so routes' subsets and {@code jmesh.io/backend} select
 *       them.
 *   <li>Identities: {@code spiffe://<trust domain>/ns/<ns>/sa/<sa>} of the pods behind the
 *       endpoints that run the agent (annotation {@code jmesh.io/inject: enabled}). A service
 *       with none is reached in plaintext.
 *   <li>Routes ({@link RouteTranslator}): a Service with accepted routes carries, beside its own
 *       endpoints, those of every backend its rules name, each labelled {@code
 *       jmesh.io/backend=<name>.<namespace>:<port>}, which is what a rule's backends select; a
 *       last route answers 404 to what no rule matches, as Gateway API asks.
 *   <li>Policies ({@link PolicyTranslator}): the jmesh CRDs attached to a Service set its
 *       {@code policy} and {@code authorization}, as mesh.yaml's {@code policy:} and {@code
 *       authorization:} do.
 *   <li>Views ({@link MeshViews}): who may see each Service ({@link ExportTo}), and per client
 *       namespace the Services its consumer routes apply to, each built as above with those
 *       routes instead of the producer ones.
 * </ul>
 */
final class KubernetesTranslator {
  /** The label that tells which backend Service an endpoint of a routed Service belongs to. */
  static final String BACKEND_LABEL = "jmesh.io/backend";

  /** The name of the last route of a routed Service. */
  static final String NO_MATCH_ROUTE = "no-matching-rule";

  /**
   * @param services the mesh services, sorted by namespace and name, with producer routes
   * @param views what each namespace sees of {@code services}: {@link ExportTo} and consumer routes
   * @param statuses the status of every route jmesh read, per Service parent
   * @param policyStatuses the {@code Accepted} condition of every jmesh policy ({@link
   *     PolicyTranslator})
   * @param notes what was left out of the model and why, one line each
   */
  record Translation(
      List<Service> services,
      MeshViews views,
      Map<RouteStatus.Key, List<RouteStatus>> statuses,
      Map<PolicyTranslator.Key, RouteStatus.Condition> policyStatuses,
      List<String> notes) {}

  /**
   * What a translation keeps for the next one, so that a change of a few Services' slices or pods
   * rebuilds only those Services: each model {@link Service} with the inputs it was made from
   * (the Kubernetes Service and backend Services as objects, which the informers replace rather
   * than change, the attached rules, and the resolved endpoints of each target), and the
   * identities of service accounts ({@link EndpointIndex.Identities}). A Service whose inputs are
   * unchanged is the same object as in the last translation, which lets the version hash and the
   * xDS translation reuse their results for it too. The result is equal to a translation without
   * a memo (tested).
   *
   * <p>Not thread-safe: one translation at a time (the source's thread).
   */
  static final class Memo {
    private final EndpointIndex.Identities identities = new EndpointIndex.Identities();
    // (client namespace, or "" for the producer model) → Service key → what was made last time.
    private Map<String, Map<String, Built>> built = new HashMap<>();
    private Map<String, Map<String, Built>> next = new HashMap<>();
    private int reused;
    private int rebuilt;

    /** Services reused and rebuilt by the last translation, for the source's log. */
    int reused() {
      return reused;
    }

    int rebuilt() {
      return rebuilt;
    }

    private void start() {
      next = new HashMap<>();
      reused = 0;
      rebuilt = 0;
    }

    private void finish() {
      built = next; // what this translation did not use is dropped
    }
  }

  /** A model Service, the inputs it was made from, and the notes it made. */
  private record Built(Inputs inputs, Service service, List<String> notes) {}

  /**
   * The inputs of one model Service. The Kubernetes objects are compared by identity (an informer
   * replaces an object on every change, and a changed object has to be read again), the rest by
   * value.
   */
  private record Inputs(
      io.fabric8.kubernetes.api.model.Service k8s,
      List<AttachedRule> rules,
      List<Target> targets) {
    boolean sameAs(Inputs o) {
      if (k8s != o.k8s || !Objects.equals(rules, o.rules) || targets.size() != o.targets.size()) {
        return false;
      }
      for (int i = 0; i < targets.size(); i++) {
        Target a = targets.get(i);
        Target b = o.targets.get(i);
        if (a.backend != b.backend || !a.target.equals(b.target) || !a.endpoints.equals(b.endpoints)) {
          return false;
        }
      }
      return true;
    }
  }

  /** A backend of a Service (itself first) and its resolved endpoints; null backend: unresolved. */
  private record Target(
      BackendTarget target,
      io.fabric8.kubernetes.api.model.Service backend,
      List<ResolvedEndpoint> endpoints) {}

  private KubernetesTranslator() {}

  static Translation translate(ClusterState state, String trustDomain) {
    return translate(state, trustDomain, new Memo());
  }

  /**
   * {@link #translate(ClusterState, String)}, reusing what {@code memo} kept of the last
   * translation where its inputs are unchanged; the result is equal.
   */
  static Translation translate(ClusterState state, String trustDomain, Memo memo) {
    Objects.requireNonNull(trustDomain, "trustDomain");
    memo.start();
    try {
      return translate(state, trustDomain, memo, memo.identities);
    } finally {
      memo.finish();
    }
  }

  private static Translation translate(
      ClusterState state, String trustDomain, Memo memo, EndpointIndex.Identities identities) {
    List<io.fabric8.kubernetes.api.model.Service> sorted = new ArrayList<>(state.services());
    sorted.sort(
        Comparator.comparing((io.fabric8.kubernetes.api.model.Service s) ->
                s.getMetadata().getNamespace())
            .thenComparing(s -> s.getMetadata().getName()));
    Map<String, io.fabric8.kubernetes.api.model.Service> byKey = new LinkedHashMap<>();
    for (var s : sorted) {
      if (isMeshService(s)) {
        byKey.put(EndpointIndex.key(s.getMetadata().getNamespace(), s.getMetadata().getName()), s);
      }
    }
    EndpointIndex index =
        new EndpointIndex(state.endpointSlices(), state.pods(), trustDomain, identities);
    RouteTranslator.Result routes =
        RouteTranslator.translate(
            byKey, state.httpRoutes(), state.grpcRoutes(),
            ReferenceGrants.of(state.referenceGrants()));
    PolicyTranslator.Result policies = PolicyTranslator.translate(byKey.keySet(), state.policies());
    List<String> notes = new ArrayList<>();
    List<Service> out = new ArrayList<>();
    for (Map.Entry<String, io.fabric8.kubernetes.api.model.Service> e : byKey.entrySet()) {
      out.add(
          policies.apply(
              service(memo, "", e.getValue(), byKey, index, routes.rules().get(e.getKey()), notes)));
    }
    return new Translation(
        out,
        views(memo, byKey, index, routes, policies, notes),
        routes.statuses(),
        policies.statuses(),
        notes);
  }

  /** Who may see each Service, and each client namespace's Services with its consumer routes. */
  private static MeshViews views(
      Memo memo,
      Map<String, io.fabric8.kubernetes.api.model.Service> byKey,
      EndpointIndex index,
      RouteTranslator.Result routes,
      PolicyTranslator.Result policies,
      List<String> notes) {
    Map<String, Set<String>> exportTo = new LinkedHashMap<>();
    for (var s : byKey.values()) {
      ExportTo export = ExportTo.of(s);
      if (export.problem() != null) {
        notes.add(export.problem());
      }
      if (!export.all()) {
        exportTo.put(s.getMetadata().getName() + "." + s.getMetadata().getNamespace(),
            export.namespaces());
      }
    }
    Map<String, List<Service>> consumers = new LinkedHashMap<>();
    routes.consumerRules().forEach((namespace, byService) -> {
      List<Service> services = new ArrayList<>();
      // The port notes were made once for the producer model.
      byService.forEach(
          (key, rules) ->
              services.add(
                  policies.apply(
                      service(memo, namespace, byKey.get(key), byKey, index, rules,
                          new ArrayList<>()))));
      consumers.put(namespace, services);
    });
    return new MeshViews(exportTo, consumers);
  }

  private static boolean isMeshService(io.fabric8.kubernetes.api.model.Service s) {
    var spec = s.getSpec();
    return spec != null
        && !"ExternalName".equals(spec.getType())
        && spec.getPorts() != null
        && !spec.getPorts().isEmpty();
  }

  /**
   * The model of {@code k8s} with {@code rules}: the last translation's object when its inputs
   * are unchanged ({@link Memo}), else a new one.
   *
   * @param view the client namespace of consumer rules, or "" for the producer model
   */
  private static Service service(
      Memo memo,
      String view,
      io.fabric8.kubernetes.api.model.Service k8s,
      Map<String, io.fabric8.kubernetes.api.model.Service> services,
      EndpointIndex index,
      List<AttachedRule> rules,
      List<String> notes) {
    String key = EndpointIndex.key(k8s.getMetadata().getNamespace(), k8s.getMetadata().getName());
    Inputs inputs = new Inputs(k8s, rules, targets(k8s, services, index, rules));
    Built last = memo.built.getOrDefault(view, Map.of()).get(key);
    Built now;
    if (last != null && last.inputs().sameAs(inputs)) {
      memo.reused++;
      now = last;
    } else {
      memo.rebuilt++;
      List<String> own = new ArrayList<>();
      now = new Built(inputs, service(inputs, own), List.copyOf(own));
    }
    memo.next.computeIfAbsent(view, v -> new HashMap<>()).put(key, now);
    notes.addAll(now.notes());
    return now.service();
  }

  /**
   * What the endpoints of {@code k8s} come from: its own, or with rules its own first and then
   * each backend's the rules name, in order.
   */
  private static List<Target> targets(
      io.fabric8.kubernetes.api.model.Service k8s,
      Map<String, io.fabric8.kubernetes.api.model.Service> services,
      EndpointIndex index,
      List<AttachedRule> rules) {
    String name = k8s.getMetadata().getName();
    String namespace = k8s.getMetadata().getNamespace();
    ServicePort first = k8s.getSpec().getPorts().get(0);
    BackendTarget own = new BackendTarget(namespace, name, first.getPort());
    if (rules == null || rules.isEmpty()) {
      return List.of(new Target(own, k8s, index.endpoints(k8s, first)));
    }
    Set<BackendTarget> targets = new LinkedHashSet<>();
    targets.add(own);
    rules.forEach(r -> targets.addAll(r.backends().keySet()));
    List<Target> out = new ArrayList<>();
    for (BackendTarget t : targets) {
      var backend = services.get(EndpointIndex.key(t.namespace(), t.name()));
      ServicePort port = backend == null ? null : RouteTranslator.servicePort(backend, t.port());
      out.add(
          port == null
              ? new Target(t, null, List.of()) // unresolved: the status says so
              : new Target(t, backend, index.endpoints(backend, port)));
    }
    return out;
  }

  private static Service service(Inputs inputs, List<String> notes) {
    io.fabric8.kubernetes.api.model.Service k8s = inputs.k8s();
    List<AttachedRule> rules = inputs.rules();
    String name = k8s.getMetadata().getName();
    String namespace = k8s.getMetadata().getNamespace();
    List<ServicePort> ports = k8s.getSpec().getPorts();
    ServicePort first = ports.get(0);
    List<Integer> modelPorts = new ArrayList<>();
    for (ServicePort p : ports) {
      if (sameTarget(p, first)) {
        modelPorts.add(p.getPort());
      } else {
        notes.add("Service " + namespace + "/" + name + ": port " + p.getPort() + " (targetPort "
            + target(p) + ") is not mesh traffic: jmesh maps a service to one endpoint port, that"
            + " of its first port " + first.getPort() + " (targetPort " + target(first) + ")");
      }
    }
    Set<SpiffeId> identities = new TreeSet<>(Comparator.comparing(SpiffeId::toString));
    List<ServiceEndpoint> endpoints = new ArrayList<>();
    List<Route> modelRoutes = new ArrayList<>();
    if (rules == null || rules.isEmpty()) {
      for (ResolvedEndpoint e : inputs.targets().get(0).endpoints()) {
        endpoints.add(new ServiceEndpoint(e.address(), e.port(), 1, e.labels()));
        if (e.identity() != null) {
          identities.add(e.identity());
        }
      }
    } else {
      // Own endpoints first, then each backend's, each labelled with the backend it belongs to.
      for (Target t : inputs.targets()) {
        // An unresolved target has none: its label selects no endpoint.
        for (ResolvedEndpoint e : t.endpoints()) {
          Map<String, String> labels = new HashMap<>(e.labels());
          labels.put(BACKEND_LABEL, t.target().label());
          endpoints.add(new ServiceEndpoint(e.address(), e.port(), 1, labels));
          if (e.identity() != null) {
            identities.add(e.identity());
          }
        }
      }
      for (AttachedRule rule : rules) {
        List<Backend> backends = new ArrayList<>();
        for (Map.Entry<BackendTarget, Integer> b : rule.backends().entrySet()) {
          backends.add(new Backend(Map.of(BACKEND_LABEL, b.getKey().label()), b.getValue()));
        }
        if (backends.stream().mapToInt(Backend::weight).sum() == 0) {
          // No backend, or all of weight 0: Gateway API answers 500; a backend that selects no
          // endpoint makes the call fail the same way.
          backends = List.of(new Backend(Map.of(BACKEND_LABEL, "none"), 1));
        }
        modelRoutes.add(
            new Route(rule.name(), List.of(rule.match()), backends, rule.policy(), rule.filters()));
      }
      modelRoutes.add(
          new Route(
              NO_MATCH_ROUTE,
              List.of(RouteMatch.ANY),
              List.of(new Backend(Map.of(BACKEND_LABEL, "none"), 1)),
              new RoutePolicy(
                  null,
                  RoutePolicy.Retry.DEFAULT,
                  new RoutePolicy.Fault(100, 404, 0, Duration.ZERO))));
    }
    return new Service(
        name, namespace, modelPorts, endpoints, modelRoutes, DestinationPolicy.DEFAULT,
        List.copyOf(identities));
  }

  private static boolean sameTarget(ServicePort a, ServicePort b) {
    return target(a).equals(target(b));
  }

  /** The targetPort, defaulting to the port, as a string: {@code 8080} or {@code http}. */
  private static String target(ServicePort p) {
    IntOrString t = p.getTargetPort();
    if (t == null) {
      return String.valueOf(p.getPort());
    }
    return t.getIntVal() != null ? String.valueOf(t.getIntVal()) : t.getStrVal();
  }
}
