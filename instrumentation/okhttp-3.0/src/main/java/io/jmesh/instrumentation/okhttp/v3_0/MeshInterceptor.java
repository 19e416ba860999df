package io.jmesh.instrumentation.okhttp.v3_0;

import io.jmesh.bridge.BridgeCall;
import io.jmesh.bridge.BridgeCalls;
import io.jmesh.bridge.BridgeEndpoint;
import io.jmesh.bridge.MeshBridge;
import io.jmesh.bridge.BridgeSender;
import io.jmesh.bridge.MeshRefusal;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.concurrent.TimeUnit;
import okhttp3.Headers;
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
 * Routes a request to a mesh destination and hands it to the runtime's call driver ({@link
 * BridgeCall#execute}), which applies the route's policy (admission, faults, retries, deadline)
 * and asks this adapter for each attempt: one {@code proceed} per chosen endpoint with the logical
 * authority as Host, the deadline and trace headers, and the attempt's timeout. The application
 * gets back a response whose request is its own. As the last application interceptor it may call
 * {@code proceed} once per attempt, which OkHttp allows there.
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
  // clients derived from it, and only from it. Null only while its constructor runs.
  private volatile OkHttpClient client;

  void builtInto(OkHttpClient owner) {
    client = owner;
  }

  @Override
  public Response intercept(Chain chain) throws IOException {
    Request request = chain.request();
    BridgeCall call;
    Attempts attempts = null;
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
                  url.scheme(), url.host(), url.port(), request.method(),
                  // With the query: routes may match on its parameters.
                  url.encodedQuery() == null ? url.encodedPath() : url.encodedPath() + "?" + url.encodedQuery(),
                  request::header);
      if (call != null) {
        // Built here, before anything is sent: a helper class missing from this class loader
        // (LinkageError) leaves the call unmeshed instead of failing it.
        attempts = new Attempts(chain, request, call);
      }
    } catch (Throwable t) {
      MeshBridge.adviceError(PLACE, t);
      call = null;
    }
    if (call == null) {
      return chain.proceed(request); // Not meshed, or the agent failed: the call goes on as is.
    }
    // The runtime's call driver does admission, retries and the deadline on this thread (OkHttp's
    // own, as its own retries do); this adapter only sends the attempts it asks for.
    RequestBody body = request.body();
    Response response =
        call.execute(body == null || replayable(body), body == null ? 0 : body.contentLength(), attempts);
    return response.request() == request ? response : response.newBuilder().request(request).build();
  }

  // The largest body the runtime's mirror copies (MirrorSender.Limits.defaults()).
  private static final long MIRROR_BODY_BYTES = 1 << 20;

  /** Whether OkHttp can write {@code body} again. */
  private static boolean replayable(RequestBody body) {
    // A one-shot or duplex body (OkHttp 3.14+/4.x) cannot be written twice; older versions have
    // neither method, and all their bodies can.
    try {
      return !body.isOneShot() && !isDuplex(body);
    } catch (NoSuchMethodError e) {
      return true;
    }
  }

  private static boolean isDuplex(RequestBody body) {
    try {
      return (boolean) RequestBody.class.getMethod("isDuplex").invoke(body);
    } catch (ReflectiveOperationException | RuntimeException e) {
      return false;
    }
  }

  /**
   * {@code headers} with a route's edits (the bridge's shape, see {@link
   * BridgeCall#requestHeaderEdits}) applied in order: remove, set, add.
   */
  static Headers edited(Headers headers, String[][] edits) {
    Headers.Builder b = headers.newBuilder();
    for (String name : edits[0]) {
      b.removeAll(name);
    }
    for (int i = 0; i + 1 < edits[1].length; i += 2) {
      b.set(edits[1][i], edits[1][i + 1]);
    }
    for (int i = 0; i + 1 < edits[2].length; i += 2) {
      b.add(edits[2][i], edits[2][i + 1]);
    }
    return b.build();
  }

  /**
   * The route's response header edits (see {@link BridgeCall#responseHeaderEdits}) applied to a
   * copy of {@code response}'s head, or {@code response} itself when the route has none or they
   * cannot be applied (OkHttp refuses a value outside printable ASCII, for one): an agent error
   * never costs the application its answer.
   */
  static Response editResponseHeaders(Response response, BridgeCall call) {
    try {
      String[][] edits = call.responseHeaderEdits();
      return edits == null ? response : response.newBuilder().headers(edited(response.headers(), edits)).build();
    } catch (Throwable t) {
      MeshBridge.responseHeadersNotEdited(PLACE, t);
      return response;
    }
  }

  /** One call's attempts, in OkHttp's types. */
  private final class Attempts implements BridgeSender<Response> {
    private final Chain chain;
    private final Request request;
    private final BridgeCall call;

    Attempts(Chain chain, Request request, BridgeCall call) {
      this.chain = chain;
      this.request = request;
      this.call = call;
    }

    @Override
    public Response send(BridgeEndpoint endpoint, long timeoutNanos, String deadline, String[] trace)
        throws IOException {
      HttpUrl url = request.url();
      String path = call.rewrittenPath();
      if (path != null) {
        url = url.newBuilder().encodedPath(path).build(); // the query stays
      }
      boolean overMeshTls = endpoint.meshTls() != null;
      Request.Builder attempt = request.newBuilder();
      String[][] edits = call.requestHeaderEdits();
      if (edits != null) {
        attempt.headers(edited(request.headers(), edits)); // Host is not editable: set below
      }
      attempt
          // Over mesh TLS the URL stays logical (as https): the derived client connects to
          // the endpoint; OkHttp takes :authority from the URL.
          .url(overMeshTls ? OkHttpMeshTls.httpsUrl(url) : url.newBuilder().host(endpoint.host()).port(endpoint.port()).build())
          .header("Host", call.authority());
      if (deadline != null) {
        attempt.header(BridgeCall.DEADLINE_HEADER, deadline);
      }
      if (trace != null) {
        for (int i = 0; i + 1 < trace.length; i += 2) {
          attempt.header(trace[i], trace[i + 1]);
        }
      }
      Response response =
          overMeshTls
              ? sendOverMeshTls(attempt.build(), endpoint, call, timeoutNanos)
              : withTimeout(chain, timeoutNanos).proceed(attempt.build());
      return editResponseHeaders(response, call);
    }

    @Override
    public String[] mirrorHeaders() {
      Headers headers = request.headers();
      java.util.List<String> out = new java.util.ArrayList<>(headers.size() * 2 + 2);
      for (int i = 0; i < headers.size(); i++) {
        out.add(headers.name(i));
        out.add(headers.value(i));
      }
      RequestBody body = request.body();
      if (body != null && body.contentType() != null && request.header("Content-Type") == null) {
        out.add("Content-Type"); // OkHttp keeps it on the body until the bridge interceptor
        out.add(body.contentType().toString());
      }
      return out.toArray(new String[0]);
    }

    @Override
    public byte[] mirrorBody() {
      RequestBody body = request.body();
      if (body == null) {
        return new byte[0];
      }
      try {
        long length = body.contentLength();
        // Only a body OkHttp can write again, of a known size the mirror keeps (1 MiB).
        if (!replayable(body) || length < 0 || length > MIRROR_BODY_BYTES) {
          return null;
        }
        okio.Buffer copy = new okio.Buffer();
        body.writeTo(copy);
        return copy.readByteArray();
      } catch (IOException | RuntimeException e) {
        return null; // the copy is skipped and counted; the original call goes on
      }
    }

    @Override
    public int status(Response response) {
      return response.code();
    }

    @Override
    public void discard(Response response) {
      response.close(); // this answer is replaced by the retry's
    }

    @Override
    public Response refused(int status, String kind, String reason) {
      return MeshInterceptor.refused(request, status, kind, reason);
    }

    @Override
    public IOException deadlineExceeded(String message, Throwable cause) {
      InterruptedIOException e = new InterruptedIOException(message);
      if (cause != null) {
        e.initCause(cause);
      }
      return e;
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
    OkHttpClient derived = OkHttpMeshTls.INSTANCE.clientFor(app, endpoint);
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
