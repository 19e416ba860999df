package io.jmesh.runtime.call;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmesh.runtime.Admission;
import io.jmesh.runtime.Endpoint;
import io.jmesh.runtime.MeshRuntime;
import io.jmesh.runtime.NoEndpointException;
import io.jmesh.runtime.OutboundCall;
import io.jmesh.runtime.OutboundRequest;
import io.jmesh.runtime.config.MeshConfigParser;
import io.jmesh.runtime.deadline.DeadlineExceededException;
import io.jmesh.runtime.retry.AttemptOutcome;
import io.jmesh.runtime.time.FakeTicker;
import java.net.ConnectException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Each rule of the call path, once, as every adapter now meets it through {@link CallDriver}: the
 * real router, balancer, breaker, budget and limits, a fake ticker, a manual timer, no sleeping.
 */
class CallDriverTest {
  private final FakeTicker ticker = new FakeTicker();
  private final ManualTimer timer = new ManualTimer(ticker);
  private final SplittableRandom seeded = new SplittableRandom(7);

  private MeshRuntime runtime(String policy, String route) throws Exception {
    String yaml =
        String.join(
            "\n",
            "services:",
            "  - name: hello",
            "    ports: [8080]",
            "    endpoints:",
            "      - {address: 10.0.0.1, port: 80}",
            "      - {address: 10.0.0.2, port: 80}",
            "      - {address: 10.0.0.3, port: 80}",
            policy.isEmpty() ? "" : "    policy: " + policy,
            "    routes:",
            "      - name: api",
            "        backends: [{subset: {}, weight: 1}]",
            route.isEmpty() ? "" : "        " + route,
            "");
    return MeshRuntime.builder()
        .snapshot(MeshConfigParser.parse("t.yaml", yaml, "default"))
        .ticker(ticker)
        .random(() -> seeded.nextLong())
        .build();
  }

  private static OutboundCall call(MeshRuntime runtime, String method) {
    return runtime.route(OutboundRequest.of("http", "hello", 8080, method, "/", null));
  }

  /** Records what the driver asked of the adapter and how the call ended. */
  private static class Recorder implements CallDriver.Sender<String>, CallDriver.Listener<String> {
    final List<CallDriver.Attempt<String>> attempts = new ArrayList<>();
    final List<String> discarded = new ArrayList<>();
    String response;
    Admission refusal;
    Throwable error;
    int ends;

    @Override
    public void send(CallDriver.Attempt<String> attempt) {
      attempts.add(attempt); // the test answers for the endpoint
    }

    @Override
    public void discard(String r) {
      discarded.add(r);
    }

    @Override
    public void onResponse(String r) {
      response = r;
      ends++;
    }

    @Override
    public void onRefused(Admission a) {
      refusal = a;
      ends++;
    }

    @Override
    public void onFailed(Throwable t) {
      error = t;
      ends++;
    }

    CallDriver.Attempt<String> last() {
      return attempts.get(attempts.size() - 1);
    }
  }

  /** A call in steps, as a client that cannot resend its body drives it. */
  private static BlockingCall<String> steps(MeshRuntime runtime, String method) {
    return BlockingCall.stepwise(call(runtime, method), false, -1, CallDriver.Observer.NONE, refusal -> "refused");
  }

  private CallDriver<String> start(OutboundCall call, Recorder r) {
    return CallDriver.start(call, true, 0, r, r, timer, CallDriver.Observer.NONE);
  }

  @Test
  void aDeadlineThatHasExpiredAtAdmissionRefusesTheCallWithoutAnAttempt() throws Exception {
    MeshRuntime runtime = runtime("", "timeout: 1s");
    Recorder r = new Recorder();

    start(runtime.route(OutboundRequest.of("http", "hello", 8080, "GET", "/", name -> name.equals("x-jmesh-deadline-ms") ? "0" : null)), r);

    assertThat(r.attempts).isEmpty();
    assertThat(r.refusal.refusal()).isEqualTo(Admission.Refusal.DEADLINE_EXCEEDED);
    assertThat(r.refusal.status()).isEqualTo(504);
  }

  @Test
  void aDeadlineSpentWaitingForASlotFailsFastInsteadOfWaitingWithoutBound() throws Exception {
    // OkHttp's copy read an expired deadline (0 left) as "no timeout" and waited for the slot
    // forever; the one rule: an expired deadline fails the call at once.
    MeshRuntime runtime =
        runtime("{maxInFlight: 1, maxPending: 1}", "timeout: 1s\n        fault: {delay: {percent: 100, duration: 100ms}}");
    Recorder holder = new Recorder();
    start(call(runtime, "GET"), holder);
    timer.advance(Duration.ofMillis(100)); // the holder's own fault delay; it now holds the slot
    assertThat(holder.attempts).hasSize(1);
    Recorder waiter = new Recorder();

    // Its caller gave it 100 ms, which its fault delay spends: it reaches the queue with 0 left.
    start(runtime.route(OutboundRequest.of("http", "hello", 8080, "GET", "/", name -> name.equals("x-jmesh-deadline-ms") ? "100" : null)), waiter);
    timer.advance(Duration.ofMillis(100));

    assertThat(waiter.error).isInstanceOf(DeadlineExceededException.class);
    assertThat(waiter.error).hasMessageContaining("deadline exceeded after 100 ms (budget: 100 ms)");
    assertThat(waiter.attempts).isEmpty();
    assertThat(timer.pending()).isZero();
  }

  @Test
  void aFaultDelayIsCappedByTheDeadline() throws Exception {
    MeshRuntime runtime = runtime("", "timeout: 100ms\n        fault: {delay: {percent: 100, duration: 5s}}");
    Recorder r = new Recorder();

    start(call(runtime, "GET"), r);

    // Held back for what the deadline leaves, not the 5 s asked for, then failed: nothing sent.
    assertThat(timer.delays).containsExactly(Duration.ofMillis(100).toNanos());
    timer.advance(Duration.ofMillis(100));
    assertThat(r.attempts).isEmpty();
    assertThat(r.error).isInstanceOf(DeadlineExceededException.class);
  }

  @Test
  void aFullPendingQueueRefusesTheCallAsOverloaded() throws Exception {
    MeshRuntime runtime = runtime("{maxInFlight: 1, maxPending: 0}", "");
    Recorder holder = new Recorder();
    start(call(runtime, "GET"), holder);
    Recorder refused = new Recorder();

    start(call(runtime, "GET"), refused);

    assertThat(refused.refusal.refusal()).isEqualTo(Admission.Refusal.OVERLOADED);
    assertThat(refused.refusal.status()).isEqualTo(503);
    // The holder's end frees the place for the next call.
    holder.last().succeeded("ok", AttemptOutcome.status(200), 200);
    Recorder next = new Recorder();
    start(call(runtime, "GET"), next);
    assertThat(next.attempts).hasSize(1);
  }

  @Test
  void aRetryableAnswerIsRetriedElsewhereAfterTheBackoffAndItsBodyDiscarded() throws Exception {
    MeshRuntime runtime = runtime("", "retry: {backoff: {base: 10ms, max: 10ms}}");
    Recorder r = new Recorder();
    start(call(runtime, "GET"), r);
    Endpoint first = r.last().endpoint();

    r.last().succeeded("503 from " + first, AttemptOutcome.status(503), 503);

    // The retry waits for its backoff, on the timer, not on a sleeping thread.
    assertThat(r.attempts).hasSize(1);
    assertThat(r.discarded).containsExactly("503 from " + first);
    long backoff = timer.delays.get(timer.delays.size() - 1);
    assertThat(backoff).isBetween(0L, Duration.ofMillis(10).toNanos());
    timer.advance(Duration.ofNanos(backoff));
    assertThat(r.attempts).hasSize(2);
    assertThat(r.last().endpoint()).isNotEqualTo(first);
    r.last().succeeded("200", AttemptOutcome.status(200), 200);
    assertThat(r.response).isEqualTo("200");
    assertThat(r.ends).isEqualTo(1);
  }

  @Test
  void aPostThatReachedTheServerIsNotRetried() throws Exception {
    MeshRuntime runtime = runtime("", "");
    Recorder r = new Recorder();
    start(call(runtime, "POST"), r);

    r.last().succeeded("503", AttemptOutcome.status(503), 503);

    // The application gets the 503 it would have had: its answer, not a retry's.
    assertThat(r.attempts).hasSize(1);
    assertThat(r.response).isEqualTo("503");
    assertThat(r.discarded).isEmpty();
  }

  @Test
  void aCommittedAttemptEndsTheCallWhateverThePolicySays() throws Exception {
    MeshRuntime runtime = runtime("", "retry: {backoff: {base: 1ms, max: 1ms}}");
    Recorder r = new Recorder();
    start(call(runtime, "GET"), r);

    // The application saw part of the answer (gRPC's headers): a 503 that would be retried stands.
    r.last().commit();
    assertThat(r.last().willRetry(AttemptOutcome.status(503), 503)).isFalse();
    r.last().succeeded("503", AttemptOutcome.status(503), 503);

    assertThat(r.attempts).hasSize(1);
    assertThat(r.response).isEqualTo("503");
    assertThat(r.discarded).isEmpty();
  }

  @Test
  void theListenerHearsTheEndBeforeTheCallFinishesAndOnlyOnce() throws Exception {
    MeshRuntime runtime = runtime("", "");
    List<String> order = new ArrayList<>();
    OutboundCall call = call(runtime, "GET");
    Recorder r =
        new Recorder() {
          @Override
          public void ending(String response, Throwable error, Admission refusal) {
            // What the adapter says here is recorded by finish(): gRPC's status code.
            call.grpcStatus(0);
            order.add("ending " + response);
          }

          @Override
          public void onResponse(String response) {
            order.add("answer " + response);
            super.onResponse(response);
          }
        };
    CallDriver<String> driver = start(call, r);

    r.last().succeeded("200", AttemptOutcome.status(200), 200);
    driver.cancel(new IllegalStateException("too late"));

    assertThat(order).containsExactly("ending 200", "answer 200");
    assertThat(r.ends).isEqualTo(1);
  }

  @Test
  void attemptsNeverExceedTheRoutesMaximumWhateverTheyFailWith() throws Exception {
    MeshRuntime runtime = runtime("", "retry: {backoff: {base: 1ms, max: 1ms}}");
    Recorder r = new Recorder();
    start(call(runtime, "GET"), r);

    // Connect failures are retried for any method; the third is the last.
    for (int i = 0; i < 10 && r.ends == 0; i++) {
      r.last().failed(new ConnectException("refused " + i));
      timer.advance(Duration.ofMillis(1));
    }

    assertThat(r.attempts).hasSize(3);
    assertThat(r.error).isInstanceOf(ConnectException.class).hasMessage("refused 2");
  }

  @Test
  void anEndpointlessBackendFailsWithNoEndpoint() throws Exception {
    String yaml =
        "services:\n  - name: hello\n    ports: [8080]\n    endpoints: []\n";
    MeshRuntime runtime =
        MeshRuntime.builder().snapshot(MeshConfigParser.parse("t.yaml", yaml, "default")).ticker(ticker).build();
    Recorder r = new Recorder();

    start(call(runtime, "GET"), r);

    assertThat(r.error).isInstanceOf(NoEndpointException.class).hasMessageContaining("no endpoint available for hello.default");
  }

  @Test
  void theBlockingFacadeRunsEveryStepOnTheCallersThread() throws Exception {
    MeshRuntime runtime = runtime("", "retry: {backoff: {base: 0ms, max: 0ms}}");
    Thread caller = Thread.currentThread();
    List<Thread> senders = new ArrayList<>();

    String answer =
        BlockingCall.run(
            call(runtime, "GET"),
            true,
            0,
            a -> {
              senders.add(Thread.currentThread());
              if (senders.size() < 2) {
                a.succeeded("503", AttemptOutcome.status(503), 503);
              } else {
                a.succeeded("200", AttemptOutcome.status(200), 200);
              }
            },
            CallDriver.Observer.NONE,
            refusal -> "refused");

    assertThat(answer).isEqualTo("200");
    assertThat(senders).containsExactly(caller, caller);
  }

  @Test
  void noRetryStartsAfterTheClientHasStoppedWaiting() throws Exception {
    MeshRuntime runtime = runtime("", "retry: {backoff: {base: 2s, max: 2s}}");
    Recorder r =
        new Recorder() {
          @Override
          public long clientWaitNanos() {
            return Duration.ofSeconds(1).toNanos(); // the JDK's request timeout, say
          }
        };
    start(call(runtime, "GET"), r);

    // A retryable answer, but the backoff (over 1 s) would end after the client gave up.
    assertThat(r.last().willRetry(AttemptOutcome.status(503), 503)).isFalse();
    r.last().succeeded("503", AttemptOutcome.status(503), 503);

    assertThat(r.response).isEqualTo("503");
    assertThat(r.attempts).hasSize(1);
    assertThat(timer.pending()).isZero();
  }

  @Test
  void inStepsARefusedConnectGetsTheNextAttemptEvenForAPost() throws Exception {
    MeshRuntime runtime = runtime("", "retry: {backoff: {base: 0ms, max: 0ms}}");
    BlockingCall<String> steps = steps(runtime, "POST");

    // A refused connect sent nothing: the next attempt, even for a POST with a one-shot body.
    CallDriver.Attempt<String> first = steps.nextAttempt();
    first.failed(new ConnectException("refused"));
    CallDriver.Attempt<String> second = steps.nextAttempt();
    assertThat(second.endpoint()).isNotEqualTo(first.endpoint());

    // Its answer ends the call; nothing is handed out after it.
    second.succeeded(null, AttemptOutcome.status(503), 503);
    assertThat(steps.nextAttempt()).isNull();
    assertThat(steps.refusal()).isNull();
    assertThat(steps.failure()).isNull();
  }

  @Test
  void inStepsARefusalEndsTheCallWithoutAnAttempt() throws Exception {
    MeshRuntime runtime = runtime("{maxInFlight: 1, maxPending: 0}", "");
    BlockingCall<String> holder = steps(runtime, "GET");
    assertThat(holder.nextAttempt()).isNotNull();

    BlockingCall<String> refused = steps(runtime, "GET");

    assertThat(refused.nextAttempt()).isNull();
    assertThat(refused.refusal().refusal()).isEqualTo(Admission.Refusal.OVERLOADED);
    // A client that cannot go on ends the call itself: the slot is free again.
    holder.end(new java.io.IOException("the client cannot send again"));
    BlockingCall<String> next = steps(runtime, "GET");
    assertThat(next.nextAttempt()).isNotNull();
  }

  @Test
  void inStepsAnAttemptThatFailedPastTheDeadlineEndsWithTheDeadline() throws Exception {
    MeshRuntime runtime = runtime("", "timeout: 100ms");
    BlockingCall<String> steps = steps(runtime, "GET");
    CallDriver.Attempt<String> attempt = steps.nextAttempt();

    ticker.advance(Duration.ofMillis(100));
    attempt.failed(new java.net.SocketTimeoutException("Read timed out"));

    assertThat(steps.failure())
        .isInstanceOf(DeadlineExceededException.class)
        .hasCauseInstanceOf(java.net.SocketTimeoutException.class);
  }

  @Test
  void aWeightedSplitWithADeadSubsetGetsAtMostTheRoutesAttempts() throws Exception {
    // The new user's case: v2's only instance is dead. An adapter that picks again after each
    // connect failure without asking the retry policy (gRPC's picker did, once per subchannel
    // plus two: 5 with three endpoints) used to get a fresh endpoint each time.
    String yaml =
        String.join(
            "\n",
            "services:",
            "  - name: hello",
            "    ports: [8080]",
            "    endpoints:",
            "      - {address: 10.0.0.1, port: 80, labels: {version: v1}}",
            "      - {address: 10.0.0.2, port: 80, labels: {version: v1}}",
            "      - {address: 10.0.0.3, port: 80, labels: {version: v2}}",
            "    routes:",
            "      - name: split",
            "        backends: [{subset: {version: v2}, weight: 1}]",
            "");
    MeshRuntime runtime =
        MeshRuntime.builder().snapshot(MeshConfigParser.parse("t.yaml", yaml, "default")).ticker(ticker).build();
    OutboundCall call = call(runtime, "GET");
    call.admit(true, 0);

    int handedOut = 0;
    for (int i = 0; i < 5; i++) {
      Endpoint e = call.nextEndpoint();
      if (e == null) {
        break;
      }
      handedOut++;
      assertThat(e.host()).isEqualTo("10.0.0.3");
      call.attemptFinished(e, AttemptOutcome.connectFailure(), 0);
    }

    assertThat(handedOut).isEqualTo(3);
    assertThat(call.noEndpointMessage())
        .isEqualTo("jmesh: hello.default: all 3 attempts of route split were used (expected: at most retry.attempts = 3 per call)");
    call.finish();
  }

  @Test
  void anUnknownExceptionIsNotRetriedAndConnectFailuresAre() {
    assertThat(Outcomes.classify(new ConnectException("x")).kind()).isEqualTo(AttemptOutcome.Kind.CONNECT_FAILURE);
    assertThat(Outcomes.classify(new java.net.SocketTimeoutException("x")).kind()).isEqualTo(AttemptOutcome.Kind.TIMEOUT);
    assertThat(Outcomes.classify(new java.io.IOException("x")).kind()).isEqualTo(AttemptOutcome.Kind.RESET);
    assertThat(Outcomes.classify(new IllegalStateException("x")).kind()).isEqualTo(AttemptOutcome.Kind.OTHER_ERROR);
    assertThat(Outcomes.of(503)).isEqualTo(AttemptOutcome.status(503));
  }
}
