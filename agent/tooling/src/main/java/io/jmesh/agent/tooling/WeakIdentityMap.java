package io.jmesh.agent.tooling;

import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A concurrent map keyed by object identity that does not keep its keys alive: used to remember
 * per-request choices on JDK objects that have no field for them.
 */
public final class WeakIdentityMap<K, V> {
  private final ConcurrentHashMap<Object, V> map = new ConcurrentHashMap<>();
  private final ReferenceQueue<K> queue = new ReferenceQueue<>();

  public V get(K key) {
    return map.get(new Lookup(key));
  }

  public void put(K key, V value) {
    expunge();
    map.put(new WeakKey<>(key, queue), value);
  }

  public V remove(K key) {
    return map.remove(new Lookup(key));
  }

  public int size() {
    expunge();
    return map.size();
  }

  private void expunge() {
    Object stale;
    while ((stale = queue.poll()) != null) {
      map.remove(stale);
    }
  }

  private static final class WeakKey<K> extends WeakReference<K> {
    private final int hash;

    WeakKey(K key, ReferenceQueue<K> queue) {
      super(key, queue);
      this.hash = System.identityHashCode(key);
    }

    @Override
    public int hashCode() {
      return hash;
    }

    @Override
    public boolean equals(Object o) {
      if (this == o) {
        return true;
      }
      Object mine = get();
      if (mine == null) {
        return false;
      }
      if (o instanceof WeakKey) {
        return mine == ((WeakKey<?>) o).get();
      }
      return o instanceof Lookup && mine == ((Lookup) o).key;
    }
  }

  private static final class Lookup {
    final Object key;

    Lookup(Object key) {
      this.key = key;
    }

    @Override
    public int hashCode() {
      return System.identityHashCode(key);
    }

    @Override
    public boolean equals(Object o) {
      if (o instanceof WeakKey) {
        return ((WeakKey<?>) o).get() == key;
      }
      return o instanceof Lookup && ((Lookup) o).key == key;
    }
  }
}
