package io.jmesh.runtime.config;

import io.jmesh.runtime.Endpoint;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.Objects;

/**
 * An endpoint as declared in a snapshot. Immutable apart from the lazily resolved socket address.
 * Two endpoints are equal when host, port, weight and labels are equal.
 */
public final class ServiceEndpoint implements Endpoint {
  private final String host;
  private final int port;
  private final int weight;
  private final Map<String, String> labels;
  private final int priority;
  // Endpoints are map keys on the request path (breaker, balancer state): hash once.
  private final int hash;
  // Resolved on first use, not when the snapshot is built: resolving a host name may block on
  // DNS, and the config thread must not. A race resolves twice, which is harmless.
  private volatile InetSocketAddress socketAddress;

  public ServiceEndpoint(String host, int port, int weight, Map<String, String> labels) {
    this(host, port, weight, labels, 0);
  }

  /** @param priority the failover priority, 0 the highest ({@code >= 0}) */
  public ServiceEndpoint(String host, int port, int weight, Map<String, String> labels, int priority) {
    if (priority < 0) {
      throw new IllegalArgumentException("priority: " + priority + " (expected: >= 0)");
    }
    this.priority = priority;
    this.host = Objects.requireNonNull(host, "host");
    if (host.isEmpty()) {
      throw new IllegalArgumentException("host: \"\" (expected: a host name or IP address)");
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("port: " + port + " (expected: 1..65535)");
    }
    if (weight < 1) {
      throw new IllegalArgumentException("weight: " + weight + " (expected: >= 1)");
    }
    this.port = port;
    this.weight = weight;
    this.labels = Map.copyOf(labels);
    this.hash = Objects.hash(host, port, weight, this.labels, priority);
  }

  /** An endpoint of weight 1 with no labels. */
  public static ServiceEndpoint of(String host, int port) {
    return new ServiceEndpoint(host, port, 1, Map.of());
  }

  @Override
  public String host() {
    return host;
  }

  @Override
  public int port() {
    return port;
  }

  @Override
  public int weight() {
    return weight;
  }

  @Override
  public Map<String, String> labels() {
    return labels;
  }

  @Override
  public InetSocketAddress socketAddress() {
    InetSocketAddress address = socketAddress;
    if (address == null) {
      address = new InetSocketAddress(host, port);
      socketAddress = address;
    }
    return address;
  }

  @Override
  public int priority() {
    return priority;
  }

  /** Whether every label of {@code selector} is present on this endpoint with the same value. */
  public boolean matches(Map<String, String> selector) {
    return matches(labels, selector);
  }

  /** Whether every label of {@code selector} is in {@code labels} with the same value. */
  public static boolean matches(Map<String, String> labels, Map<String, String> selector) {
    for (Map.Entry<String, String> e : selector.entrySet()) {
      if (!e.getValue().equals(labels.get(e.getKey()))) {
        return false;
      }
    }
    return true;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ServiceEndpoint other
        && port == other.port
        && weight == other.weight
        && priority == other.priority
        && host.equals(other.host)
        && labels.equals(other.labels);
  }

  @Override
  public int hashCode() {
    return hash;
  }

  @Override
  public String toString() {
    return host + ":" + port + (weight == 1 ? "" : " weight=" + weight)
        + (priority == 0 ? "" : " priority=" + priority) + (labels.isEmpty() ? "" : " " + labels);
  }
}
