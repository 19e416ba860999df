package io.jmesh.runtime.route;

import io.jmesh.runtime.Endpoint;
import io.jmesh.runtime.balance.LoadBalancer;
import io.jmesh.runtime.mirror.MirrorSender;
import io.jmesh.runtime.telemetry.ClientMeters;

/**
 * A route's mirror service as compiled for one snapshot: its balancer (shared with calls to that
 * service) and its meters. Immutable; thread-safe as the balancer is.
 */
final class MirrorTarget implements MirrorSender.Target {
  private final String name;
  final double percent;
  private final LoadBalancer balancer; // null: the snapshot has no such service
  private final ClientMeters meters;

  MirrorTarget(String name, double percent, LoadBalancer balancer, ClientMeters meters) {
    this.name = name;
    this.percent = percent;
    this.balancer = balancer;
    this.meters = meters;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public Endpoint pick() {
    if (balancer == null) {
      return null;
    }
    Endpoint endpoint = balancer.picker().pick(null);
    if (endpoint != null) {
      balancer.attemptStarted(endpoint);
    }
    return endpoint;
  }

  @Override
  public void ended(Endpoint endpoint, boolean answered, long durationNanos) {
    if (balancer != null) {
      balancer.attemptFinished(endpoint, answered, durationNanos);
    }
  }

  @Override
  public void count(String outcome) {
    meters.mirrored(outcome);
  }
}
