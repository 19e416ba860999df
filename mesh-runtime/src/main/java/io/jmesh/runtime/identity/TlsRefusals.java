package io.jmesh.runtime.identity;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counts of refused mesh handshakes, by reason. One instance per runtime, shared by every TLS
 * context it builds; read by the metrics and the admin surface. Thread-safe.
 */
public final class TlsRefusals {
  /** Why a peer was refused. */
  public enum Reason {
    /** The peer's chain does not lead to a trust anchor of this mesh (another CA, self-signed). */
    UNTRUSTED_CHAIN,
    /** A certificate of the peer's chain is expired or not yet valid. */
    EXPIRED,
    /** The peer's leaf carries no SPIFFE identity of this trust domain, or more than one. */
    NO_IDENTITY,
    /** The peer proved an identity, but not one expected of that destination. */
    WRONG_IDENTITY,
    /** This workload has no valid certificate of its own yet (fails closed). */
    NO_LOCAL_IDENTITY,
    /** A plaintext connection reached a port that requires mesh TLS. */
    PLAINTEXT,
    /** The TLS handshake failed for another reason (protocol, no client certificate, reset). */
    HANDSHAKE
  }

  private final Map<Reason, LongAdder> counts = new EnumMap<>(Reason.class);

  public TlsRefusals() {
    for (Reason r : Reason.values()) {
      counts.put(r, new LongAdder());
    }
  }

  public void record(Reason reason) {
    counts.get(reason).increment();
  }

  public long count(Reason reason) {
    return counts.get(reason).sum();
  }

  public long total() {
    long sum = 0;
    for (LongAdder a : counts.values()) {
      sum += a.sum();
    }
    return sum;
  }
}
