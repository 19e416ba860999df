package io.jmesh.runtime;

import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.config.Service;
import io.jmesh.runtime.route.RouteTable;
import java.lang.System.Logger.Level;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Discovery mode's first-use wait: the first call to a service that discovery has declared but
 * not resolved asks discovery for it, and that call and every other call to the service in the
 * next first-use timeout wait for its resources (as gRPC holds RPCs until its resolver answers).
 * After that deadline calls never wait: they fail with no endpoint until the resources arrive, so
 * a controller that cannot answer costs each service one bounded wait.
 *
 * <p>Thread-safety: any thread may wait; {@link #updated()} is called by the thread that put a
 * snapshot in force, after readers see it. The wait is a real blocking wait of the application's
 * thread, so its bound is measured on the JVM's monotonic clock, not on the runtime's ticker (a
 * fake ticker that no thread moves would make it wait for ever).
 */
final class FirstUseGate implements RouteTable.FirstUse {
  private final Discovery discovery;
  private final Supplier<RouteTable> table;
  private final long timeoutNanos;
  // Services whose first use asked discovery for them, with the end of their window.
  private final Map<String, Long> deadlines = new ConcurrentHashMap<>();
  private final Set<String> timedOut = ConcurrentHashMap.newKeySet();
  private final Object updated = new Object(); // notified after every update

  FirstUseGate(Discovery discovery, Supplier<RouteTable> table, long timeoutNanos) {
    this.discovery = discovery;
    this.table = table;
    this.timeoutNanos = timeoutNanos;
  }

  @Override
  public RouteTable awaitResolved(String qualifiedName) {
    Long deadline = deadlines.get(qualifiedName);
    if (deadline == null) {
      long mine = System.nanoTime() + timeoutNanos;
      deadline = deadlines.putIfAbsent(qualifiedName, mine);
      if (deadline == null) {
        deadline = mine;
        discovery.watch(qualifiedName);
      }
    }
    long waitedFrom = 0; // 0: has not waited
    synchronized (updated) {
      while (true) {
        RouteTable current = table.get();
        if (!isUnresolved(current.snapshot(), qualifiedName)) {
          if (waitedFrom != 0) {
            RuntimeLog.log(
                Level.DEBUG,
                qualifiedName + ": a first call waited " + (System.nanoTime() - waitedFrom) / 1_000_000
                    + " ms for its routes and endpoints");
          }
          return current;
        }
        if (waitedFrom == 0) {
          waitedFrom = System.nanoTime();
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          if (timedOut.add(qualifiedName)) {
            RuntimeLog.log(
                Level.WARNING,
                qualifiedName + ": discovery sent no routes and endpoints within "
                    + TimeUnit.NANOSECONDS.toMillis(timeoutNanos)
                    + " ms of its first call; its calls fail until they arrive");
          }
          return current;
        }
        try {
          TimeUnit.NANOSECONDS.timedWait(updated, left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt(); // the application's interrupt: stop waiting
          return table.get();
        }
      }
    }
  }

  /** Wakes the waiting calls to look at the snapshot now in force. */
  void updated() {
    synchronized (updated) {
      updated.notifyAll();
    }
  }

  static boolean isUnresolved(MeshSnapshot snapshot, String qualifiedName) {
    for (Service s : snapshot.unresolved()) {
      if (s.qualifiedName().equals(qualifiedName)) {
        return true;
      }
    }
    return false;
  }
}
