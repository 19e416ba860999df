package io.jmesh.agent.tooling;

import io.jmesh.runtime.Admission;
import io.jmesh.runtime.retry.AttemptOutcome;
import io.jmesh.runtime.retry.RetryPolicy;
import io.jmesh.bridge.BridgeRpc;
import io.jmesh.bridge.BridgeSender;
import io.jmesh.bridge.MeshRefusal;
import io.jmesh.runtime.NoEndpointException;
import io.jmesh.runtime.call.BlockingCall;
import io.jmesh.runtime.call.CallDriver;
import io.jmesh.runtime.call.Outcomes;
import io.jmesh.runtime.deadline.DeadlineExceededException;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import io.jmesh.bridge.AgentLog;
import io.jmesh.bridge.BridgeCall;
import io.jmesh.bridge.BridgeCalls;
import io.jmesh.bridge.BridgeEndpoint;
import io.jmesh.runtime.Endpoint;
import io.jmesh.runtime.MeshRuntime;
import io.jmesh.runtime.OutboundCall;
import io.jmesh.runtime.OutboundRequest;
import io.jmesh.runtime.trace.ClientSpan;
import io.jmesh.runtime.trace.Tracing;
import java.util.function.Function;

/**
 * The one adapter from plain request facts to the runtime, shared by every instrumentation: woven
 * helpers reach it through {@link io.jmesh.bridge.MeshBridge#calls()}, agent-side hooks call it
 * directly.
 */
public final class MeshCalls implements BridgeCalls {
  private final MeshRuntime runtime;
  private final AgentContext context;

  MeshCalls(MeshRuntime runtime, AgentContext context) {
    this.runtime = runtime;
    this.context = context;
  }

  /** Whether {@code host:port} is a mesh destination. One hash lookup. */
  public boolean isMeshDestination(String host, int port) {
    return runtime.isMeshDestination(host, port);
  }

  @Override
  public Runnable onConfigChange(Runnable listener) {
    return runtime.addUpdateListener(listener);
  }

  @Override
  public java.util.List<java.net.InetSocketAddress> endpoints(String host, int port) {
    // Asked when a gRPC channel is built, before its first RPC: wait for a declared service's
    // resources as a first call would, so that the channel's mesh TLS (decided now, once) and its
    // first endpoints come from them. Without it, a channel built before the controller sent the
    // service's identities went without TLS and refused every RPC to its mesh-TLS endpoints.
    runtime.awaitFirstUse(host, port);
    java.util.List<Endpoint> endpoints = runtime.endpointsOf(host, port);
    if (endpoints == null) {
      return null;
    }
    java.util.List<java.net.InetSocketAddress> out = new java.util.ArrayList<>(endpoints.size());
    for (Endpoint e : endpoints) {
      out.add(e.socketAddress());
    }
    return out;
  }

  @Override
  public boolean requiresMeshTls(String host, int port) {
    return host != null && runtime.requiresMeshTls(host, port);
  }

  @Override
  public javax.net.ssl.KeyManager meshKeyManager() {
    return runtime.meshTls() == null ? null : runtime.meshTls().keyManager();
  }

  @Override
  public javax.net.ssl.TrustManager meshTrustManager(String host, int port) {
    return requiresMeshTls(host, port) ? new DestinationTrust(runtime, host, port) : null;
  }

  /**
   * {@inheritDoc}
   *
   * <p>Hooks in the agent's own class loader get the {@link Call} itself, to drive it on the
   * runtime's call driver with runtime types ({@link Call#start}, {@link Call#stepwise}).
   */
  @Override
  public Call route(
      String scheme,
      String host,
      int port,
      String method,
      String path,
      Function<String, String> headers) {
    if (host == null || !runtime.isMeshDestination(host, port)) {
      return null;
    }
    context.maybeInjectFault("route");
    OutboundRequest request = OutboundRequest.of(scheme, host, port, method, path, headers);
    OutboundCall call = runtime.route(request);
    if (call == null) {
      return null;
    }
    Tracing tracing = context.tracing();
    ClientSpan span = null;
    if (tracing.enabled()) {
      try {
        span =
            tracing.startClient(
                call.destination(), call.routeName(), request.scheme(), call.authority(),
                request.port(), request.method(), request.path(), headers);
      } catch (RuntimeException e) {
        // A tracing error costs the call its span, never the call itself.
        traceErrors(e);
      }
    }
    return new Call(call, runtime, span, request);
  }

  private static final AtomicLong TRACE_ERRORS = new AtomicLong();

  private static void traceErrors(Throwable t) {
    if (TRACE_ERRORS.getAndIncrement() == 0) {
      AgentLog.warn("traces: could not start a client span; calls go on without (logged once)", t);
    }
  }

  /**
   * A routed call seen through the bridge; hooks in the agent's class loader drive it on the
   * runtime's call driver instead ({@link #start}, {@link #stepwise}), which records its
   * attempts and its refusal on the call's span as {@link #execute} does. One instance per call.
   */
  public static final class Call implements BridgeCall {
    private final OutboundCall call;
    private final MeshRuntime runtime;
    private final ClientSpan span; // null when tracing is off
    private final OutboundRequest request;
    private Admission admission;
    private String noIdentity; // set when the destination needs mesh TLS and this workload has no identity

    Call(OutboundCall call, MeshRuntime runtime, ClientSpan span, OutboundRequest request) {
      this.request = request;
      this.call = call;
      this.runtime = runtime;
      this.span = span;
    }

    @Override
    public String authority() {
      return call.authority();
    }

    /**
     * The copy of this call's request for its route's mirror: the method, the path each attempt
     * sends (after a rewrite) with the application's query, {@code headers} and {@code body} as
     * the adapter has them ({@code body} {@code null}: not replayable), and the call's trace
     * context. {@code null} when {@code headers} is (the adapter hands over no copy).
     */
    public io.jmesh.runtime.RequestCopy mirrorCopy(String[] headers, byte[] body) {
      if (headers == null) {
        return null;
      }
      String path = call.rewrittenPath();
      if (path == null) {
        path = request.path();
      }
      String query = request.query();
      return new io.jmesh.runtime.RequestCopy(
          request.method(), query == null || query.isEmpty() ? path : path + "?" + query, headers, body, traceHeaders());
    }

    @Override
    public <R> R execute(boolean bodyReplayable, long bodyLength, BridgeSender<R> sender)
        throws IOException {
      if (refusedWithoutIdentity()) {
        finish();
        return sender.refused(503, refusalKind(), refusalReason());
      }
      try {
        return BlockingCall.run(
            call,
            bodyReplayable,
            bodyLength,
            new Attempts<>(this, sender),
            observer(),
            refusal -> {
              recordRefusal(refusal);
              return sender.refused(refusal.status(), refusal.refusal().header(), refusal.reason());
            });
      } catch (DeadlineExceededException e) {
        throw sender.deadlineExceeded(e.getMessage(), e.getCause());
      } catch (NoEndpointException e) {
        throw new MeshRefusal(e.getMessage());
      }
    }

    /**
     * Whether the call is refused because its destination requires mesh TLS and this workload
     * has no mesh identity (security fails closed: never plaintext). The refusal is recorded (its
     * metrics, its span); the adapter answers 503 with {@link #refusalKind()} and {@link
     * #refusalReason()}, or fails with a {@link MeshRefusal}, then calls {@link #finish()}.
     */
    public boolean refusedWithoutIdentity() {
      if (!runtime.requiresMeshTls(call.destination()) || runtime.meshTls() != null) {
        return false;
      }
      // Security fails closed: never plaintext to a destination that requires mesh TLS.
      noIdentity =
          "jmesh: " + call.destination() + " requires mesh TLS, and this workload has no mesh"
              + " identity (set JMESH_BOOTSTRAP_TOKEN and JMESH_CONTROLLER)";
      call.refused("no_mesh_identity");
      if (span != null) {
        span.refused(503, refusalKind());
      }
      return true;
    }

    /**
     * Starts this call on the runtime's call driver, for an asynchronous client whose hook runs in
     * the agent's class loader (the JDK's {@code HttpClient}): admission, faults, attempts,
     * retries, backoff on {@code timer} and recording, as for every client. {@code listener}
     * hears the end once; call {@link #refusedWithoutIdentity()} first.
     *
     * @param bodyReplayable whether the adapter can send the body again; true when there is none
     * @param bodyLength the body's size, 0 for none, -1 when unknown (never replayed)
     */
    public <R> CallDriver<R> start(
        boolean bodyReplayable,
        long bodyLength,
        CallDriver.Sender<R> sender,
        CallDriver.Listener<R> listener,
        io.jmesh.runtime.call.Timer timer) {
      CallDriver.Listener<R> recording =
          new CallDriver.Listener<>() {
            @Override
            public void onResponse(R response) {
              listener.onResponse(response);
            }

            @Override
            public void onRefused(Admission refusal) {
              recordRefusal(refusal);
              listener.onRefused(refusal);
            }

            @Override
            public void onFailed(Throwable error) {
              listener.onFailed(error);
            }
          };
      return CallDriver.start(call, bodyReplayable, bodyLength, sender, recording, timer, observer());
    }

    /**
     * This call in steps, for a blocking client whose one attempt spans several of its methods
     * (HttpURLConnection); see {@link BlockingCall#stepwise}. Call {@link
     * #refusedWithoutIdentity()} first.
     */
    public BlockingCall<Void> stepwise(boolean bodyReplayable, long bodyLength) {
      return stepwise(bodyReplayable, bodyLength, () -> null);
    }

    /**
     * {@link #stepwise(boolean, long)}, with {@code mirrorCopy} giving the route mirror's copy
     * (see {@link #mirrorCopy(String[], byte[])}) when the route mirrors.
     */
    public BlockingCall<Void> stepwise(
        boolean bodyReplayable, long bodyLength, java.util.function.Supplier<io.jmesh.runtime.RequestCopy> mirrorCopy) {
      return BlockingCall.stepwise(
          call,
          bodyReplayable,
          bodyLength,
          observer(),
          refusal -> {
            recordRefusal(refusal);
            return null;
          },
          mirrorCopy);
    }

    /**
     * The endpoint of {@code attempt} as the bridge sees it, with the destination's mesh TLS
     * context when it requires one.
     *
     * @throws MeshRefusal when the destination requires mesh TLS and this workload has no
     *     identity: never plaintext
     */
    public BridgeEndpoint endpoint(CallDriver.Attempt<?> attempt) throws MeshRefusal {
      String destination = call.destination();
      javax.net.ssl.SSLContext tls = runtime.meshTlsFor(destination);
      if (tls == null && runtime.requiresMeshTls(destination)) {
        throw new MeshRefusal("jmesh: " + destination + " requires mesh TLS, and this workload has no mesh identity");
      }
      return new MeshEndpoint(attempt.endpoint(), tls);
    }

    private void recordRefusal(Admission refusal) {
      admission = refusal;
      if (span != null) {
        span.refused(refusal.status(), refusal.refusal().header());
      }
    }

    @Override
    public <A> BridgeRpc.Handle startRpc(boolean unary, BridgeRpc<A> rpc) {
      if (refusedWithoutIdentity()) { // never plaintext
        int code = MeshRpc.refusalCode(503);
        call.grpcStatus(code);
        finish();
        rpc.ended(code, "jmesh: refused (HTTP 503): " + refusalReason(), null);
        return (c, description, cause) -> {};
      }
      return MeshRpc.start(this, call, unary, rpc, observer());
    }

    /** The destination's mesh TLS for an attempt, or {@code null} when it needs none. */
    javax.net.ssl.SSLContext meshTlsContext() {
      return runtime.meshTlsFor(call.destination());
    }

    ClientSpan span() {
      return span;
    }

    /** Records each attempt as an event of the call's span, and ends the span with the call. */
    private CallDriver.Observer observer() {
      ClientSpan s = span;
      if (s == null) {
        return CallDriver.Observer.NONE;
      }
      return new CallDriver.Observer() {
        @Override
        public void attemptEnded(Endpoint endpoint, int status, Throwable error, long durationNanos) {
          s.attempt(endpoint.host(), endpoint.port(), status, error, durationNanos);
        }

        @Override
        public void callEnded() {
          s.end();
        }
      };
    }

    public String refusalReason() {
      return noIdentity != null ? noIdentity : admission == null ? null : admission.reason();
    }

    public String refusalKind() {
      if (noIdentity != null) {
        return "no-mesh-identity";
      }
      return admission == null || !admission.isRefused() ? null : admission.refusal().header();
    }

    public BridgeEndpoint nextEndpoint() {
      if (noIdentity != null) {
        return null;
      }
      Endpoint e = call.nextEndpoint();
      if (e == null) {
        return null;
      }
      javax.net.ssl.SSLContext tls = runtime.meshTlsFor(call.destination());
      if (tls == null && runtime.requiresMeshTls(call.destination())) {
        // A client that skips admit: still never plaintext.
        noIdentity =
            "jmesh: " + call.destination() + " requires mesh TLS, and this workload has no mesh identity";
        call.refused("no_mesh_identity");
        return null;
      }
      return new MeshEndpoint(e, tls);
    }

    public String noEndpointMessage() {
      return noIdentity != null ? noIdentity : call.noEndpointMessage();
    }

    @Override
    public String deadlineHeaderValue() {
      return call.deadlineHeaderValue();
    }

    @Override
    public String[] traceHeaders() {
      return span == null ? null : span.headers();
    }

    @Override
    public String[][] requestHeaderEdits() {
      io.jmesh.runtime.config.HeaderModifier edits = call.filters().requestHeaders();
      return edits.isNone() ? null : HeaderEdits.of(edits);
    }

    @Override
    public String[][] responseHeaderEdits() {
      io.jmesh.runtime.config.HeaderModifier edits = call.filters().responseHeaders();
      return edits.isNone() ? null : HeaderEdits.of(edits);
    }

    @Override
    public String rewrittenPath() {
      return call.rewrittenPath();
    }

    /** Whether the route rewrites the host name, so that {@link #authority()} is not the application's. */
    public boolean rewritesHost() {
      return call.filters().rewrite().hostname() != null;
    }

    public long attemptFinished(BridgeEndpoint endpoint, int status, Throwable error, long durationNanos) {
      if (!(endpoint instanceof MeshEndpoint)) {
        return -1;
      }
      if (span != null) {
        span.attempt(endpoint.host(), endpoint.port(), status, error, durationNanos);
      }
      AttemptOutcome outcome = status > 0 ? outcomeOf(status) : classify(error);
      RetryPolicy.Decision d = call.attemptFinished(((MeshEndpoint) endpoint).endpoint, outcome, durationNanos);
      return d.isRetry() ? d.delayNanos() : -1;
    }

    @Override
    public boolean deadlineExpired() {
      return call.deadlineExpired();
    }

    @Override
    public String deadlineMessage() {
      return call.deadlineMessage();
    }

    public void finish() {
      call.finish();
      if (span != null) {
        span.end();
      }
    }
  }

  /** A blocking client's attempts, as the driver asks for them: runtime types to bridge types. */
  private static final class Attempts<R> implements CallDriver.Sender<R> {
    private final Call owner;
    private final BridgeSender<R> sender;

    Attempts(Call owner, BridgeSender<R> sender) {
      this.owner = owner;
      this.sender = sender;
    }

    @Override
    public void send(CallDriver.Attempt<R> attempt) throws IOException {
      BridgeEndpoint endpoint = owner.endpoint(attempt);
      R response;
      try {
        response =
            sender.send(endpoint, attempt.timeoutNanos(), attempt.deadlineHeaderValue(), owner.traceHeaders());
      } catch (IOException | RuntimeException e) {
        attempt.failed(Outcomes.classify(e), e);
        return;
      }
      int status = sender.status(response);
      attempt.succeeded(response, Outcomes.of(status), status);
    }

    @Override
    public void discard(R response) {
      sender.discard(response);
    }

    @Override
    public io.jmesh.runtime.RequestCopy mirrorCopy() {
      String[] headers = sender.mirrorHeaders();
      return headers == null ? null : owner.mirrorCopy(headers, sender.mirrorBody());
    }
  }

  /** The outcome of an answer; see {@link Outcomes#of}. */
  static AttemptOutcome outcomeOf(int status) {
    return Outcomes.of(status);
  }

  /** What kind of failure an attempt's exception is; see {@link Outcomes#classify}. */
  static AttemptOutcome classify(Throwable error) {
    return Outcomes.classify(error);
  }

  /**
   * Checks a server against the destination's identities as of each handshake, so that a client
   * whose TLS is fixed at build time (a gRPC channel) follows config changes; fails closed when
   * the destination stops requiring mesh TLS.
   */
  static final class DestinationTrust extends javax.net.ssl.X509ExtendedTrustManager {
    private final MeshRuntime runtime;
    private final String host;
    private final int port;

    DestinationTrust(MeshRuntime runtime, String host, int port) {
      this.runtime = runtime;
      this.host = host;
      this.port = port;
    }

    private javax.net.ssl.X509ExtendedTrustManager current() throws java.security.cert.CertificateException {
      javax.net.ssl.X509ExtendedTrustManager t = runtime.meshTrustFor(host, port);
      if (t == null) {
        throw new java.security.cert.CertificateException(
            "jmesh: " + host + ":" + port + " does not require mesh TLS in the config in force, or this"
                + " workload has no mesh identity (expected: a destination with identities and a workload"
                + " certificate); refusing the server");
      }
      return t;
    }

    private static java.security.cert.CertificateException clientSide() {
      return new java.security.cert.CertificateException("jmesh: a destination's trust manager checks servers only");
    }

    @Override
    public void checkServerTrusted(java.security.cert.X509Certificate[] chain, String authType, java.net.Socket socket)
        throws java.security.cert.CertificateException {
      current().checkServerTrusted(chain, authType, socket);
    }

    @Override
    public void checkServerTrusted(java.security.cert.X509Certificate[] chain, String authType, javax.net.ssl.SSLEngine engine)
        throws java.security.cert.CertificateException {
      current().checkServerTrusted(chain, authType, engine);
    }

    @Override
    public void checkServerTrusted(java.security.cert.X509Certificate[] chain, String authType)
        throws java.security.cert.CertificateException {
      current().checkServerTrusted(chain, authType);
    }

    @Override
    public void checkClientTrusted(java.security.cert.X509Certificate[] chain, String authType, java.net.Socket socket)
        throws java.security.cert.CertificateException {
      throw clientSide();
    }

    @Override
    public void checkClientTrusted(java.security.cert.X509Certificate[] chain, String authType, javax.net.ssl.SSLEngine engine)
        throws java.security.cert.CertificateException {
      throw clientSide();
    }

    @Override
    public void checkClientTrusted(java.security.cert.X509Certificate[] chain, String authType)
        throws java.security.cert.CertificateException {
      throw clientSide();
    }

    @Override
    public java.security.cert.X509Certificate[] getAcceptedIssuers() {
      javax.net.ssl.X509ExtendedTrustManager t = runtime.meshTrustFor(host, port);
      return t == null ? new java.security.cert.X509Certificate[0] : t.getAcceptedIssuers();
    }
  }
}
