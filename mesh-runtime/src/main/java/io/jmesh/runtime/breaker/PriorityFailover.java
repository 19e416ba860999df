package io.jmesh.runtime.breaker;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * How much of a destination's traffic each priority level receives, by Envoy's overprovisioning
 * model: a pure function of the healthy and total endpoint counts per priority (0 is the highest;
 * a balancer derives priorities from localities, for example own zone 0, own region 1, elsewhere
 * 2).
 *
 * <ol>
 *   <li>Health of level p: {@code health[p] = min(100, factor * healthy[p] / total[p])} in integer
 *       percent, {@code factor} = 140 (1.4): a level with at least ~72 % healthy endpoints counts
 *       as fully healthy. An empty level has health 0.
 *   <li>{@code normalizedTotal = min(100, sum of health[p])}.
 *   <li>If {@code normalizedTotal < panicThreshold} (default 50; Envoy's total panic), health is
 *       ignored: load is split in proportion to the endpoint counts, and the balancer should route
 *       to all endpoints of a level, ejected or not, rather than overload the few healthy ones.
 *   <li>Otherwise, from the highest priority down, {@code load[p] = min(remaining, health[p] * 100
 *       / normalizedTotal)}; when the total health is below 100 % this scales the levels up so
 *       that the loads still add to 100.
 *   <li>Rounding leftovers go to the first level with health above 0.
 * </ol>
 *
 * <p>Thread-safety: stateless; results are immutable.
 */
public final class PriorityFailover {
  /** Envoy's default overprovisioning factor 1.4, in percent. */
  public static final int DEFAULT_OVERPROVISIONING_FACTOR = 140;

  /** Envoy's default healthy panic threshold, in percent. */
  public static final int DEFAULT_PANIC_THRESHOLD = 50;

  private PriorityFailover() {}

  /**
   * The result: percent of traffic per priority (sums to 100) and whether the destination is in
   * panic (route to all endpoints of a level regardless of health).
   */
  public record Load(List<Integer> percent, boolean panic) {
    public Load {
      percent = List.copyOf(percent);
    }

    /**
     * The priority that takes a request, given a uniform {@code roll} in {@code 0..99} (for
     * example {@code random.nextInt(100)}).
     */
    public int choosePriority(int roll) {
      if (roll < 0 || roll > 99) {
        throw new IllegalArgumentException("roll: " + roll + " (expected: 0..99)");
      }
      int upTo = 0;
      for (int p = 0; p < percent.size(); p++) {
        upTo += percent.get(p);
        if (roll < upTo) {
          return p;
        }
      }
      return 0; // unreachable: the loads sum to 100
    }
  }

  /** The load per priority with Envoy's defaults (factor 1.4, panic threshold 50 %). */
  public static Load load(int[] healthy, int[] total) {
    return load(healthy, total, DEFAULT_OVERPROVISIONING_FACTOR, DEFAULT_PANIC_THRESHOLD);
  }

  /**
   * The load per priority.
   *
   * @param healthy healthy endpoints (or their weights) per priority, index 0 first
   * @param total all endpoints (or their weights) per priority; {@code total[p] >= healthy[p]}
   * @param overprovisioningFactor in percent, {@code >= 100}
   * @param panicThreshold in percent, {@code 0..100}; 0 turns panic off
   */
  public static Load load(
      int[] healthy, int[] total, int overprovisioningFactor, int panicThreshold) {
    Objects.requireNonNull(healthy, "healthy");
    Objects.requireNonNull(total, "total");
    if (healthy.length == 0 || healthy.length != total.length) {
      throw new IllegalArgumentException("priorities: healthy " + healthy.length + ", total "
          + total.length + " (expected: the same number, >= 1)");
    }
    if (overprovisioningFactor < 100) {
      throw new IllegalArgumentException(
          "overprovisioningFactor: " + overprovisioningFactor + " (expected: >= 100)");
    }
    if (panicThreshold < 0 || panicThreshold > 100) {
      throw new IllegalArgumentException(
          "panicThreshold: " + panicThreshold + " (expected: 0..100)");
    }
    int levels = healthy.length;
    int[] health = new int[levels];
    long sum = 0;
    for (int p = 0; p < levels; p++) {
      if (total[p] < 0 || healthy[p] < 0 || healthy[p] > total[p]) {
        throw new IllegalArgumentException("priority " + p + ": healthy " + healthy[p] + ", total "
            + total[p] + " (expected: 0 <= healthy <= total)");
      }
      health[p] = total[p] == 0
          ? 0
          : (int) Math.min(100, (long) overprovisioningFactor * healthy[p] / total[p]);
      sum += health[p];
    }
    int normalizedTotal = (int) Math.min(100, sum);

    if (normalizedTotal == 0 || normalizedTotal < panicThreshold) {
      return panicLoad(total);
    }
    int[] load = new int[levels];
    int remaining = 100;
    int firstHealthy = -1;
    for (int p = 0; p < levels; p++) {
      if (health[p] > 0 && firstHealthy < 0) {
        firstHealthy = p;
      }
      load[p] = Math.min(remaining, health[p] * 100 / normalizedTotal);
      remaining -= load[p];
    }
    load[firstHealthy] += remaining;
    return new Load(toList(load), false);
  }

  // Envoy's "total panic": every level is too unhealthy to trust health, so spread by size.
  private static Load panicLoad(int[] total) {
    int[] load = new int[total.length];
    long all = 0;
    for (int t : total) {
      all += t;
    }
    if (all == 0) {
      load[0] = 100; // no endpoint at all; the picker will find none
      return new Load(toList(load), true);
    }
    int remaining = 100;
    int firstNonEmpty = -1;
    for (int p = 0; p < total.length; p++) {
      if (total[p] > 0 && firstNonEmpty < 0) {
        firstNonEmpty = p;
      }
      load[p] = (int) (100L * total[p] / all);
      remaining -= load[p];
    }
    load[firstNonEmpty] += remaining;
    return new Load(toList(load), true);
  }

  private static List<Integer> toList(int[] values) {
    List<Integer> list = new ArrayList<>(values.length);
    for (int v : values) {
      list.add(v);
    }
    return Collections.unmodifiableList(list);
  }
}
