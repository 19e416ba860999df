package io.jmesh.runtime.sim;

import io.jmesh.runtime.Endpoint;
import io.jmesh.runtime.balance.EndpointFilter;
import io.jmesh.runtime.balance.LoadBalancer;
import io.jmesh.runtime.breaker.EndpointHealth;
import io.jmesh.runtime.config.ServiceEndpoint;
import io.jmesh.runtime.retry.AttemptOutcome;
import io.jmesh.runtime.retry.Backoff;
import io.jmesh.runtime.retry.RequestFacts;
import io.jmesh.runtime.retry.RetryBudget;
import io.jmesh.runtime.retry.RetryPolicy;
import io.jmesh.runtime.time.FakeTicker;
import io.jmesh.runtime.time.Ticker;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;

/**
 * One discrete-event run: a scenario's modelled endpoints behind the runtime's real balancer,
 * circuit breaker ({@link EndpointHealth}) and retry policy and budget, driven by open-loop
 * Poisson arrivals of idempotent GETs. Single-threaded; time is a {@link FakeTicker} moved to
 * each event as it is taken from the queue, so the runtime code sees exactly the simulated time.
 *
 * <p>The call path follows the runtime's contracts: pick with the previous attempt's endpoint to
 * avoid, {@link EndpointHealth#tryAdmit} on the choice, {@link LoadBalancer#attemptStarted} before
 * and {@link LoadBalancer#attemptFinished} plus {@link EndpointHealth#onResult} after each
 * attempt, then {@link RetryPolicy#decide}; one budget deposit per original request. There is no
 * per-try timeout and no deadline, so a slow endpoint costs latency, never a failure.
 */
final class Simulation {
  private static final RequestFacts GET = RequestFacts.noBody("GET");
  private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

  private final Scenario scenario;
  private final BalancerKind kind;
  private final long durationNanos;
  private final long warmUpNanos;
  private final double meanInterArrivalNanos;
  private final double latencySigma;

  private final FakeTicker ticker = new FakeTicker();
  private final long origin = ticker.nanoTime();
  private final PriorityQueue<Event> events = new PriorityQueue<>();
  private long sequence;

  // One stream per concern, split from the seed in a fixed order: the arrivals and each
  // endpoint's answers are then the same for every balancer (common random numbers), so the
  // balancers are compared on the same traffic rather than on different luck.
  private final RandomGenerator arrivals;
  private final RandomGenerator[] answers;

  private final List<Endpoint> endpoints = new ArrayList<>();
  private final EndpointHealth health;
  private final LoadBalancer balancer;
  private final RetryBudget budget;
  private final RetryPolicy policy;

  private final long[] attempts;
  private long calls;
  private long successes;
  private long[] latencies = new long[1024];
  private long requests;
  private long retries;
  private long lastRetryNanos = -1;

  private Simulation(Scenario scenario, BalancerKind kind, Settings settings) {
    this.scenario = scenario;
    this.kind = kind;
    this.durationNanos = settings.duration().toNanos();
    this.warmUpNanos = settings.warmUp().toNanos();
    this.meanInterArrivalNanos = (double) SECOND / settings.requestsPerSecond();
    this.latencySigma = settings.latencySigma();

    SplittableRandom root = new SplittableRandom(settings.seed());
    this.arrivals = root.split();
    RandomGenerator balancerRandom = root.split();
    RandomGenerator breakerRandom = root.split();
    RandomGenerator backoffRandom = root.split();
    int n = scenario.endpoints().size();
    this.answers = new RandomGenerator[n];
    for (int i = 0; i < n; i++) {
      answers[i] = root.split();
      endpoints.add(ServiceEndpoint.of("10.0.0." + (i + 1), 8080));
    }
    this.attempts = new long[n];

    // The runtime's defaults throughout. The only departure: jitter draws from seeded streams
    // instead of thread-local randomness, so that a run can be repeated exactly.
    this.health =
        new EndpointHealth("sim.default", EndpointHealth.Options.defaults(), ticker, breakerRandom);
    this.health.updateEndpoints(endpoints);
    this.balancer = kind.factory().newLoadBalancer(new Helper(ticker, balancerRandom, health));
    this.balancer.updateEndpoints(endpoints);
    this.budget = RetryBudget.create(ticker);
    this.policy =
        RetryPolicy.builder()
            .backoff(
                Backoff.exponential(
                    Backoff.DEFAULT_BASE, Backoff.DEFAULT_MAX, Backoff.DEFAULT_JITTER,
                    backoffRandom))
            .build();
  }

  /** Runs {@code kind} against {@code scenario} until every call has ended. */
  static SimulationResult run(Scenario scenario, BalancerKind kind, Settings settings) {
    return new Simulation(scenario, kind, settings).run();
  }

  private SimulationResult run() {
    schedule(origin + interArrival(), this::arrive);
    while (!events.isEmpty()) {
      Event e = events.poll();
      ticker.advance(e.atNanos - ticker.nanoTime(), TimeUnit.NANOSECONDS);
      e.action.run();
    }
    long[] sorted = Arrays.copyOf(latencies, (int) calls);
    Arrays.sort(sorted);
    long lastRetrySecond = lastRetryNanos < 0 ? 0 : (lastRetryNanos - origin) / SECOND + 1;
    long budgetSeconds = Math.max((durationNanos + SECOND - 1) / SECOND, lastRetrySecond);
    return new SimulationResult(
        scenario.name(), kind.label(), attempts, calls, successes,
        percentile(sorted, 0.50), percentile(sorted, 0.99), requests, retries, budgetSeconds);
  }

  private void arrive() {
    long now = ticker.nanoTime();
    if (now - origin >= durationNanos) {
      return; // The arrival period is over; the calls in flight drain.
    }
    requests++;
    budget.deposit();
    send(new Call(now, now - origin >= warmUpNanos), null);
    schedule(now + interArrival(), this::arrive);
  }

  private long interArrival() {
    // Exponential gaps: a Poisson process, the usual model of many independent callers.
    return Math.max(1, Math.round(-meanInterArrivalNanos * Math.log(1 - arrivals.nextDouble())));
  }

  private void send(Call call, Endpoint avoid) {
    Endpoint endpoint = choose(avoid);
    int index = endpoints.indexOf(endpoint);
    long sentAt = ticker.nanoTime();
    call.attempts++;
    if (call.measured) {
      attempts[index]++;
    }
    balancer.attemptStarted(endpoint);
    EndpointModel.Answer answer =
        scenario.endpoints().get(index).answer(sentAt - origin, answers[index], latencySigma);
    schedule(sentAt + answer.latencyNanos(), () -> finished(call, endpoint, answer));
  }

  /** A picked endpoint that the breaker admits, as the runtime's RoutedCall chooses. */
  private Endpoint choose(Endpoint avoid) {
    // An ejected endpoint whose penalty is over gets its one probe first.
    Endpoint probe = health.claimDueProbe(e -> true);
    if (probe != null) {
      return probe;
    }
    Endpoint avoidNow = avoid;
    Endpoint picked = null;
    for (int i = 0; i < endpoints.size(); i++) {
      picked = balancer.picker().pick(avoidNow);
      if (health.tryAdmit(picked)) {
        return picked;
      }
      // Another call holds this endpoint's probe; the filter now rejects it, so pick again.
      avoidNow = picked;
    }
    // Nothing admits: the picker is in panic mode, whose rule is to send anyway.
    return picked;
  }

  private void finished(Call call, Endpoint endpoint, EndpointModel.Answer answer) {
    long now = ticker.nanoTime();
    boolean ok = answer.isSuccess();
    balancer.attemptFinished(endpoint, ok, answer.latencyNanos());
    health.onResult(endpoint, ok);
    AttemptOutcome outcome = ok ? AttemptOutcome.success() : AttemptOutcome.status(answer.status());
    RetryPolicy.Decision decision = policy.decide(outcome, call.attempts, GET, now, null, budget);
    if (decision.isRetry()) {
      retries++;
      lastRetryNanos = now;
      schedule(now + decision.delayNanos(), () -> send(call, endpoint));
      return;
    }
    if (call.measured) {
      if (calls == latencies.length) {
        latencies = Arrays.copyOf(latencies, latencies.length * 2);
      }
      latencies[(int) calls++] = now - call.arrivedAt;
      if (ok) {
        successes++;
      }
    }
  }

  private void schedule(long atNanos, Runnable action) {
    events.add(new Event(atNanos, sequence++, action));
  }

  /** Nearest rank: the smallest value with at least {@code p} of the values at or below it. */
  static long percentile(long[] sorted, double p) {
    if (sorted.length == 0) {
      return 0;
    }
    int rank = (int) Math.ceil(p * sorted.length);
    return sorted[Math.max(0, rank - 1)];
  }

  /** One call: when it arrived, how many attempts it made, and whether it counts. */
  private static final class Call {
    final long arrivedAt;
    final boolean measured;
    int attempts;

    Call(long arrivedAt, boolean measured) {
      this.arrivedAt = arrivedAt;
      this.measured = measured;
    }
  }

  /** Ordered by time, then by scheduling order, so that ties resolve the same way every run. */
  private record Event(long atNanos, long seq, Runnable action) implements Comparable<Event> {
    @Override
    public int compareTo(Event o) {
      int byTime = Long.compare(atNanos, o.atNanos);
      return byTime != 0 ? byTime : Long.compare(seq, o.seq);
    }
  }

  /** The balancer's view of the runtime: seeded randomness, fake time, the breaker as filter. */
  private record Helper(Ticker ticker, RandomGenerator random, EndpointHealth health)
      implements LoadBalancer.Helper {
    @Override
    public String name() {
      return "sim.default";
    }

    @Override
    public EndpointFilter filter() {
      return health::isAvailable;
    }
  }
}
