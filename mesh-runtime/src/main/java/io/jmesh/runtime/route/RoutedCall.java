package io.jmesh.runtime.route;

import io.jmesh.runtime.Admission;
import io.jmesh.runtime.Endpoint;
import io.jmesh.runtime.OutboundCall;
import io.jmesh.runtime.OutboundRequest;
import io.jmesh.runtime.breaker.ConcurrencyLimit;
import io.jmesh.runtime.breaker.LocalRateLimit;
import io.jmesh.runtime.config.RoutePolicy;
import io.jmesh.runtime.deadline.Deadline;
import io.jmesh.runtime.deadline.DeadlineExceededException;
import io.jmesh.runtime.deadline.DeadlineHeader;
import io.jmesh.runtime.retry.AttemptOutcome;
import io.jmesh.runtime.retry.RequestFacts;
import io.jmesh.runtime.retry.RetryPolicy;
import io.jmesh.runtime.telemetry.MeshTap;
import io.jmesh.runtime.time.Ticker;
import java.time.Duration;

/**
 * A call whose route and backend are chosen; it applies the route's policy to the attempts an
 * adapter sends. Each attempt asks the backend's balancer for an endpoint, skipping ejected ones
 * and the endpoint of the previous attempt, so that a retry goes elsewhere when it can. Driven by
 * one adapter at a time, as {@link OutboundCall} states; fields need no synchronization because
 * the adapter's hand-over between threads (a future's completion) orders them.
 */
final class RoutedCall implements OutboundCall {
  // How often to pick again when the chosen endpoint's probe was claimed by another request.
  private static final int PICKS = 3;

  // Few fields, each needed: this object is the one allocation of a call (issue 20). The route,
  // balancer and subset come through the backend; the ticker, random source and mirror sender
  // through the destination.
  private final DestinationState state;
  private final OutboundRequest request;
  private final CompiledRoute.Backend backend;
  private Endpoint previous;
  private int attempts; // reported
  private int picks; // endpoints handed out: never more than the route's attempts
  private RequestFacts facts;
  private Deadline deadline;
  private ConcurrencyLimit.Slot slot; // held from admit() to finish(), when the destination caps calls
  // For the one metrics update at finish(): what the application was told, as far as we know.
  private final long startNanos;
  // A short and a byte: with them this object takes 64 bytes (compressed oops), not 72.
  private short status; // 0: no response; an HTTP status is at most 599
  private String errorType; // null: success
  private byte grpcStatus = -1; // -1: no gRPC call (or not known to be one); else 0..16
  private boolean finished;

  RoutedCall(DestinationState state, OutboundRequest request, CompiledRoute.Backend backend) {
    this.state = state;
    this.request = request;
    this.backend = backend;
    this.startNanos = state.ticker.nanoTime();
    this.errorType = MeshMetricsErrors.NOT_FINISHED;
    state.meters.callStarted();
  }

  private CompiledRoute route() {
    return backend.route;
  }

  @Override
  public String destination() {
    return state.name;
  }

  @Override
  public String authority() {
    // Not kept: many adapters never ask, and the usual answers are found without building one.
    int port = request.port();
    String rewritten = route().filters.rewrite().hostname();
    String host = rewritten != null ? rewritten : request.host();
    if (port == OutboundRequest.effectivePort(request.scheme(), -1)) {
      return host;
    }
    return rewritten != null ? host + ":" + port : state.authority(host, port);
  }

  @Override
  public io.jmesh.runtime.config.RouteFilters filters() {
    return route().filters;
  }

  @Override
  public String rewrittenPath() {
    io.jmesh.runtime.config.UrlRewrite rewrite = route().filters.rewrite();
    if (rewrite.pathType() == null) {
      return null;
    }
    String prefix =
        rewrite.pathType() == io.jmesh.runtime.config.UrlRewrite.PathType.PREFIX ? route().matchedPrefix(request) : "/";
    return rewrite.rewritePath(request.path(), prefix);
  }

  @Override
  public boolean mirrors() {
    return route().mirror != null && state.mirrors != null;
  }

  @Override
  public void mirror(io.jmesh.runtime.RequestCopy copy) {
    MirrorTarget target = route().mirror;
    if (target == null || state.mirrors == null) {
      return;
    }
    try {
      // Sampled per request, as Envoy's runtime_fraction: 12.5 copies about one in eight.
      if (target.percent < 100 && state.random.nextDouble() * 100 >= target.percent) {
        return;
      }
      if (copy == null) {
        target.count(io.jmesh.runtime.mirror.MirrorSender.SKIPPED); // the client hands over no copy
        return;
      }
      state.mirrors.send(target, authority(), copy);
    } catch (RuntimeException e) {
      // A copy never affects the original call: the sender counts what it could not send.
      target.count(io.jmesh.runtime.mirror.MirrorSender.FAILED);
    }
  }

  @Override
  public String routeName() {
    return route().name;
  }

  @Override
  public Admission admit(boolean bodyReplayable, long bodyLength) {
    if (facts != null) {
      throw new IllegalStateException(state.name + ": admit() called twice for one call");
    }
    facts = RequestFacts.of(request.method(), bodyReplayable, Math.max(-1, bodyLength));
    state.budget.deposit();
    deadline = startDeadline();
    if (deadline != null && deadline.isExpired(state.ticker.nanoTime())) {
      return refused(Admission.refuse(
          Admission.Refusal.DEADLINE_EXCEEDED, 504, deadlineMessage()));
    }
    LocalRateLimit rateLimit = state.rateLimit;
    if (rateLimit != null && !rateLimit.tryAcquire()) {
      return refused(Admission.refuse(
          Admission.Refusal.RATE_LIMITED,
          429,
          "jmesh: " + state.name + ": local rate limit of " + rateLimit.requestsPerSecond()
              + " requests/s (burst " + rateLimit.burst() + ") exceeded"));
    }
    RoutePolicy.Fault fault = route().policy.fault();
    long delayNanos = 0;
    if (!fault.isNone()) {
      if (fault.abortPercent() > 0 && state.random.nextDouble() * 100 < fault.abortPercent()) {
        return refused(Admission.refuse(
            Admission.Refusal.FAULT_ABORT,
            fault.abortStatus(),
            "jmesh: fault injected by route " + route().name + " of " + state.name + ": abort with "
                + fault.abortStatus() + " for " + fault.abortPercent() + " % of requests"));
      }
      if (fault.delayPercent() > 0 && state.random.nextDouble() * 100 < fault.delayPercent()) {
        delayNanos = fault.delay().toNanos();
      }
    }
    ConcurrencyLimit limit = state.limit;
    if (limit != null) {
      ConcurrencyLimit.Slot acquired = limit.acquire();
      if (acquired.isCompletedExceptionally()) {
        return refused(Admission.refuse(
            Admission.Refusal.OVERLOADED,
            503,
            "jmesh: " + state.name + ": overloaded: " + limit.maxInFlight()
                + " requests in flight and " + limit.maxPending()
                + " waiting (expected: at most maxInFlight + maxPending); failing fast"));
      }
      slot = acquired;
    }
    return Admission.proceed(delayNanos, slot);
  }

  private Admission refused(Admission refusal) {
    status = (short) refusal.status();
    errorType = MeshMetricsErrors.of(refusal.refusal());
    return refusal;
  }

  @Override
  public void refused(String type) {
    status = 0;
    errorType = type;
  }

  @Override
  public void grpcStatus(int code) {
    if (code >= 0 && code <= 16) {
      grpcStatus = (byte) code;
    }
  }

  /** The earlier of the route's timeout and a deadline the request already carries. */
  private Deadline startDeadline() {
    Deadline d = route().timeoutNanos < 0 ? null : Deadline.after(Duration.ofNanos(route().timeoutNanos), state.ticker);
    String carried = request.header(DeadlineHeader.NAME);
    if (carried != null) {
      try {
        Deadline inbound = DeadlineHeader.parse(carried, state.ticker);
        d = d == null ? inbound : d.earliest(inbound);
      } catch (IllegalArgumentException e) {
        // A malformed header from the application is its own business: forward it unchanged.
      }
    }
    return d;
  }

  @Override
  public Endpoint nextEndpoint() {
    if (picks >= route().retry.maxAttempts()) {
      // Attempts are bounded here, by construction: whatever mix of connect failures, re-picks
      // and retries an adapter reports, the call gets no more endpoints than the route allows.
      status = 0;
      errorType = errorType == MeshMetricsErrors.NOT_FINISHED ? MeshMetricsErrors.NO_ENDPOINT : errorType;
      return null;
    }
    Endpoint endpoint = pick();
    if (endpoint != null) {
      picks++;
    }
    return endpoint;
  }

  private Endpoint pick() {
    Endpoint avoid = previous;
    // An ejected endpoint whose penalty is over gets one probe, whatever the balancer prefers.
    Endpoint probe = state.health.claimDueProbe(backend.members);
    if (probe != null) {
      previous = probe;
      backend.balancer.attemptStarted(probe);
      return probe;
    }
    for (int i = 0; i < PICKS; i++) {
      Endpoint endpoint = backend.balancer.picker().pick(avoid);
      if (endpoint == null) {
        status = 0;
        errorType = MeshMetricsErrors.NO_ENDPOINT;
        return null;
      }
      // An endpoint due for a probe admits one request; the others pick again.
      if (state.health.tryAdmit(endpoint) || i == PICKS - 1) {
        previous = endpoint;
        backend.balancer.attemptStarted(endpoint);
        return endpoint;
      }
      avoid = endpoint;
    }
    throw new AssertionError("unreachable");
  }

  @Override
  public String noEndpointMessage() {
    if (picks >= route().retry.maxAttempts()) {
      return "jmesh: " + state.name + ": all " + picks + " attempts of route " + route().name
          + " were used (expected: at most retry.attempts = " + route().retry.maxAttempts() + " per call)";
    }
    return "jmesh: no endpoint available for " + state.name + ":" + request.port() + " (route "
        + route().name + "); check the mesh config's endpoints and the route's backends";
  }

  @Override
  public long attemptTimeoutNanos() {
    long perTry = route().retry.perTryTimeout() == null ? -1 : route().retry.perTryTimeout().toNanos();
    if (deadline == null) {
      return perTry;
    }
    long left = Math.max(0, deadline.remainingNanos(state.ticker.nanoTime()));
    return perTry < 0 ? left : Math.min(perTry, left);
  }

  @Override
  public long deadlineRemainingNanos() {
    return deadline == null ? -1 : Math.max(0, deadline.remainingNanos(state.ticker.nanoTime()));
  }

  @Override
  public int maxAttempts() {
    return route().retry.maxAttempts();
  }

  @Override
  public Ticker ticker() {
    return state.ticker;
  }

  @Override
  public String deadlineHeaderValue() {
    return deadline == null ? null : DeadlineHeader.format(deadline);
  }

  @Override
  public RetryPolicy.Decision attemptFinished(
      Endpoint endpoint, AttemptOutcome outcome, long durationNanos) {
    // For balancing and breaking, a 4xx is the caller's problem and the endpoint did its job.
    boolean healthy =
        outcome.isSuccess()
            || (outcome.kind() == AttemptOutcome.Kind.HTTP_STATUS && outcome.statusCode() < 500);
    state.health.onResult(endpoint, healthy);
    backend.balancer.attemptFinished(endpoint, healthy, durationNanos);
    attempts++;
    status = (short) outcome.statusCode();
    errorType = MeshMetricsErrors.of(outcome);
    if (outcome.grpcStatus() >= 0) {
      grpcStatus = (byte) outcome.grpcStatus();
    }
    if (outcome.isSuccess()) {
      return RetryPolicy.Decision.stop(RetryPolicy.StopReason.SUCCEEDED); // no clock read needed
    }
    if (facts == null) {
      // Not admitted: the adapter cannot retry, so the policy has nothing to decide.
      return RetryPolicy.Decision.stop(
          healthy ? RetryPolicy.StopReason.SUCCEEDED : RetryPolicy.StopReason.NOT_RETRYABLE_OUTCOME);
    }
    RetryPolicy.Decision d =
        route().retry.decide(outcome, attempts, facts, state.ticker.nanoTime(), deadline, state.budget);
    if (d.stopReason() == RetryPolicy.StopReason.BUDGET_EXHAUSTED) {
      state.meters.budgetExhausted(route().name);
    }
    return d;
  }

  @Override
  public boolean deadlineExpired() {
    return deadline != null && deadline.isExpired(state.ticker.nanoTime());
  }

  @Override
  public String deadlineMessage() {
    if (deadline == null) {
      return "jmesh: " + state.name + ": no deadline";
    }
    return "jmesh: " + DeadlineExceededException.message(state.name, deadline)
        + " (route " + route().name + ")";
  }

  @Override
  public void finish() {
    if (!finished) {
      finished = true;
      long durationNanos = state.ticker.nanoTime() - startNanos;
      state.meters.callFinished(
          route().name,
          request.method(),
          Router.normalize(request.host()),
          status,
          errorType,
          durationNanos,
          attempts);
      if (grpcStatus >= 0) {
        state.meters.rpcFinished(route().name, request.path(), Router.normalize(request.host()), grpcStatus, durationNanos);
      }
      MeshTap tap = state.meters.tap();
      if (tap.active()) {
        tap(tap, durationNanos);
      }
    }
    ConcurrencyLimit.Slot held = slot;
    if (held != null) {
      slot = null;
      held.close();
    }
  }

  /** Publishes this call to the taps; only while someone taps, so it may allocate. */
  private void tap(MeshTap tap, long durationNanos) {
    Endpoint last = previous;
    tap.publish(
        new MeshTap.Event(
            tap.nowMillis(),
            MeshTap.Direction.OUTBOUND,
            state.meters.source(),
            state.name,
            request.method(),
            authority(),
            request.path(),
            status,
            errorType,
            durationNanos,
            last == null ? null : hostPort(last),
            route().name,
            null,
            attempts));
  }

  private static String hostPort(Endpoint endpoint) {
    String host = endpoint.host();
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + endpoint.port();
  }

  @Override
  public String toString() {
    return "OutboundCall{" + state.name + " route=" + route().name + " balancer=" + backend.balancer + "}";
  }
}
