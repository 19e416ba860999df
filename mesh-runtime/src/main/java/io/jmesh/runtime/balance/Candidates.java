package io.jmesh.runtime.balance;

import io.jmesh.runtime.Endpoint;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * The endpoints of one picker and the rule that decides which of them a pick may return. Shared by
 * every picker so that availability, panic mode and {@code avoid} mean the same everywhere.
 *
 * <p>A pick walks the tiers in order and picks in the first one that holds an endpoint:
 *
 * <ol>
 *   <li>{@link #PREFERRED}: available and not the avoided endpoint (the normal case);
 *   <li>{@link #AVAILABLE}: available, the avoided one included (it is the only available one);
 *   <li>{@link #PANIC}: no endpoint is available, so the filter is ignored; not the avoided one;
 *   <li>{@link #ANY}: panic with the avoided endpoint as the only one.
 * </ol>
 *
 * <p>Immutable apart from the filter's live answers; thread-safe. Draws use rejection sampling
 * first (a few random draws, accepted when eligible: O(1) and allocation-free in the common case,
 * exact in distribution) and fall back to a counting scan, so degraded backends cost O(n).
 */
final class Candidates {
  static final int PREFERRED = 0;
  static final int AVAILABLE = 1;
  static final int PANIC = 2;
  static final int ANY = 3;
  static final int TIERS = 4;

  /** Random draws before the counting scan; enough for the avoided endpoint plus an ejection. */
  private static final int FAST_TRIES = 4;

  private final Endpoint[] endpoints;
  private final EndpointFilter filter;

  Candidates(List<? extends Endpoint> endpoints, EndpointFilter filter) {
    this.endpoints = endpoints.toArray(new Endpoint[0]);
    this.filter = filter;
  }

  int size() {
    return endpoints.length;
  }

  Endpoint get(int index) {
    return endpoints[index];
  }

  /**
   * Whether {@code tier} can hold anything the previous tiers did not: without an endpoint to
   * avoid, {@link #AVAILABLE} equals {@link #PREFERRED} and {@link #ANY} equals {@link #PANIC}.
   */
  static boolean worthTrying(int tier, Endpoint avoid) {
    return avoid != null || tier == PREFERRED || tier == PANIC;
  }

  boolean eligible(int index, int tier, Endpoint avoid) {
    Endpoint e = endpoints[index];
    return switch (tier) {
      case PREFERRED -> !e.equals(avoid) && filter.isAvailable(e);
      case AVAILABLE -> filter.isAvailable(e);
      case PANIC -> !e.equals(avoid);
      default -> true;
    };
  }

  /**
   * A uniformly random index eligible in {@code tier}, other than {@code exclude} (or {@code -1}
   * to exclude none); {@code -1} when there is none.
   */
  int uniform(RandomGenerator random, int tier, Endpoint avoid, int exclude) {
    int range = exclude < 0 ? endpoints.length : endpoints.length - 1;
    if (range <= 0) {
      return -1;
    }
    for (int t = 0; t < FAST_TRIES; t++) {
      int i = random.nextInt(range);
      if (exclude >= 0 && i >= exclude) {
        i++; // Step over the excluded slot: a draw over the others, without a retry.
      }
      if (eligible(i, tier, avoid)) {
        return i;
      }
    }
    int count = 0;
    for (int i = 0; i < endpoints.length; i++) {
      if (i != exclude && eligible(i, tier, avoid)) {
        count++;
      }
    }
    if (count == 0) {
      return -1;
    }
    int nth = random.nextInt(count);
    int last = -1;
    for (int i = 0; i < endpoints.length; i++) {
      if (i != exclude && eligible(i, tier, avoid)) {
        if (nth-- == 0) {
          return i;
        }
        last = i;
      }
    }
    // The filter changed between the two scans; any eligible endpoint will do.
    return last;
  }

  /**
   * The first index at or after {@code start} (cyclically) eligible in {@code tier}, or {@code -1}.
   */
  int firstFrom(int start, int tier, Endpoint avoid) {
    int n = endpoints.length;
    for (int k = 0; k < n; k++) {
      int i = (start + k) % n;
      if (eligible(i, tier, avoid)) {
        return i;
      }
    }
    return -1;
  }
}
