package io.jmesh.runtime.route;

import io.jmesh.runtime.Endpoint;
import io.jmesh.runtime.OutboundCall;
import io.jmesh.runtime.OutboundRequest;
import io.jmesh.runtime.balance.LoadBalancer;

/**
 * A call whose route and backend are chosen. Each attempt asks the backend's balancer for an
 * endpoint, avoiding the endpoint of the previous attempt, so that a retry goes elsewhere when it
 * can. Driven by one adapter thread at a time, as {@link OutboundCall} states.
 */
final class RoutedCall implements OutboundCall {
  private final String destination;
  private final OutboundRequest request;
  private final String routeName;
  private final LoadBalancer balancer;
  private String authority;
  private Endpoint previous;

  RoutedCall(String destination, OutboundRequest request, String routeName, LoadBalancer balancer) {
    this.destination = destination;
    this.request = request;
    this.routeName = routeName;
    this.balancer = balancer;
  }

  @Override
  public String destination() {
    return destination;
  }

  @Override
  public String authority() {
    // Computed on demand: many adapters keep the application's own Host header.
    String a = authority;
    if (a == null) {
      int port = request.port();
      boolean defaultPort = port == OutboundRequest.effectivePort(request.scheme(), -1);
      a = defaultPort ? request.host() : request.host() + ":" + port;
      authority = a;
    }
    return a;
  }

  @Override
  public String routeName() {
    return routeName;
  }

  @Override
  public Endpoint nextEndpoint() {
    Endpoint endpoint = balancer.picker().pick(previous);
    if (endpoint != null) {
      previous = endpoint;
    }
    return endpoint;
  }

  @Override
  public void attemptFinished(Endpoint endpoint, boolean success, long durationNanos) {
    balancer.attemptFinished(endpoint, success, durationNanos);
  }

  @Override
  public String toString() {
    return "OutboundCall{" + destination + " route=" + routeName + " balancer=" + balancer + "}";
  }
}
