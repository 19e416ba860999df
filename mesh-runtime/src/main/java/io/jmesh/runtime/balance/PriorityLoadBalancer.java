package io.jmesh.runtime.balance;

import io.jmesh.runtime.Endpoint;
import io.jmesh.runtime.breaker.PriorityFailover;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Failover across priority levels: one child balancer per {@link Endpoint#priority()}, and per
 * pick a level chosen by Envoy's overprovisioning model ({@link PriorityFailover}): traffic stays
 * on the highest level while at least ~72 % of it is available, spills to the next in proportion
 * as it degrades, and comes back as it recovers. Availability is the breaker's view ({@link
 * Helper#filter()}), read on every pick, so an ejection shifts load at once. Inside a level the
 * child (peak-EWMA by default) picks.
 *
 * <p>A destination whose endpoints all have one priority has a single level, and the wrapper
 * then only delegates.
 *
 * <p>Threading: as {@link LoadBalancer}. The picker counts available endpoints per level on each
 * pick (one filter call per endpoint); fine for the tens of endpoints of a destination, and the
 * reason a destination with one level skips it.
 */
final class PriorityLoadBalancer implements LoadBalancer {
  private final Helper helper;
  private final Factory childFactory;
  // Config thread only: the children by priority value, kept across updates for their state.
  private Map<Integer, LoadBalancer> children = new TreeMap<>();
  private volatile Level[] levels = new Level[0];
  private volatile Picker picker = avoid -> null;

  /** One level: its priority, balancer and endpoints. Immutable. */
  private record Level(int priority, LoadBalancer balancer, Endpoint[] endpoints) {}

  PriorityLoadBalancer(Helper helper, Factory childFactory) {
    this.helper = helper;
    this.childFactory = childFactory;
  }

  @Override
  public void updateEndpoints(List<? extends Endpoint> endpoints) {
    Map<Integer, List<Endpoint>> byPriority = new TreeMap<>();
    for (Endpoint e : endpoints) {
      byPriority.computeIfAbsent(e.priority(), p -> new ArrayList<>()).add(e);
    }
    Map<Integer, LoadBalancer> next = new TreeMap<>();
    List<Level> built = new ArrayList<>();
    for (Map.Entry<Integer, List<Endpoint>> level : byPriority.entrySet()) {
      LoadBalancer child = children.remove(level.getKey());
      if (child == null) {
        child = childFactory.newLoadBalancer(helper);
      }
      child.updateEndpoints(List.copyOf(level.getValue()));
      next.put(level.getKey(), child);
      built.add(new Level(level.getKey(), child, level.getValue().toArray(new Endpoint[0])));
    }
    children.values().forEach(LoadBalancer::shutdown);
    children = next;
    Level[] now = built.toArray(new Level[0]);
    levels = now;
    picker = now.length == 0 ? avoid -> null : now.length == 1 ? new Single(now[0].balancer) : new ByLoad(now, helper);
  }

  @Override
  public Picker picker() {
    return picker;
  }

  @Override
  public EndpointLoad load(Endpoint endpoint) {
    LoadBalancer child = childOf(endpoint);
    return child == null ? null : child.load(endpoint);
  }

  @Override
  public void attemptStarted(Endpoint endpoint) {
    LoadBalancer child = childOf(endpoint);
    if (child != null) {
      child.attemptStarted(endpoint);
    }
  }

  @Override
  public void attemptFinished(Endpoint endpoint, boolean success, long durationNanos) {
    LoadBalancer child = childOf(endpoint);
    if (child != null) {
      child.attemptFinished(endpoint, success, durationNanos);
    }
  }

  private LoadBalancer childOf(Endpoint endpoint) {
    for (Level level : levels) {
      if (level.priority == endpoint.priority()) {
        return level.balancer;
      }
    }
    return null;
  }

  @Override
  public void shutdown() {
    for (Level level : levels) {
      level.balancer.shutdown();
    }
  }

  @Override
  public String toString() {
    return "PriorityLoadBalancer{" + helper.name() + ", levels=" + levels.length + "}";
  }

  /** One level: the child's own picker, read on each pick. */
  private record Single(LoadBalancer child) implements Picker {
    @Override
    public Endpoint pick(Endpoint avoid) {
      return child.picker().pick(avoid);
    }
  }

  /** Several levels: choose one by the load the health of all levels gives it. */
  private static final class ByLoad implements Picker {
    private final Level[] levels;
    private final Helper helper;

    ByLoad(Level[] levels, Helper helper) {
      this.levels = levels;
      this.helper = helper;
    }

    @Override
    public Endpoint pick(Endpoint avoid) {
      EndpointFilter filter = helper.filter();
      int[] healthy = new int[levels.length];
      int[] total = new int[levels.length];
      for (int i = 0; i < levels.length; i++) {
        Endpoint[] endpoints = levels[i].endpoints;
        total[i] = endpoints.length;
        for (Endpoint e : endpoints) {
          if (filter.isAvailable(e)) {
            healthy[i]++;
          }
        }
      }
      PriorityFailover.Load load = PriorityFailover.load(healthy, total);
      int level = load.choosePriority(helper.random().nextInt(100));
      // In panic the chosen level's picker sends to ejected endpoints too, as its own panic mode
      // does when it sees none available.
      Endpoint picked = levels[level].balancer.picker().pick(avoid);
      if (picked != null && picked.equals(avoid)) {
        // The level had nothing else; a retry prefers another level to the same endpoint.
        for (Level other : levels) {
          if (other != levels[level]) {
            Endpoint e = other.balancer.picker().pick(avoid);
            if (e != null && filter.isAvailable(e)) {
              return e;
            }
          }
        }
      }
      return picked;
    }
  }
}
