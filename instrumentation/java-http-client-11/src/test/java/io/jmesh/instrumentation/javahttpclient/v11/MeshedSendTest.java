package io.jmesh.instrumentation.javahttpclient.v11;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmesh.bridge.BridgeCall;
import io.jmesh.bridge.BridgeEndpoint;
import io.jmesh.bridge.MeshRefusal;
import io.jmesh.runtime.Endpoint;
import io.jmesh.runtime.MeshRuntime;
import io.jmesh.runtime.OutboundCall;
import io.jmesh.runtime.OutboundRequest;
import io.jmesh.runtime.call.CallDriver;
import io.jmesh.runtime.call.ManualTimer;
import io.jmesh.runtime.config.MeshConfigParser;
import io.jmesh.runtime.time.FakeTicker;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandler;
import java.net.http.HttpResponse.BodyHandlers;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * {@link MeshedSend} on the runtime's call driver: the real router, balancer, budget and limits, a
 * fake ticker, a manual timer and a fake client whose exchanges the test answers; no agent, no
 * sockets, no sleeping. The driver's own rules are {@code CallDriverTest}'s; these show that the
 * JDK client meets them in its own types.
 */
class MeshedSendTest {
  private final FakeTicker ticker = new FakeTicker();
  private final ManualTimer timer = new ManualTimer(ticker);
  private final SplittableRandom seeded = new SplittableRandom(7);
  private final FakeClient client = new FakeClient();
  private final AtomicInteger handlerCalls = new AtomicInteger();
  private final List<HttpHeaders> handlerHeads = new ArrayList<>(); // what the handler was shown
  private final BodyHandler<String> handler =
      info -> {
        handlerCalls.incrementAndGet();
        handlerHeads.add(info.headers());
        return BodyHandlers.ofString().apply(info);
      };
  private MeshRuntime runtime;

  private void mesh(String policy, String route, String... endpoints) throws Exception {
    StringBuilder yaml = new StringBuilder("services:\n  - name: hello\n    ports: [8080]\n    endpoints:");
    if (endpoints.length == 0) {
      yaml.append(" []");
    }
    yaml.append('\n');
    for (String e : endpoints) {
      yaml.append("      - {address: ").append(e).append(", port: 80}\n");
    }
    if (!policy.isEmpty()) {
      yaml.append("    policy: ").append(policy).append('\n');
    }
    yaml.append("    routes:\n      - name: api\n        backends: [{subset: {}, weight: 1}]\n");
    if (!route.isEmpty()) {
      yaml.append("        ").append(route).append('\n');
    }
    runtime =
        MeshRuntime.builder()
            .snapshot(MeshConfigParser.parse("t.yaml", yaml.toString(), "default"))
            .ticker(ticker)
            .random(() -> seeded.nextLong())
            .build();
  }

  private CompletableFuture<HttpResponse<String>> start(HttpRequest request) {
    return start(request, CallDriver.Observer.NONE);
  }

  private CompletableFuture<HttpResponse<String>> start(HttpRequest request, CallDriver.Observer observer) {
    return start(request, observer, () -> null);
  }

  private CompletableFuture<HttpResponse<String>> start(
      HttpRequest request, CallDriver.Observer observer, Supplier<String[][]> responseEdits) {
    OutboundCall call = runtime.route(OutboundRequest.of("http", "hello", 8080, request.method(), "/x", null));
    return new MeshedSend<>(request, handler, client, a -> new Ep(a.endpoint()), () -> null, ticker::nanoTime, null, null, null, responseEdits)
        .start(s -> CallDriver.start(call, true, 0, s, s, timer, observer));
  }

  private static HttpRequest get(Duration timeout) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://hello:8080/x")).GET();
    if (timeout != null) {
      b.timeout(timeout);
    }
    return b.build();
  }

  private static Throwable failure(CompletableFuture<?> result) {
    assertThat(result).isCompletedExceptionally();
    try {
      result.get();
      throw new AssertionError("not failed");
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void theDeliveredAnswerCarriesTheRoutesResponseHeaderEdits() throws Exception {
    mesh("", "retry: {backoff: {base: 1ms, max: 1ms}}", "10.0.0.1", "10.0.0.2");
    String[][] edits = {{"Content-Type"}, {"X-Env", "prod"}, {"x-tag", "mesh"}};
    CompletableFuture<HttpResponse<String>> result = start(get(null), CallDriver.Observer.NONE, () -> edits);

    client.respond(0, 503, "first"); // retried: drained, never shown
    timer.advance(Duration.ofMillis(1));
    client.respond(1, 200, "second");

    // The handler and the response show the same edited head; the rest is the answer's own.
    HttpResponse<String> r = result.get();
    assertThat(r.body()).isEqualTo("second");
    assertThat(handlerHeads).containsExactly(r.headers());
    assertThat(r.headers().firstValue("x-env")).hasValue("prod");
    assertThat(r.headers().allValues("X-TAG")).containsExactly("mesh");
    assertThat(r.headers().firstValue("content-type")).isEmpty();
    assertThat(r.headers().firstValue("content-length")).hasValue("6");
  }

  @Test
  void editsThatFailLeaveTheAnswerAsReceived() throws Exception {
    mesh("", "", "10.0.0.1");
    CompletableFuture<HttpResponse<String>> result =
        start(get(null), CallDriver.Observer.NONE, () -> new String[][] {null, null, null});

    client.respond(0, 200, "ok");

    HttpResponse<String> r = result.get();
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("ok");
    assertThat(r.headers().firstValue("content-type")).hasValue("text/plain; charset=utf-8");
    assertThat(handlerHeads).containsExactly(r.headers());
  }

  @Test
  void retriesAnAnswerTheCallRetriesAndHandsOnlyTheLastToTheApplication() throws Exception {
    mesh("", "retry: {backoff: {base: 1ms, max: 1ms}}", "10.0.0.1", "10.0.0.2");
    CompletableFuture<HttpResponse<String>> result = start(get(null));

    client.respond(0, 503, "first");
    // The 503 is drained, not handed to the application's handler; the retry waits its backoff.
    assertThat(handlerCalls).hasValue(0);
    assertThat(result).isNotDone();
    assertThat(client.sent).hasSize(1);
    timer.advance(Duration.ofMillis(1));
    client.respond(1, 200, "second");

    assertThat(result.get().statusCode()).isEqualTo(200);
    assertThat(result.get().body()).isEqualTo("second");
    assertThat(handlerCalls).hasValue(1);
    assertThat(client.sent.get(1).endpoint).isNotEqualTo(client.sent.get(0).endpoint);
  }

  @Test
  void retriesAConnectFailureAfterTheBackoff() throws Exception {
    mesh("", "retry: {backoff: {base: 25ms, max: 25ms}}", "10.0.0.1", "10.0.0.2");
    CompletableFuture<HttpResponse<String>> result = start(get(null));

    client.fail(0, new ConnectException("refused"));
    assertThat(client.sent).hasSize(1);
    timer.advance(Duration.ofMillis(25));
    client.respond(1, 200, "ok");

    assertThat(result.get().body()).isEqualTo("ok");
  }

  @Test
  void failsWithTheDeadlineMessageWhenTheLastAttemptFailedPastTheDeadline() throws Exception {
    mesh("", "timeout: 300ms", "10.0.0.1");
    CompletableFuture<HttpResponse<String>> result = start(get(null));

    ticker.advance(Duration.ofMillis(300));
    client.fail(0, new HttpTimeoutException("request timed out"));

    assertThat(failure(result))
        .isInstanceOf(HttpTimeoutException.class)
        .hasMessageContaining("jmesh: hello.default: deadline exceeded after 300 ms")
        .hasCauseInstanceOf(HttpTimeoutException.class);
  }

  @Test
  void sendsEachAttemptWithItsTimeoutAndDeadlineHeader() throws Exception {
    mesh("", "timeout: 300ms", "10.0.0.1");
    start(get(Duration.ofSeconds(10)));

    HttpRequest sent = client.sent.get(0).request;
    assertThat(sent.timeout()).contains(Duration.ofMillis(300));
    assertThat(sent.headers().firstValue(BridgeCall.DEADLINE_HEADER)).contains("300");
  }

  @Test
  void theApplicationsShorterTimeoutBoundsTheAttempt() throws Exception {
    mesh("", "timeout: 5s\n        retry: {backoff: {base: 1ms, max: 1ms}}", "10.0.0.1", "10.0.0.2");
    start(get(Duration.ofMillis(800)));
    assertThat(client.sent.get(0).request.timeout()).contains(Duration.ofMillis(800));

    // 300 ms later the retry gets what is left of the application's 800 ms.
    ticker.advance(Duration.ofMillis(299));
    client.fail(0, new ConnectException("refused"));
    timer.advance(Duration.ofMillis(1));

    assertThat(client.sent.get(1).request.timeout()).contains(Duration.ofMillis(500));
  }

  @Test
  void doesNotRetryWhenTheApplicationStopsWaitingFirst() throws Exception {
    mesh("", "retry: {backoff: {base: 2s, max: 2s}}", "10.0.0.1", "10.0.0.2");
    CompletableFuture<HttpResponse<String>> result = start(get(Duration.ofSeconds(1)));

    client.respond(0, 503, "busy");

    // The backoff would end after the application's own 1 s: it gets this answer now.
    assertThat(result.get().statusCode()).isEqualTo(503);
    assertThat(result.get().body()).isEqualTo("busy");
    assertThat(timer.pending()).isZero();
  }

  @Test
  void failsClearlyWithoutAnEndpoint() throws Exception {
    mesh("", "");
    CompletableFuture<HttpResponse<String>> result = start(get(null));

    assertThat(failure(result)).isInstanceOf(MeshRefusal.class).hasMessageContaining("no endpoint");
    assertThat(client.sent).isEmpty();
  }

  @Test
  void cancellingTheCallCancelsTheExchangeInFlightAndFreesItsSlot() throws Exception {
    mesh("{maxInFlight: 1, maxPending: 0}", "", "10.0.0.1");
    CompletableFuture<HttpResponse<String>> result = start(get(null));

    result.cancel(true);

    assertThat(client.sent.get(0).exchange).isCancelled();
    start(get(null));
    assertThat(client.sent).as("the next call finds the slot free").hasSize(2);
  }

  @Test
  void answersWith503WhenThePendingQueueIsFull() throws Exception {
    mesh("{maxInFlight: 1, maxPending: 0}", "", "10.0.0.1");
    start(get(null));

    CompletableFuture<HttpResponse<String>> result = start(get(null));

    assertThat(result.get().statusCode()).isEqualTo(503);
    assertThat(result.get().headers().firstValue(BridgeCall.REFUSED_HEADER)).contains("overloaded");
    assertThat(client.sent).hasSize(1);
  }

  @Test
  void aFaultDelayIsCappedByTheDeadline() throws Exception {
    // Drifted case: this client's copy waited the whole injected delay (here 5 s) before finding
    // the deadline spent; the runtime's rule holds the call back for what the deadline leaves.
    mesh("", "timeout: 100ms\n        fault: {delay: {percent: 100, duration: 5s}}", "10.0.0.1");
    CompletableFuture<HttpResponse<String>> result = start(get(null));

    assertThat(timer.delays).containsExactly(Duration.ofMillis(100).toNanos());
    timer.advance(Duration.ofMillis(100));

    assertThat(client.sent).isEmpty();
    assertThat(failure(result))
        .isInstanceOf(HttpTimeoutException.class)
        .hasMessageContaining("deadline exceeded after 100 ms");
  }

  @Test
  void theWaitForASlotIsBoundedByTheDeadline() throws Exception {
    // Drifted case: this client's copy waited for a place among the requests in flight without
    // bound; the runtime's rule ends the wait, and the call, when the deadline does.
    mesh("{maxInFlight: 1, maxPending: 1}", "timeout: 100ms", "10.0.0.1");
    start(get(null)); // holds the only slot
    CompletableFuture<HttpResponse<String>> waiter = start(get(null));
    assertThat(waiter).isNotDone();

    timer.advance(Duration.ofMillis(100));

    assertThat(client.sent).hasSize(1);
    assertThat(failure(waiter)).isInstanceOf(HttpTimeoutException.class).hasMessageContaining("deadline exceeded");
  }

  @Test
  void anAgentErrorWhileRecordingStillDeliversTheAnswerAndEndsTheCall() throws Exception {
    mesh("{maxInFlight: 1, maxPending: 0}", "", "10.0.0.1");
    CallDriver.Observer broken =
        new CallDriver.Observer() {
          @Override
          public void attemptEnded(Endpoint endpoint, int status, Throwable error, long durationNanos) {
            throw new IllegalStateException("a bug in the agent");
          }
        };
    CompletableFuture<HttpResponse<String>> result = start(get(null), broken);

    client.fail(0, new ConnectException("refused"));

    assertThat(failure(result)).isInstanceOf(ConnectException.class);
    start(get(null));
    assertThat(client.sent).as("the next call finds the slot free").hasSize(2);
  }

  // ---- Fakes.

  private record Ep(String host, int port) implements BridgeEndpoint {
    Ep(Endpoint e) {
      this(e.host(), e.port());
    }

    @Override
    public InetSocketAddress socketAddress() {
      return InetSocketAddress.createUnresolved(host, port);
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

    /** Answers exchange {@code i} through its handler, as the JDK would. */
    void respond(int i, int status, String body) {
      Sent s = sent.get(i);
      RefusalResponse.of(s.request, s.handler, status, null, body)
          .whenComplete(
              (r, e) -> {
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
}
