package io.jmesh.instrumentation.javahttpclient.v11;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmesh.bridge.BridgeCall;
import io.jmesh.bridge.BridgeEndpoint;
import io.jmesh.bridge.MeshRefusal;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandler;
import java.net.http.HttpResponse.BodyHandlers;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** {@link MeshedSend} against a scripted call, a fake client and a manual scheduler. */
class MeshedSendTest {
  private static final BridgeEndpoint A = new Ep("10.0.0.1", 8080);
  private static final BridgeEndpoint B = new Ep("10.0.0.2", 8080);

  private final FakeCall call = new FakeCall();
  private final FakeClient client = new FakeClient();
  private final ManualScheduler scheduler = new ManualScheduler();
  private final AtomicLong now = new AtomicLong(1_000_000_000L);
  private final AtomicInteger handlerCalls = new AtomicInteger();
  private final BodyHandler<String> handler =
      info -> {
        handlerCalls.incrementAndGet();
        return BodyHandlers.ofString().apply(info);
      };

  private CompletableFuture<HttpResponse<String>> start(HttpRequest request) {
    return new MeshedSend<>(call, request, handler, client, scheduler, now::get, true).start();
  }

  private static HttpRequest get(Duration timeout) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://hello:8080/x")).GET();
    if (timeout != null) {
      b.timeout(timeout);
    }
    return b.build();
  }

  @Test
  void retriesAnAnswerTheCallRetriesAndHandsOnlyTheLastToTheApplication() throws Exception {
    call.endpoints.add(A);
    call.endpoints.add(B);
    call.decisions.add(0L);
    CompletableFuture<HttpResponse<String>> result = start(get(null));

    client.respond(0, 503, "first");
    // The 503 is drained, not handed to the application's handler; the retry waits its delay.
    assertThat(handlerCalls).hasValue(0);
    assertThat(result).isNotDone();
    assertThat(scheduler.delays).containsExactly(0L);
    scheduler.runAll();
    client.respond(1, 200, "second");

    assertThat(result.get().statusCode()).isEqualTo(200);
    assertThat(result.get().body()).isEqualTo("second");
    assertThat(handlerCalls).hasValue(1);
    assertThat(client.endpoints()).containsExactly(A, B);
    assertThat(call.reports).containsExactly("10.0.0.1 503 null", "10.0.0.2 200 null");
    assertThat(call.finishes).hasValue(1);
  }

  @Test
  void reportsAConnectFailureAndRetriesAfterTheDelay() throws Exception {
    call.endpoints.add(A);
    call.endpoints.add(B);
    call.decisions.add(TimeUnit.MILLISECONDS.toNanos(25));
    CompletableFuture<HttpResponse<String>> result = start(get(null));

    client.fail(0, new ConnectException("refused"));
    assertThat(scheduler.delays).containsExactly(TimeUnit.MILLISECONDS.toNanos(25));
    scheduler.runAll();
    client.respond(1, 200, "ok");

    assertThat(result.get().body()).isEqualTo("ok");
    assertThat(call.reports).containsExactly("10.0.0.1 0 ConnectException", "10.0.0.2 200 null");
  }

  @Test
  void failsWithTheDeadlineMessageWhenTheLastAttemptFailedPastTheDeadline() {
    call.endpoints.add(A);
    CompletableFuture<HttpResponse<String>> result = start(get(null));

    call.deadlineExpired = true;
    client.fail(0, new HttpTimeoutException("request timed out"));

    assertThat(result)
        .failsWithin(Duration.ZERO)
        .withThrowableOfType(ExecutionException.class)
        .havingCause()
        .isInstanceOf(HttpTimeoutException.class)
        .withMessage("jmesh: hello.default: deadline exceeded after 300 ms (route api)");
    assertThat(call.finishes).hasValue(1);
  }

  @Test
  void sendsEachAttemptWithItsTimeoutAndDeadlineHeader() {
    call.endpoints.add(A);
    call.attemptTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(300);
    call.deadlineHeader = "299";
    start(get(Duration.ofSeconds(10)));

    HttpRequest sent = client.sent.get(0).request;
    assertThat(sent.timeout()).contains(Duration.ofMillis(300));
    assertThat(sent.headers().firstValue(BridgeCall.DEADLINE_HEADER)).contains("299");
  }

  @Test
  void theApplicationsShorterTimeoutBoundsTheAttempt() {
    call.endpoints.add(A);
    call.endpoints.add(B);
    call.decisions.add(0L);
    call.attemptTimeoutNanos = TimeUnit.SECONDS.toNanos(5);
    start(get(Duration.ofMillis(800)));
    assertThat(client.sent.get(0).request.timeout()).contains(Duration.ofMillis(800));

    // 300 ms later the retry gets what is left of the application's 800 ms.
    now.addAndGet(TimeUnit.MILLISECONDS.toNanos(300));
    client.fail(0, new ConnectException("refused"));
    scheduler.runAll();

    assertThat(client.sent.get(1).request.timeout()).contains(Duration.ofMillis(500));
  }

  @Test
  void doesNotRetryWhenTheApplicationStopsWaitingFirst() throws Exception {
    call.endpoints.add(A);
    call.decisions.add(TimeUnit.SECONDS.toNanos(2));
    CompletableFuture<HttpResponse<String>> result = start(get(Duration.ofSeconds(1)));

    client.respond(0, 503, "busy");

    assertThat(result.get().statusCode()).isEqualTo(503);
    assertThat(result.get().body()).isEqualTo("busy");
    assertThat(scheduler.delays).isEmpty();
  }

  @Test
  void sendsNothingWhenTheDeadlineLeavesNoTime() {
    call.attemptTimeoutNanos = 0;
    CompletableFuture<HttpResponse<String>> result = start(get(null));

    assertThat(client.sent).isEmpty();
    assertThat(result)
        .failsWithin(Duration.ZERO)
        .withThrowableOfType(ExecutionException.class)
        .havingCause()
        .isInstanceOf(HttpTimeoutException.class);
    assertThat(call.finishes).hasValue(1);
  }

  @Test
  void failsClearlyWithoutAnEndpoint() {
    CompletableFuture<HttpResponse<String>> result = start(get(null));

    assertThat(result)
        .failsWithin(Duration.ZERO)
        .withThrowableOfType(ExecutionException.class)
        .havingCause()
        .isInstanceOf(MeshRefusal.class)
        .withMessageContaining("no endpoint");
  }

  @Test
  void anAgentErrorWhileReportingStillDeliversTheAnswer() throws Exception {
    call.endpoints.add(A);
    call.failReports = true;
    CompletableFuture<HttpResponse<String>> result = start(get(null));

    client.respond(0, 503, "as it came");

    assertThat(result.get().body()).isEqualTo("as it came");
    assertThat(call.finishes).hasValue(1);
  }

  @Test
  void cancellingTheCallCancelsTheExchangeInFlight() {
    call.endpoints.add(A);
    CompletableFuture<HttpResponse<String>> result = start(get(null));

    result.cancel(true);

    assertThat(client.sent.get(0).exchange).isCancelled();
    assertThat(call.finishes).hasValue(1);
  }

  @Test
  void waitsForTheAdmissionDelayThenForTheSlot() throws Exception {
    call.endpoints.add(A);
    call.admissionDelayNanos = TimeUnit.MILLISECONDS.toNanos(50);
    call.slot = new CompletableFuture<>();
    CompletableFuture<HttpResponse<String>> result = start(get(null));

    assertThat(scheduler.delays).containsExactly(TimeUnit.MILLISECONDS.toNanos(50));
    scheduler.runAll();
    assertThat(client.sent).as("still waiting for a place among requests in flight").isEmpty();
    call.slot.complete(null);
    client.respond(0, 200, "ok");

    assertThat(result.get().body()).isEqualTo("ok");
  }

  @Test
  void answersWith503WhenThePendingQueueGivesUp() throws Exception {
    call.slot = new CompletableFuture<>();
    CompletableFuture<HttpResponse<String>> result = start(get(null));
    scheduler.runAll();

    call.slot.completeExceptionally(new java.util.concurrent.RejectedExecutionException("waited too long"));

    assertThat(result.get().statusCode()).isEqualTo(503);
    assertThat(result.get().headers().firstValue(BridgeCall.REFUSED_HEADER)).contains("overloaded");
    assertThat(result.get().body()).isEqualTo("jmesh: hello:8080: waited too long");
    assertThat(client.sent).isEmpty();
  }

  // ---- Fakes.

  private record Ep(String host, int port) implements BridgeEndpoint {
    @Override
    public InetSocketAddress socketAddress() {
      return InetSocketAddress.createUnresolved(host, port);
    }
  }

  /** A call that answers from a script and records what it is told. */
  private static final class FakeCall implements BridgeCall {
    final Deque<BridgeEndpoint> endpoints = new ArrayDeque<>();
    final Deque<Long> decisions = new ArrayDeque<>();
    final List<String> reports = new ArrayList<>();
    final AtomicInteger finishes = new AtomicInteger();
    long attemptTimeoutNanos = -1;
    String deadlineHeader;
    boolean deadlineExpired;
    boolean failReports;
    long admissionDelayNanos;
    CompletableFuture<Void> slot;

    @Override
    public String authority() {
      return "hello:8080";
    }

    @Override
    public int admit(boolean bodyReplayable, long bodyLength) {
      return 0;
    }

    @Override
    public String refusalReason() {
      return null;
    }

    @Override
    public String refusalKind() {
      return null;
    }

    @Override
    public long admissionDelayNanos() {
      return admissionDelayNanos;
    }

    @Override
    public CompletableFuture<Void> admissionSlot() {
      return slot;
    }

    @Override
    public BridgeEndpoint nextEndpoint() {
      return endpoints.poll();
    }

    @Override
    public String noEndpointMessage() {
      return "jmesh: no endpoint available for hello.default:8080";
    }

    @Override
    public long attemptTimeoutNanos() {
      return attemptTimeoutNanos;
    }

    @Override
    public String deadlineHeaderValue() {
      return deadlineHeader;
    }

    @Override
    public long attemptFinished(BridgeEndpoint endpoint, int status, Throwable error, long durationNanos) {
      if (failReports) {
        throw new IllegalStateException("a bug in the agent");
      }
      reports.add(endpoint.host() + " " + status + " " + (error == null ? null : error.getClass().getSimpleName()));
      Long d = decisions.poll();
      return d == null ? -1 : d;
    }

    @Override
    public boolean deadlineExpired() {
      return deadlineExpired;
    }

    @Override
    public String deadlineMessage() {
      return "jmesh: hello.default: deadline exceeded after 300 ms (route api)";
    }

    @Override
    public void finish() {
      finishes.incrementAndGet();
    }
  }

  /** A client whose exchanges the test answers. */
  private static final class FakeClient implements MeshedSend.Sender<String> {
    record Sent(
        HttpRequest request,
        BridgeEndpoint endpoint,
        BodyHandler<String> handler,
        CompletableFuture<HttpResponse<String>> exchange) {}

    final List<Sent> sent = new ArrayList<>();

    @Override
    public CompletableFuture<HttpResponse<String>> send(
        HttpRequest request, BridgeEndpoint endpoint, BodyHandler<String> handler) {
      CompletableFuture<HttpResponse<String>> exchange = new CompletableFuture<>();
      sent.add(new Sent(request, endpoint, handler, exchange));
      return exchange;
    }

    List<BridgeEndpoint> endpoints() {
      return sent.stream().map(Sent::endpoint).toList();
    }

    /** Answers exchange {@code i} through its handler, as the JDK would. */
    void respond(int i, int status, String body) {
      Sent s = sent.get(i);
      RefusalResponse.of(s.request, s.handler, status, null, body)
          .whenComplete((r, e) -> {
            if (e != null) {
              s.exchange.completeExceptionally(e);
            } else {
              s.exchange.complete(r);
            }
          });
    }

    void fail(int i, Throwable error) {
      sent.get(i).exchange.completeExceptionally(error);
    }
  }

  /** Runs delayed tasks when the test says so; no real time passes. */
  private static final class ManualScheduler implements MeshedSend.Scheduler {
    final List<Long> delays = new ArrayList<>();
    final Deque<Runnable> tasks = new ArrayDeque<>();

    @Override
    public void schedule(long delayNanos, Runnable task) {
      delays.add(delayNanos);
      tasks.add(task);
    }

    void runAll() {
      Runnable t;
      while ((t = tasks.poll()) != null) {
        t.run();
      }
    }
  }
}
