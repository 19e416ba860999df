package io.jmesh.runtime;

import java.util.concurrent.CompletableFuture;

/**
 * Whether a routed call may send its first attempt, and when: the answer of {@link
 * OutboundCall#admit}. Immutable.
 *
 * <p>An adapter handles it in this order: a {@linkplain #isRefused() refusal} answers the
 * application at once with {@link #status()} (or, where the client cannot be given a response,
 * fails the call with {@link #reason()}); otherwise it waits {@link #delayNanos()} (an injected
 * delay), then for {@link #slot()} when it is not done (a place in the destination's pending
 * queue), then sends the first attempt.
 */
public final class Admission {
  private static final Admission PROCEED = new Admission(0, 0, null, null, null);

  /** What refused the call; its {@link #header()} value. */
  public enum Refusal {
    /** The route's fault injection aborted the request on purpose. */
    FAULT_ABORT("fault-abort"),
    /** The destination's local rate limit is exhausted (Envoy answers 429). */
    RATE_LIMITED("rate-limited"),
    /** The destination's cap on requests in flight and pending is reached (Envoy: 503). */
    OVERLOADED("overloaded"),
    /** The call's deadline had already expired. */
    DEADLINE_EXCEEDED("deadline-exceeded");

    private final String header;

    Refusal(String header) {
      this.header = header;
    }

    /** The value of the {@code x-jmesh-refused} header on a synthesized response. */
    public String header() {
      return header;
    }
  }

  /** The header a synthesized refusal response carries, naming the {@link Refusal}. */
  public static final String REFUSED_HEADER = "x-jmesh-refused";

  private final long delayNanos;
  private final int status;
  private final Refusal refusal;
  private final String reason;
  private final CompletableFuture<Void> slot;

  private Admission(
      long delayNanos, int status, Refusal refusal, String reason, CompletableFuture<Void> slot) {
    this.delayNanos = delayNanos;
    this.status = status;
    this.refusal = refusal;
    this.reason = reason;
    this.slot = slot;
  }

  /** Proceed after {@code delayNanos} and once {@code slot} (may be {@code null}) completes. */
  public static Admission proceed(long delayNanos, CompletableFuture<Void> slot) {
    return delayNanos == 0 && (slot == null || slot.isDone() && !slot.isCompletedExceptionally())
        ? PROCEED
        : new Admission(delayNanos, 0, null, null, slot);
  }

  /** A refusal to answer with {@code status}, because of {@code reason}. */
  public static Admission refuse(Refusal refusal, int status, String reason) {
    return new Admission(0, status, refusal, reason, null);
  }

  public boolean isRefused() {
    return refusal != null;
  }

  /** What refused the call, or {@code null}. */
  public Refusal refusal() {
    return refusal;
  }

  /** The HTTP status to answer a refused call with; 0 when admitted. */
  public int status() {
    return status;
  }

  /** One line for the response body or exception message; {@code null} when admitted. */
  public String reason() {
    return reason;
  }

  /** How long to wait before the first attempt (an injected delay); 0 for none. */
  public long delayNanos() {
    return delayNanos;
  }

  /**
   * Completes when the call holds a place among the destination's requests in flight; fails with
   * a {@link java.util.concurrent.RejectedExecutionException} when the call waited and the queue
   * gave up on it. {@code null} when there is nothing to wait for.
   */
  public CompletableFuture<Void> slot() {
    return slot;
  }

  @Override
  public String toString() {
    if (isRefused()) {
      return "Admission{refused " + refusal.header() + " " + status + ": " + reason + "}";
    }
    return "Admission{proceed, delay=" + delayNanos + "ns" + (slot == null ? "" : ", " + slot) + "}";
  }
}
