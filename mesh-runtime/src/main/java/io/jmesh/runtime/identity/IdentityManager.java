package io.jmesh.runtime.identity;

import io.jmesh.runtime.RuntimeLog;
import io.jmesh.runtime.retry.Backoff;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.lang.System.Logger.Level;

/**
 * Obtains this workload's certificate from the CA and keeps it fresh: a new key and CSR at start,
 * again two thirds into each leaf's life, and on failure again after a jittered exponential
 * backoff while the current certificate (if any) stays in use. Handshakes read {@link #current()}
 * each time, so a renewal changes no connection that is open and fails none that is starting.
 *
 * <p>Threading: all state changes run on the given scheduler, one task at a time; {@link
 * #current()} may be read from any thread.
 */
public final class IdentityManager implements AutoCloseable {
  /** What a workload asks for when nothing says otherwise: a day, like Istio and Linkerd. */
  public static final Duration DEFAULT_LIFETIME = Duration.ofHours(24);

  private final SpiffeId id;
  private final CertificateClient ca;
  private final ScheduledExecutorService scheduler;
  private final Clock clock;
  private final Backoff backoff;
  private final Duration lifetime;
  private final CountDownLatch first = new CountDownLatch(1);
  private final List<Consumer<WorkloadCertificate>> listeners = new CopyOnWriteArrayList<>();

  private volatile WorkloadCertificate current;
  private volatile String lastError;
  private volatile ScheduledFuture<?> next;
  private volatile boolean closed;
  private int failures; // only on the scheduler

  /**
   * @param backoff the wait between failed requests (for example 1 s doubling to 60 s, jitter 0.5)
   * @param lifetime the lifetime asked of the CA
   */
  public IdentityManager(
      SpiffeId id,
      CertificateClient ca,
      ScheduledExecutorService scheduler,
      Clock clock,
      Backoff backoff,
      Duration lifetime) {
    this.id = Objects.requireNonNull(id, "id");
    this.ca = Objects.requireNonNull(ca, "ca");
    this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.backoff = Objects.requireNonNull(backoff, "backoff");
    if (lifetime.isNegative() || lifetime.isZero()) {
      throw new IllegalArgumentException("lifetime: " + lifetime + " (expected: > 0)");
    }
    this.lifetime = lifetime;
  }

  /** Sends the first request; returns at once. */
  public void start() {
    scheduler.execute(this::request);
  }

  public SpiffeId id() {
    return id;
  }

  /**
   * The certificate in force, or null while there is none that is valid now (none yet, or the last
   * one expired while the CA could not be reached): mesh handshakes then fail closed.
   */
  public WorkloadCertificate current() {
    WorkloadCertificate c = current;
    return c != null && clock.instant().isBefore(c.notAfter()) ? c : null;
  }

  /** Why the last request failed, or null after a success. */
  public String lastError() {
    return lastError;
  }

  /** Waits until the first certificate arrives. */
  public boolean awaitFirst(Duration timeout) throws InterruptedException {
    return first.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  /** Called on the scheduler with every new certificate. */
  public void onCertificate(Consumer<WorkloadCertificate> listener) {
    listeners.add(listener);
  }

  private void request() {
    if (closed) {
      return;
    }
    KeyPair keys = Csr.newKeyPair(); // a new key for every certificate
    String csr = Csr.pem(keys, id);
    ca.create(csr, lifetime)
        .whenComplete(
            (pems, error) ->
                scheduler.execute(() -> {
                  if (error != null) {
                    failed(error.getMessage());
                    return;
                  }
                  try {
                    installed(WorkloadCertificate.fromCaAnswer(keys, pems, id, clock.instant()));
                  } catch (Exception e) {
                    failed(e.getMessage());
                  }
                }));
  }

  private void installed(WorkloadCertificate certificate) {
    if (closed) {
      return;
    }
    boolean renewal = current != null;
    current = certificate;
    lastError = null;
    failures = 0;
    Instant now = clock.instant();
    Instant renewAt = renewAt(certificate, now);
    schedule(Duration.between(now, renewAt));
    RuntimeLog.log(
        Level.INFO,
        (renewal ? "identity renewed: " : "identity: ") + certificate + "; renewal at " + renewAt);
    first.countDown();
    for (Consumer<WorkloadCertificate> l : listeners) {
      try {
        l.accept(certificate);
      } catch (RuntimeException e) {
        RuntimeLog.log(Level.WARNING, "identity listener failed: " + e);
      }
    }
  }

  /**
   * Two thirds into the leaf's life, but never sooner than half of what was left of it on arrival.
   * CAs backdate a leaf's start against clock skew (the controller by a minute), so a leaf much
   * shorter than that is already past its two-thirds point when it arrives: renewing at once
   * would ask the CA again in a loop, each answer as short as the last.
   */
  static Instant renewAt(WorkloadCertificate certificate, Instant now) {
    Instant twoThirds = certificate.renewAt();
    Instant halfOfWhatIsLeft = now.plus(Duration.between(now, certificate.notAfter()).dividedBy(2));
    return twoThirds.isBefore(halfOfWhatIsLeft) ? halfOfWhatIsLeft : twoThirds;
  }

  private void failed(String reason) {
    if (closed) {
      return;
    }
    failures++;
    lastError = reason;
    Duration wait = backoff.delay(failures);
    WorkloadCertificate c = current();
    RuntimeLog.log(
        Level.WARNING,
        "identity " + id + ": certificate request to " + ca.target() + " failed (attempt " + failures
            + "): " + reason + "; next try in " + wait.toMillis() + " ms; "
            + (c == null
                ? "no valid certificate: mesh TLS connections are refused until one arrives"
                : "the current certificate stays in use until " + c.notAfter()));
    schedule(wait);
  }

  private void schedule(Duration delay) {
    long nanos = Math.max(0, delay.toNanos());
    if (closed) {
      return;
    }
    next = scheduler.schedule(this::request, nanos, TimeUnit.NANOSECONDS);
  }

  /** Stops renewing; the current certificate stays readable. Idempotent. */
  @Override
  public void close() {
    closed = true;
    ScheduledFuture<?> n = next;
    if (n != null) {
      n.cancel(false);
    }
  }
}
