package io.jmesh.instrumentation.okhttp.v3_0;

import io.jmesh.bridge.BridgeCall;
import io.jmesh.bridge.BridgeCalls;
import io.jmesh.bridge.BridgeEndpoint;
import io.jmesh.bridge.MeshBridge;
import io.jmesh.bridge.MeshRefusal;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import okhttp3.HttpUrl;
import okhttp3.Interceptor;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Protocol;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okhttp3.ResponseBody;

/**
 * Routes a request to a mesh destination and applies its route's policy: admission (faults, rate
 * limit, concurrency cap), one attempt per chosen endpoint with the logical authority as Host and
 * the deadline header, per-attempt timeouts, and retries after the delay the runtime asks for.
 * The application gets back a response whose request is its own. As the last application
 * interceptor it may call {@code proceed} once per attempt, which OkHttp allows there.
 *
 * <p>Injected into the class loader that holds OkHttp; talks to the runtime through the bridge
 * only. OkHttp's own thread runs it, so waiting (backoff, injected delay, a pending slot) blocks
 * that thread, as OkHttp's own retries do.
 */
public final class MeshInterceptor implements Interceptor {
  static final String PLACE = "okhttp-3.0";
  private static final MediaType TEXT = MediaType.parse("text/plain; charset=utf-8");

  /** The timeout of the mesh-TLS attempt this thread is executing, for its derived client. */
  private static final ThreadLocal<Long> ATTEMPT_TIMEOUT = new ThreadLocal<>();

  // The client this interceptor belongs to (set once it is built): mesh-TLS attempts go through
  // clients derived from it. Null only while its constructor runs.
  private volatile OkHttpClient client;
  private final OkHttpMeshTls meshTls = new OkHttpMeshTls();

  void builtInto(OkHttpClient owner) {
    client = owner;
  }

  @Override
  public Response intercept(Chain chain) throws IOException {
    Request request = chain.request();
    BridgeCall call;
    int refusal;
    try {
      BridgeCalls calls = MeshBridge.calls();
      HttpUrl url = request.url();
      // HTTPS stays the application's own: OkHttp verifies the certificate against the URL's
      // host, which must stay logical. This also lets the https attempts of the clients derived
      // for mesh TLS (see OkHttpMeshTls) through unrouted, since they carry this interceptor too.
      call =
          calls == null || url.isHttps()
              ? null
              : calls.route(
                  url.scheme(), url.host(), url.port(), request.method(), url.encodedPath(), request::header);
      refusal = call == null ? 0 : admit(call, request.body());
    } catch (Throwable t) {
      MeshBridge.adviceError(PLACE, t);
      call = null;
      refusal = 0;
    }
    if (call == null) {
      return chain.proceed(request); // Not meshed, or the agent failed: the call goes on as is.
    }
    try {
      if (refusal != 0) {
        return refused(request, refusal, call.refusalKind(), call.refusalReason());
      }
      if (!awaitAdmission(call)) {
        return refused(request, 503, "overloaded", "jmesh: " + call.authority() + ": overloaded: gave up waiting for a place among the requests in flight");
      }
      return attempts(chain, request, call);
    } finally {
      call.finish();
    }
  }

  /** Admits the call with what OkHttp knows of the body. */
  private static int admit(BridgeCall call, RequestBody body) throws IOException {
    if (body == null) {
      return call.admit(true, 0);
    }
    // A one-shot or duplex body (OkHttp 3.14+/4.x) cannot be written twice; older versions have
    // neither method, and all their bodies can.
    boolean replayable;
    try {
      replayable = !body.isOneShot() && !isDuplex(body);
    } catch (NoSuchMethodError e) {
      replayable = true;
    }
    return call.admit(replayable, body.contentLength());
  }

  private static boolean isDuplex(RequestBody body) {
    try {
      return (boolean) RequestBody.class.getMethod("isDuplex").invoke(body);
    } catch (ReflectiveOperationException | RuntimeException e) {
      return false;
    }
  }

  /** Waits out an injected delay and a place in the pending queue; false when the queue gave up. */
  private static boolean awaitAdmission(BridgeCall call) throws IOException {
    pause(call.admissionDelayNanos());
    CompletableFuture<Void> slot = call.admissionSlot();
    if (slot == null) {
      return true;
    }
    long timeout = call.attemptTimeoutNanos();
    try {
      if (timeout > 0) {
        slot.get(timeout, TimeUnit.NANOSECONDS);
      } else {
        slot.get();
      }
      return true;
    } catch (ExecutionException e) {
      return false;
    } catch (TimeoutException e) {
      throw deadline(call, null);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while waiting for a place in the mesh's queue");
    }
  }

  private Response attempts(Chain chain, Request request, BridgeCall call) throws IOException {
    HttpUrl url = request.url();
    while (true) {
      long timeoutNanos = call.attemptTimeoutNanos();
      if (timeoutNanos == 0) {
        throw deadline(call, null);
      }
      BridgeEndpoint endpoint = call.nextEndpoint();
      if (endpoint == null) {
        throw new MeshRefusal(call.noEndpointMessage());
      }
      boolean overMeshTls = endpoint.meshTls() != null;
      Request.Builder attempt =
          request
              .newBuilder()
              // Over mesh TLS the URL stays logical (as https): the derived client connects to
              // the endpoint; OkHttp takes :authority from the URL.
              .url(overMeshTls ? OkHttpMeshTls.httpsUrl(url) : url.newBuilder().host(endpoint.host()).port(endpoint.port()).build())
              .header("Host", call.authority());
      String deadline = call.deadlineHeaderValue();
      if (deadline != null) {
        attempt.header(BridgeCall.DEADLINE_HEADER, deadline);
      }
      String[] trace = call.traceHeaders();
      if (trace != null) {
        for (int i = 0; i + 1 < trace.length; i += 2) {
          attempt.header(trace[i], trace[i + 1]);
        }
      }
      long start = System.nanoTime();
      Response response;
      try {
        response =
            overMeshTls
                ? sendOverMeshTls(attempt.build(), endpoint, call, timeoutNanos)
                : withTimeout(chain, timeoutNanos).proceed(attempt.build());
      } catch (IOException | RuntimeException e) {
        long delay = call.attemptFinished(endpoint, 0, e, System.nanoTime() - start);
        if (delay < 0) {
          if (call.deadlineExpired()) {
            throw deadline(call, e);
          }
          throw e;
        }
        pause(delay);
        continue;
      }
      long delay = call.attemptFinished(endpoint, response.code(), null, System.nanoTime() - start);
      if (delay < 0) {
        return response.newBuilder().request(request).build();
      }
      response.close(); // this answer is replaced by the retry's
      pause(delay);
    }
  }

  /**
   * Sends one attempt through the client derived for its endpoint's mesh TLS. Its call runs on
   * this thread (OkHttp's {@code execute}), which is how its first interceptor finds the
   * attempt's timeout.
   */
  private Response sendOverMeshTls(Request attempt, BridgeEndpoint endpoint, BridgeCall call, long timeoutNanos)
      throws IOException {
    OkHttpClient app = client;
    if (app == null) {
      // Cannot happen once the client is built; fail closed rather than send in plaintext.
      throw new MeshRefusal("jmesh: " + call.authority() + " requires mesh TLS, and this OkHttp client is not built yet");
    }
    OkHttpClient derived = meshTls.clientFor(app, endpoint);
    Long previous = ATTEMPT_TIMEOUT.get();
    ATTEMPT_TIMEOUT.set(timeoutNanos);
    try {
      return derived.newCall(attempt).execute();
    } finally {
      if (previous == null) {
        ATTEMPT_TIMEOUT.remove();
      } else {
        ATTEMPT_TIMEOUT.set(previous);
      }
    }
  }

  /** The first interceptor of a derived mesh-TLS client: the attempt's timeouts, as for others. */
  static Response applyAttemptTimeouts(Chain chain) throws IOException {
    Long nanos = ATTEMPT_TIMEOUT.get();
    return (nanos == null ? chain : withTimeout(chain, nanos)).proceed(chain.request());
  }

  /** The chain with every timeout at most {@code nanos}; the chain itself when none applies. */
  private static Chain withTimeout(Chain chain, long nanos) {
    if (nanos < 0) {
      return chain;
    }
    int millis = (int) Math.max(1, Math.min(Integer.MAX_VALUE, TimeUnit.NANOSECONDS.toMillis(nanos)));
    try {
      Chain c = chain;
      // Keep the application's own timeout where it is shorter (0 means none in OkHttp).
      if (c.connectTimeoutMillis() == 0 || c.connectTimeoutMillis() > millis) {
        c = c.withConnectTimeout(millis, TimeUnit.MILLISECONDS);
      }
      if (c.readTimeoutMillis() == 0 || c.readTimeoutMillis() > millis) {
        c = c.withReadTimeout(millis, TimeUnit.MILLISECONDS);
      }
      if (c.writeTimeoutMillis() == 0 || c.writeTimeoutMillis() > millis) {
        c = c.withWriteTimeout(millis, TimeUnit.MILLISECONDS);
      }
      return c;
    } catch (NoSuchMethodError e) {
      return chain; // OkHttp before 3.9 cannot change timeouts per attempt
    }
  }

  private static InterruptedIOException deadline(BridgeCall call, Throwable cause) {
    InterruptedIOException e = new InterruptedIOException(call.deadlineMessage());
    if (cause != null) {
      e.initCause(cause);
    }
    return e;
  }

  private static void pause(long nanos) throws InterruptedIOException {
    if (nanos <= 0) {
      return;
    }
    try {
      TimeUnit.NANOSECONDS.sleep(nanos);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted during the mesh's retry backoff");
    }
  }

  /** The answer the mesh gives instead of sending: Envoy's local reply, as OkHttp shows it. */
  private static Response refused(Request request, int status, String kind, String reason) {
    return new Response.Builder()
        .request(request)
        .protocol(Protocol.HTTP_1_1)
        .code(status)
        .message(kind == null ? "refused" : kind)
        .header(BridgeCall.REFUSED_HEADER, kind == null ? "refused" : kind)
        .body(ResponseBody.create(TEXT, reason == null ? "" : reason + "\n"))
        .sentRequestAtMillis(System.currentTimeMillis())
        .receivedResponseAtMillis(System.currentTimeMillis())
        .build();
  }

  @Override
  public String toString() {
    return "jmesh MeshInterceptor";
  }
}
