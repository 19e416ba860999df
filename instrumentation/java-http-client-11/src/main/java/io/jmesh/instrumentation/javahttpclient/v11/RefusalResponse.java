package io.jmesh.instrumentation.javahttpclient.v11;

import io.jmesh.bridge.BridgeCall;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandler;
import java.net.http.HttpResponse.BodySubscriber;
import java.net.http.HttpResponse.ResponseInfo;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SSLSession;

/**
 * The answer the mesh gives in the server's place when it refuses a call (fault abort, rate limit,
 * overload), as Envoy answers with a local reply: the status, {@code x-jmesh-refused} naming what
 * refused, and the reason as a plain-text body. The body goes through the application's own
 * {@link BodyHandler}, so that {@link #body()} has the type the application asked for. Immutable.
 */
final class RefusalResponse<T> implements HttpResponse<T> {
  private final HttpRequest request;
  private final int status;
  private final HttpHeaders headers;
  private final T body;

  private RefusalResponse(HttpRequest request, int status, HttpHeaders headers, T body) {
    this.request = request;
    this.status = status;
    this.headers = headers;
    this.body = body;
  }

  /**
   * The refusal of {@code request}, completed once the application's handler has turned the reason
   * into a body; failed with whatever that handler threw.
   */
  static <T> CompletableFuture<HttpResponse<T>> of(
      HttpRequest request, BodyHandler<T> handler, int status, String kind, String reason) {
    byte[] bytes = (reason == null ? "" : reason).getBytes(StandardCharsets.UTF_8);
    Map<String, List<String>> map = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    map.put("content-length", List.of(Integer.toString(bytes.length)));
    map.put("content-type", List.of("text/plain; charset=utf-8"));
    if (kind != null) {
      map.put(BridgeCall.REFUSED_HEADER, List.of(kind));
    }
    HttpHeaders headers = HttpHeaders.of(map, (name, value) -> true);
    BodySubscriber<T> subscriber;
    try {
      subscriber = handler.apply(new Info(status, headers));
      subscriber.onSubscribe(new OneBuffer(subscriber, ByteBuffer.wrap(bytes)));
    } catch (Throwable t) {
      return CompletableFuture.failedFuture(t);
    }
    return subscriber
        .getBody()
        .toCompletableFuture()
        .thenApply(body -> new RefusalResponse<>(request, status, headers, body));
  }

  @Override
  public int statusCode() {
    return status;
  }

  @Override
  public HttpRequest request() {
    return request;
  }

  @Override
  public Optional<HttpResponse<T>> previousResponse() {
    return Optional.empty();
  }

  @Override
  public HttpHeaders headers() {
    return headers;
  }

  @Override
  public T body() {
    return body;
  }

  @Override
  public Optional<SSLSession> sslSession() {
    return Optional.empty();
  }

  @Override
  public URI uri() {
    return request.uri();
  }

  @Override
  public HttpClient.Version version() {
    return HttpClient.Version.HTTP_1_1;
  }

  @Override
  public String toString() {
    return "(" + request.method() + " " + request.uri() + ") " + status + " refused by jmesh";
  }

  private record Info(int statusCode, HttpHeaders headers) implements ResponseInfo {
    @Override
    public HttpClient.Version version() {
      return HttpClient.Version.HTTP_1_1;
    }
  }

  /** Publishes one buffer on the first demand, then completes, as the Flow contract allows. */
  private static final class OneBuffer implements Flow.Subscription {
    private final BodySubscriber<?> subscriber;
    private final ByteBuffer buffer;
    private final AtomicBoolean done = new AtomicBoolean();

    OneBuffer(BodySubscriber<?> subscriber, ByteBuffer buffer) {
      this.subscriber = subscriber;
      this.buffer = buffer;
    }

    @Override
    public void request(long n) {
      if (!done.compareAndSet(false, true)) {
        return;
      }
      if (n <= 0) {
        subscriber.onError(new IllegalArgumentException("request(" + n + ") (expected: > 0)"));
        return;
      }
      subscriber.onNext(List.of(buffer));
      subscriber.onComplete();
    }

    @Override
    public void cancel() {
      done.set(true);
    }
  }
}
