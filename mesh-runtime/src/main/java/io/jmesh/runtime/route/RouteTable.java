package io.jmesh.runtime.route;

import io.jmesh.runtime.OutboundCall;
import io.jmesh.runtime.OutboundRequest;
import io.jmesh.runtime.config.MeshSnapshot;
import java.util.Map;
import java.util.random.RandomGenerator;

/**
 * The compiled form of one snapshot: a map from every host form a client may write to its
 * destination, and per destination the routes in order. Immutable; {@link #route} and {@link
 * #isMeshDestination} take no lock and cost one hash lookup when the host is no mesh destination.
 * Public only so that {@code io.jmesh.runtime} can use it; not an API.
 */
public final class RouteTable {
  private final MeshSnapshot snapshot;
  private final Map<String, Destination> byHost;
  private final RandomGenerator random;
  private final FirstUse firstUse;

  /**
   * Resolves an unresolved service (see {@link MeshSnapshot#unresolved()}) on its first call.
   * Called on the request thread; may block for a bounded time.
   */
  @FunctionalInterface
  public interface FirstUse {
    /**
     * Asks discovery for {@code qualifiedName} and waits, boundedly, until it is resolved; returns
     * the table in force then (which may still have it unresolved).
     */
    RouteTable awaitResolved(String qualifiedName);
  }

  RouteTable(
      MeshSnapshot snapshot,
      Map<String, Destination> byHost,
      RandomGenerator random,
      FirstUse firstUse) {
    this.firstUse = firstUse;
    this.snapshot = snapshot;
    this.byHost = Map.copyOf(byHost);
    this.random = random;
  }

  /** The snapshot this table was compiled from. */
  public MeshSnapshot snapshot() {
    return snapshot;
  }

  /** Whether {@code host:port} names a service port of a service in the snapshot. */
  public boolean isMeshDestination(String host, int port) {
    return destination(host, port) != null;
  }

  /**
   * The qualified name of the service {@code host:port} names ({@code hello.default}), or {@code
   * null} when it is no mesh destination. One hash lookup.
   */
  public String destinationName(String host, int port) {
    Destination d = destination(host, port);
    return d == null ? null : d.qualifiedName;
  }

  /**
   * Routes {@code request}: {@code null} when it is no mesh traffic; otherwise a call that has
   * chosen its route (first match in file order, else the implicit route "default") and its
   * backend (at random by backend weight).
   */
  public OutboundCall route(OutboundRequest request) {
    Destination destination = destination(request.host(), request.port());
    if (destination == null) {
      return null;
    }
    if (destination.pending && firstUse != null) {
      RouteTable latest = firstUse.awaitResolved(destination.qualifiedName);
      if (latest != this) {
        Destination resolved = latest.destination(request.host(), request.port());
        if (resolved == null) {
          return null; // discovery no longer declares it
        }
        return latest.route(resolved, request);
      }
    }
    return route(destination, request);
  }

  private OutboundCall route(Destination destination, OutboundRequest request) {
    CompiledRoute route = destination.select(request);
    return new RoutedCall(destination.state, request, route.pickBackend(random));
  }

  private Destination destination(String host, int port) {
    if (host == null || host.isEmpty()) {
      return null;
    }
    char first = host.charAt(0);
    if (first == '[' || (first >= '0' && first <= '9') || host.indexOf(':') >= 0) {
      // An IP literal: service names start with a letter, so it cannot be one. Skip even the
      // lower-casing.
      return null;
    }
    Destination destination = byHost.get(Router.normalize(host));
    if (destination == null || !destination.hasPort(port)) {
      return null;
    }
    return destination;
  }

  /** One service, as compiled for the request path. */
  static final class Destination {
    final String qualifiedName;
    private final int[] ports;
    private final CompiledRoute[] routes;
    private final CompiledRoute defaultRoute;
    final DestinationState state;
    // Declared by discovery, routes and endpoints not loaded yet (see MeshSnapshot#unresolved).
    final boolean pending;

    Destination(
        String qualifiedName,
        int[] ports,
        CompiledRoute[] routes,
        CompiledRoute defaultRoute,
        DestinationState state,
        boolean pending) {
      this.pending = pending;
      this.qualifiedName = qualifiedName;
      this.state = state;
      this.ports = ports;
      this.routes = routes;
      this.defaultRoute = defaultRoute;
    }

    boolean hasPort(int port) {
      for (int p : ports) {
        if (p == port) {
          return true;
        }
      }
      return false;
    }

    /** The first route that matches, else the default route. */
    CompiledRoute select(OutboundRequest request) {
      for (CompiledRoute route : routes) {
        if (route.matches(request)) {
          return route;
        }
      }
      return defaultRoute;
    }
  }
}
