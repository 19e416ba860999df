package io.jmesh.runtime.telemetry;

import java.util.Objects;
import java.util.function.Supplier;

/**
 * The meters of one meter family by their label values, found without building a key: the
 * lookup of a series that exists allocates nothing, which a map keyed by a record cannot offer
 * (it needs a key object per call). Up to five label values; unused ones are {@code null}.
 *
 * <p>Thread-safety: {@link #get} is lock-free and reads an immutable array; {@link #add}, once
 * per new label combination, copies it under this object's lock and swaps it in.
 */
final class SeriesTable<M> {
  /** One series: its label values and its meter. */
  private record Entry<M>(String a, String b, String c, String d, String e, M meter) {
    boolean matches(String a, String b, String c, String d, String e) {
      return Objects.equals(this.a, a)
          && Objects.equals(this.b, b)
          && Objects.equals(this.c, c)
          && Objects.equals(this.d, d)
          && Objects.equals(this.e, e);
    }
  }

  // Open addressing with linear probing; the length is a power of two, at most half used.
  private volatile Entry<M>[] slots = newSlots(16);
  private int size; // guarded by this

  /** The meter of these label values, or {@code null} when there is none yet. */
  M get(String a, String b, String c, String d, String e) {
    Entry<M>[] s = slots;
    int mask = s.length - 1;
    for (int i = hash(a, b, c, d, e) & mask; ; i = (i + 1) & mask) {
      Entry<M> entry = s[i];
      if (entry == null) {
        return null;
      }
      if (entry.matches(a, b, c, d, e)) {
        return entry.meter;
      }
    }
  }

  /** The meter of these label values, made by {@code meter} and kept when there is none yet. */
  synchronized M add(String a, String b, String c, String d, String e, Supplier<M> meter) {
    M existing = get(a, b, c, d, e);
    if (existing != null) {
      return existing;
    }
    Entry<M>[] s = slots;
    Entry<M>[] next = newSlots(size + 1 > s.length / 2 ? s.length * 2 : s.length);
    for (Entry<M> entry : s) {
      if (entry != null) {
        put(next, entry);
      }
    }
    M made = meter.get();
    put(next, new Entry<>(a, b, c, d, e, made));
    size++;
    slots = next;
    return made;
  }

  /** The series held. */
  synchronized int size() {
    return size;
  }

  private static <M> void put(Entry<M>[] s, Entry<M> entry) {
    int mask = s.length - 1;
    int i = hash(entry.a, entry.b, entry.c, entry.d, entry.e) & mask;
    while (s[i] != null) {
      i = (i + 1) & mask;
    }
    s[i] = entry;
  }

  private static int hash(String a, String b, String c, String d, String e) {
    int h = Objects.hashCode(a);
    h = h * 31 + Objects.hashCode(b);
    h = h * 31 + Objects.hashCode(c);
    h = h * 31 + Objects.hashCode(d);
    h = h * 31 + Objects.hashCode(e);
    return h ^ (h >>> 16); // the table uses the low bits
  }

  @SuppressWarnings("unchecked")
  private static <M> Entry<M>[] newSlots(int length) {
    return (Entry<M>[]) new Entry<?>[length];
  }
}
