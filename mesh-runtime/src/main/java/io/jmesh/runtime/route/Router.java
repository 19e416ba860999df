package io.jmesh.runtime.route;

import io.jmesh.runtime.Endpoint;
import io.jmesh.runtime.balance.Balancers;
import io.jmesh.runtime.balance.EndpointFilter;
import io.jmesh.runtime.balance.LoadBalancer;
import io.jmesh.runtime.config.DestinationPolicy;
import io.jmesh.runtime.config.RoutePolicy;
import io.jmesh.runtime.retry.Backoff;
import io.jmesh.runtime.retry.RetryPolicy;
import java.util.EnumSet;
import io.jmesh.runtime.config.Backend;
import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.config.Route;
import io.jmesh.runtime.config.Service;
import io.jmesh.runtime.config.ServiceEndpoint;
import io.jmesh.runtime.telemetry.MeshMetrics;
import io.jmesh.runtime.time.Ticker;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.random.RandomGenerator;

/**
 * Turns each new {@link MeshSnapshot} into an immutable {@link RouteTable}, and owns the
 * balancers behind it: one per destination (service and label subset), kept across snapshots so
 * that balancer state survives updates. Public only so that {@code io.jmesh.runtime} can use it;
 * not an API.
 *
 * <p>Threading: {@link #update} and {@link #close} run on the config thread and are serialized;
 * the tables they return are read lock-free by request threads.
 */
public final class Router implements AutoCloseable {
  private final String namespace;
  private final String clusterDomain;
  private final LoadBalancer.Factory balancerOverride; // null: each destination's policy chooses
  private final RandomGenerator random;
  private final Ticker ticker;
  private final RouteTable.FirstUse firstUse; // null when every service is resolved up front
  private final MeshMetrics metrics;
  private final io.jmesh.runtime.mirror.MirrorSender mirrors; // null: routes' mirrors send nothing

  // Guarded by this.
  private Map<BalancerKey, LoadBalancer> balancers = new HashMap<>();
  private Map<String, DestinationState> destinations = new HashMap<>();
  private final Map<RoutePolicy.Retry, RetryPolicy> retryPolicies = new HashMap<>();

  /**
   * @param namespace the runtime's own namespace: short names ({@code hello}) resolve in it
   * @param clusterDomain for fully qualified names, for example {@code cluster.local}
   * @param balancerOverride the balancer of every destination whatever its policy says (for
   *     tests and benchmarks), or {@code null} to follow each destination's {@code balancer}
   * @param random picks backends; also handed to the balancers. Thread-safe.
   * @param firstUse asked to resolve an unresolved service on its first call, or {@code null}
   * @param metrics where calls are recorded ({@link MeshMetrics#noop()} for nowhere)
   */
  public Router(
      String namespace,
      String clusterDomain,
      LoadBalancer.Factory balancerFactory,
      RandomGenerator random,
      Ticker ticker,
      RouteTable.FirstUse firstUse,
      MeshMetrics metrics) {
    this(namespace, clusterDomain, balancerFactory, random, ticker, firstUse, metrics, null);
  }

  /**
   * A router whose routes' mirrors send their copies with {@code mirrors} ({@code null}: none is
   * sent); the other parameters as above.
   */
  public Router(
      String namespace,
      String clusterDomain,
      LoadBalancer.Factory balancerFactory,
      RandomGenerator random,
      Ticker ticker,
      RouteTable.FirstUse firstUse,
      MeshMetrics metrics,
      io.jmesh.runtime.mirror.MirrorSender mirrors) {
    this.mirrors = mirrors;
    this.firstUse = firstUse;
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.namespace = normalize(Objects.requireNonNull(namespace, "namespace"));
    this.clusterDomain = normalize(Objects.requireNonNull(clusterDomain, "clusterDomain"));
    this.balancerOverride = balancerFactory;
    this.random = Objects.requireNonNull(random, "random");
    this.ticker = Objects.requireNonNull(ticker, "ticker");
  }

  /**
   * Compiles {@code snapshot} into a route table and updates the balancers' endpoints. The caller
   * publishes the returned table; balancers of destinations that disappeared are shut down.
   */
  public synchronized RouteTable update(MeshSnapshot snapshot) {
    retryPolicies.clear(); // only this snapshot's routes share them
    Map<BalancerKey, LoadBalancer> next = new HashMap<>();
    Map<String, DestinationState> nextStates = new HashMap<>();
    Map<String, RouteTable.Destination> byHost = new HashMap<>();
    Map<String, Service> byName = new HashMap<>();
    for (Service service : snapshot.unresolved()) {
      byName.put(service.qualifiedName(), service);
    }
    for (Service service : snapshot.services()) {
      byName.put(service.qualifiedName(), service);
    }
    for (Service service : snapshot.services()) {
      compile(service, false, next, nextStates, byHost, byName);
    }
    for (Service service : snapshot.unresolved()) {
      compile(service, true, next, nextStates, byHost, byName);
    }
    for (Map.Entry<BalancerKey, LoadBalancer> old : balancers.entrySet()) {
      if (!next.containsKey(old.getKey())) {
        old.getValue().shutdown();
      }
    }
    for (Map.Entry<String, DestinationState> old : destinations.entrySet()) {
      if (!nextStates.containsKey(old.getKey())) {
        // Its meters outlive it (MeshMetrics keeps them): the ejected gauge must not read it.
        old.getValue().meters.unbindEjected(old.getValue());
      }
    }
    balancers = next;
    destinations = nextStates;
    return new RouteTable(snapshot, byHost, random, firstUse);
  }

  /**
   * Compiles one service into its destination and registers every host form of it. An
   * unresolved service ({@code pending}) has no endpoints yet: its calls wait once for discovery,
   * then fail with no endpoint until its resources arrive.
   */
  private void compile(
      Service service,
      boolean pending,
      Map<BalancerKey, LoadBalancer> next,
      Map<String, DestinationState> nextStates,
      Map<String, RouteTable.Destination> byHost,
      Map<String, Service> byName) {
    String qualified = service.qualifiedName();
    DestinationState state = state(service, nextStates);
    CompiledRoute defaultRoute =
        new CompiledRoute(
            "default",
            new CompiledRoute.Match[] {CompiledRoute.Match.ANY},
            new LoadBalancer[] {balancer(service, Map.of(), state, next)},
            members(List.of(Map.of())),
            new long[] {1},
            RoutePolicy.DEFAULT,
            retryPolicy(RoutePolicy.DEFAULT.retry()),
            io.jmesh.runtime.config.RouteFilters.NONE,
            null);
    List<CompiledRoute> routes = new ArrayList<>();
    for (Route route : service.routes()) {
      List<Backend> backends = route.backends();
      LoadBalancer[] lbs = new LoadBalancer[backends.size()];
      long[] weights = new long[backends.size()];
      for (int i = 0; i < lbs.length; i++) {
        lbs[i] = balancer(service, backends.get(i).subset(), state, next);
        weights[i] = backends.get(i).weight();
      }
      routes.add(
          new CompiledRoute(
              route.name(),
              CompiledRoute.compile(route.matches()),
              lbs,
              members(backends.stream().map(Backend::subset).toList()),
              weights,
              route.policy(),
              retryPolicy(route.policy().retry()),
              route.filters(),
              mirror(route.filters().mirror(), byName, next, nextStates)));
    }
    int[] ports = service.ports().stream().mapToInt(Integer::intValue).toArray();
    RouteTable.Destination destination =
        new RouteTable.Destination(
            qualified, ports, routes.toArray(new CompiledRoute[0]), defaultRoute, state, pending);
    List<String> hosts = hostForms(service);
    for (String host : hosts) {
      byHost.putIfAbsent(host, destination);
    }
    state.updateAuthorities(hosts, ports);
  }

  /** The state of {@code service} in this update, made or carried over and updated once. */
  private DestinationState state(Service service, Map<String, DestinationState> nextStates) {
    String qualified = service.qualifiedName();
    DestinationState state = nextStates.get(qualified);
    if (state != null) {
      return state; // a route's mirror got here first
    }
    state = destinations.get(qualified);
    if (state == null) {
      state = new DestinationState(qualified, ticker, random, mirrors, metrics.client(qualified));
    }
    state.update(service.policy(), service.endpoints());
    nextStates.put(qualified, state);
    return state;
  }

  /**
   * A route's mirror bound to the balancer of its whole service (the one calls to that service
   * use, so they share latency estimates and ejections); a service the snapshot lacks gets a target
   * with no endpoint, whose copies are counted as such.
   */
  private MirrorTarget mirror(
      io.jmesh.runtime.config.RequestMirror mirror,
      Map<String, Service> byName,
      Map<BalancerKey, LoadBalancer> next,
      Map<String, DestinationState> nextStates) {
    if (mirror == null) {
      return null;
    }
    Service service = byName.get(mirror.qualifiedName());
    if (service == null) {
      return new MirrorTarget(mirror.qualifiedName(), mirror.percent(), null, metrics.client(mirror.qualifiedName()));
    }
    DestinationState state = state(service, nextStates);
    return new MirrorTarget(service.qualifiedName(), mirror.percent(), balancer(service, Map.of(), state, next), state.meters);
  }

  /** Every host a client may write for {@code service}, lower case, without trailing dot. */
  List<String> hostForms(Service service) {
    String name = normalize(service.name());
    String ns = normalize(service.namespace());
    List<String> forms = new ArrayList<>(4);
    if (ns.equals(namespace)) {
      forms.add(name); // like the DNS search path of a pod in that namespace
    }
    forms.add(name + "." + ns);
    forms.add(name + "." + ns + ".svc");
    forms.add(name + "." + ns + ".svc." + clusterDomain);
    return forms;
  }

  /** The balancer of {@code service} restricted to {@code subset}, updated once per update. */
  private LoadBalancer balancer(
      Service service,
      Map<String, String> subset,
      DestinationState state,
      Map<BalancerKey, LoadBalancer> next) {
    DestinationPolicy.Balancer kind = balancerOverride == null ? service.policy().balancer() : null;
    BalancerKey key = new BalancerKey(service.qualifiedName(), subset, kind);
    LoadBalancer lb = next.get(key);
    if (lb != null) {
      return lb;
    }
    lb = balancers.get(key);
    if (lb == null) {
      String name = key.service() + (subset.isEmpty() ? "" : new TreeMap<>(subset).toString());
      LoadBalancer.Factory factory =
          Balancers.withPriorities(balancerOverride != null ? balancerOverride : factory(kind));
      lb = factory.newLoadBalancer(new Helper(name, random, ticker, state::isAvailable));
    }
    List<Endpoint> endpoints = new ArrayList<>();
    for (ServiceEndpoint endpoint : service.endpoints()) {
      if (endpoint.matches(subset)) {
        endpoints.add(endpoint);
      }
    }
    lb.updateEndpoints(List.copyOf(endpoints));
    next.put(key, lb);
    return lb;
  }

  /**
   * Per destination (qualified name, sorted), each endpoint of {@code services} with its breaker
   * state and its load as the balancer holding it reports; for the admin endpoint. A snapshot of
   * racy reads, never a consistent cut.
   */
  public synchronized Map<String, List<io.jmesh.runtime.MeshRuntime.EndpointStatus>> endpointStatus(
      List<Service> services) {
    Map<String, List<io.jmesh.runtime.MeshRuntime.EndpointStatus>> out = new TreeMap<>();
    for (Service service : services) {
      String qualified = service.qualifiedName();
      DestinationState state = destinations.get(qualified);
      List<io.jmesh.runtime.MeshRuntime.EndpointStatus> list = new ArrayList<>();
      for (ServiceEndpoint e : service.endpoints()) {
        LoadBalancer.EndpointLoad load = null;
        for (Map.Entry<BalancerKey, LoadBalancer> b : balancers.entrySet()) {
          if (b.getKey().service().equals(qualified) && e.matches(b.getKey().subset())) {
            load = b.getValue().load(e);
            if (load != null) {
              break;
            }
          }
        }
        list.add(
            new io.jmesh.runtime.MeshRuntime.EndpointStatus(
                e.host(),
                e.port(),
                e.labels(),
                e.priority(),
                state == null ? "unknown" : state.health.state(e),
                load == null ? 0 : load.inFlight(),
                load == null ? Double.NaN : load.ewmaNanos() / 1e6));
      }
      out.put(qualified, list);
    }
    return out;
  }

  /** Shuts every balancer down. */
  @Override
  public synchronized void close() {
    for (LoadBalancer lb : balancers.values()) {
      lb.shutdown();
    }
    balancers = new HashMap<>();
  }

  /** Lower case, without the trailing dot of an absolute DNS name. */
  static String normalize(String host) {
    String lower = host.toLowerCase(Locale.ROOT); // returns host itself when already lower case
    int end = lower.length();
    if (end > 0 && lower.charAt(end - 1) == '.') {
      return lower.substring(0, end - 1);
    }
    return lower;
  }

  /** Per subset, whether an endpoint carries all of its labels. */
  @SuppressWarnings("unchecked")
  private static Predicate<Endpoint>[] members(List<Map<String, String>> subsets) {
    Predicate<Endpoint>[] out = new Predicate[subsets.size()];
    for (int i = 0; i < out.length; i++) {
      Map<String, String> subset = Map.copyOf(subsets.get(i));
      out[i] = subset.isEmpty() ? e -> true : e -> ServiceEndpoint.matches(e.labels(), subset);
    }
    return out;
  }

  private static LoadBalancer.Factory factory(DestinationPolicy.Balancer kind) {
    return switch (kind) {
      case PEAK_EWMA -> Balancers.peakEwma();
      case LEAST_REQUEST -> Balancers.leastRequest();
      case ROUND_ROBIN -> Balancers.roundRobin();
      case RANDOM -> Balancers.weightedRandom();
    };
  }

  /** The retry policy of a route's retry settings; equal settings share one policy. */
  private RetryPolicy retryPolicy(RoutePolicy.Retry r) {
    return retryPolicies.computeIfAbsent(r, k -> {
      EnumSet<RetryPolicy.RetryOn> on = EnumSet.noneOf(RetryPolicy.RetryOn.class);
      if (k.onConnectFailure()) {
        on.add(RetryPolicy.RetryOn.CONNECT_FAILURE);
      }
      if (k.onReset()) {
        on.add(RetryPolicy.RetryOn.RESET);
      }
      if (k.perTryTimeout() != null) {
        on.add(RetryPolicy.RetryOn.TIMEOUT); // a per-try timeout exists to be retried elsewhere
      }
      return RetryPolicy.builder()
          .maxAttempts(k.attempts())
          .retryOn(on)
          .retryOnStatusOnly(k.onStatus())
          .retryOnGrpcStatus(k.onGrpcStatus())
          .retryNonIdempotent(k.nonIdempotent())
          .maxReplayBodyBytes(k.maxReplayBytes())
          .backoff(Backoff.exponential(k.backoffBase(), k.backoffMax(), Backoff.DEFAULT_JITTER, random))
          .perTryTimeout(k.perTryTimeout())
          .build();
    });
  }

  /** One destination: a service, a label subset of its endpoints, and the balancer kind. */
  private record BalancerKey(
      String service, Map<String, String> subset, DestinationPolicy.Balancer kind) {}

  private record Helper(String name, RandomGenerator random, Ticker ticker, EndpointFilter filter)
      implements LoadBalancer.Helper {}
}
