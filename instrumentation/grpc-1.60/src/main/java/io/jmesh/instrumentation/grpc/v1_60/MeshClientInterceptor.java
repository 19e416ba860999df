package io.jmesh.instrumentation.grpc.v1_60;

import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.Deadline;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.jmesh.bridge.BridgeCall;
import io.jmesh.bridge.BridgeCalls;
import io.jmesh.bridge.BridgeRpc;
import io.jmesh.bridge.MeshBridge;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Routes each RPC of a meshed channel when it starts and hands it to the runtime's call driver
 * ({@code BridgeCall.startRpc}): the runtime matches the route with the method as the path ({@code
 * /package.Service/Method}), {@code POST}, the logical authority and the RPC's metadata as
 * headers, picks the backend (a weighted split, a subset), admits the call (rate limit,
 * concurrency cap, faults, the deadline), and asks for each attempt with the endpoint it picked;
 * {@link MeshLoadBalancer} sends the attempt there, finding its {@link AttemptPick} in the
 * attempt's {@link CallOptions}. Stateless; one per channel.
 */
public final class MeshClientInterceptor implements ClientInterceptor {
  private final String host;
  private final int port;
  private final boolean meshTls; // the channel speaks mesh TLS (MeshChannelTls)

  MeshClientInterceptor(String host, int port, boolean meshTls) {
    this.host = host;
    this.port = port;
    this.meshTls = meshTls;
  }

  @Override
  public <ReqT, RespT> ClientCall<ReqT, RespT> interceptCall(
      MethodDescriptor<ReqT, RespT> method, CallOptions callOptions, Channel next) {
    return new MeshClientCall<>(this, method, callOptions, next);
  }

  @Override
  public String toString() {
    return "jmesh MeshClientInterceptor{" + host + ":" + port + "}";
  }

  /**
   * One RPC as the application sees it, made of the attempts the runtime's driver asks for (each
   * a call on the next channel layer, with its own {@link AttemptPick}). This class only
   * translates: it starts an attempt when asked ({@link #send}), with the driver's attempt
   * timeout as its gRPC deadline when that is stricter than the application's and the call's
   * trace headers; replays the application's requests of a unary RPC on it (its one request
   * message is kept); reports how the attempt closed; and closes the application's call when the
   * driver says how the RPC ends. The driver decides everything else: admission, faults,
   * retries (unary RPCs only, never once the application saw part of an attempt's answer, never
   * a cancelled attempt: such attempts are committed), backoff, the deadline.
   *
   * <p>Thread-safety: the application calls it from its threads, attempts call back on the call's
   * executor, and the driver starts an attempt on a timer thread; the state that they share is
   * guarded by this object, and calls into an attempt or the driver are made outside the lock.
   */
  static final class MeshClientCall<ReqT, RespT> extends ClientCall<ReqT, RespT>
      implements BridgeRpc<MeshClientCall<ReqT, RespT>.AttemptListener> {
    private final MeshClientInterceptor owner;
    private final MethodDescriptor<ReqT, RespT> method;
    private final CallOptions callOptions;
    private final Channel next;
    private final boolean unary;

    private Listener<RespT> listener;
    private Metadata headers; // the application's, copied for each attempt
    private BridgeCall call; // null: unmeshed (agent error)
    private BridgeRpc.Handle rpc; // the driver's call; null before it started, or unmeshed
    // What the application asked for: all of it for a unary RPC (replayed on each attempt), and
    // what the current attempt has not been given yet (applied in order by one thread at a time).
    private final List<Op<ReqT, RespT>> log = new ArrayList<>();
    private final ArrayDeque<Op<ReqT, RespT>> queue = new ArrayDeque<>();
    private boolean draining; // a thread is giving the queue to the attempt
    private volatile ClientCall<ReqT, RespT> attempt; // the last attempt; null before the first
    private boolean inFlight; // the last attempt has not closed yet
    private boolean committed; // the application saw part of the answer: no retry
    private boolean closed; // onClose delivered to the application
    private Status cancelled; // the application cancelled

    MeshClientCall(MeshClientInterceptor owner, MethodDescriptor<ReqT, RespT> method, CallOptions callOptions, Channel next) {
      this.owner = owner;
      this.method = method;
      this.callOptions = callOptions;
      this.next = next;
      this.unary = method.getType() == MethodDescriptor.MethodType.UNARY;
    }

    @Override
    public void start(Listener<RespT> listener, Metadata headers) {
      this.listener = listener;
      this.headers = headers;
      BridgeCall c;
      try {
        BridgeCalls calls = MeshBridge.calls();
        c =
            calls == null
                ? null
                : calls.route("http", owner.host, owner.port, "POST", "/" + method.getFullMethodName(), name -> header(headers, name));
      } catch (Throwable t) {
        MeshBridge.adviceError(GrpcInstrumentationModule.NAME, t);
        c = null;
      }
      if (c != null) {
        call = c;
        try {
          BridgeRpc.Handle h = c.startRpc(unary, this);
          Status early;
          synchronized (this) {
            rpc = h;
            early = inFlight ? null : cancelled; // cancelled on another thread while it started
          }
          if (early != null) {
            h.cancel(early.getCode().value(), early.getDescription(), early.getCause());
          }
          return;
        } catch (Throwable t) {
          MeshBridge.adviceError(GrpcInstrumentationModule.NAME, t);
          synchronized (this) {
            if (closed || attempt != null) {
              return; // the driver got as far as an answer or an attempt
            }
          }
          call = null; // not started: the RPC goes unmeshed
        }
      }
      startAttempt(null, callOptions, null);
    }

    // ---- BridgeRpc: what the runtime's driver asks of this RPC.

    @Override
    public void send(BridgeRpc.Attempt<AttemptListener> a) {
      AttemptPick pick = new AttemptPick(owner.meshTls, a.endpoint(), call.authority());
      CallOptions options = callOptions.withOption(AttemptPick.KEY, pick);
      String authority = call.authority();
      if (!authority.equals(next.authority())) {
        options = options.withAuthority(authority); // the route's rewrite.hostname
      }
      long timeout = a.timeoutNanos();
      if (timeout > 0) {
        Deadline mesh = Deadline.after(timeout, TimeUnit.NANOSECONDS);
        if (options.getDeadline() == null || mesh.isBefore(options.getDeadline())) {
          options = options.withDeadline(mesh);
        }
      }
      startAttempt(a, options, pick);
    }

    @Override
    public int code(AttemptListener close) {
      return close.status.getCode().value();
    }

    @Override
    public void answered(AttemptListener close) {
      Status status = close.status;
      if (status.getCode() == Status.Code.DEADLINE_EXCEEDED && call.deadlineExpired()) {
        // Say which budget ran out: the route's timeout, not only "deadline exceeded".
        status = status.augmentDescription(call.deadlineMessage());
      }
      closeApplication(status, close.trailers);
    }

    @Override
    public void ended(int code, String description, Throwable cause) {
      closeApplication(Status.fromCodeValue(code).withDescription(description).withCause(cause), new Metadata());
    }

    /** Starts an attempt with what the application has asked for so far; {@code a} null: unmeshed. */
    private void startAttempt(BridgeRpc.Attempt<AttemptListener> a, CallOptions options, AttemptPick pick) {
      Metadata attemptHeaders = new Metadata();
      attemptHeaders.merge(headers); // gRPC edits an attempt's headers (grpc-timeout, user-agent)
      MethodDescriptor<ReqT, RespT> attemptMethod = method;
      if (a != null) {
        attemptMethod = routeFilters(attemptHeaders);
        traceHeaders(attemptHeaders);
      }
      ClientCall<ReqT, RespT> c = next.newCall(attemptMethod, options);
      AttemptListener l = new AttemptListener(c, a, pick);
      Status cancel;
      synchronized (this) {
        attempt = c;
        inFlight = true;
        if (unary && a != null) {
          queue.clear();
          queue.addAll(log);
        }
        draining = true;
        cancel = cancelled;
      }
      c.start(l, attemptHeaders);
      if (cancel != null) {
        // The application gave up as the driver started this attempt: it ends at once, and its
        // close, committed, ends the RPC.
        c.cancel(cancel.getDescription(), cancel.getCause());
      }
      drain(c);
    }

    /**
     * Applies the route's request header edits to an attempt's metadata (remove, set, add) and
     * returns the method to call: the route's rewritten path as the full method name (the
     * rewritten authority is set on the attempt's options in {@link #send}).
     */
    private MethodDescriptor<ReqT, RespT> routeFilters(Metadata attemptHeaders) {
      String[][] edits = call.requestHeaderEdits();
      if (edits != null) {
        edit(attemptHeaders, edits);
      }
      String path = call.rewrittenPath();
      return path == null ? method : method.toBuilder().setFullMethodName(path.substring(1)).build();
    }

    /**
     * The server's response headers with the route's edits ({@link
     * BridgeCall#responseHeaderEdits}) applied to a copy, or {@code received} itself when the route
     * has none or they cannot be applied: an agent error never costs the application its answer.
     * Trailers are not edited (a trailers-only answer, such as an error status, gets no edits).
     */
    private Metadata responseHeaders(Metadata received) {
      try {
        String[][] edits = call.responseHeaderEdits();
        if (edits == null) {
          return received;
        }
        Metadata edited = new Metadata();
        edited.merge(received);
        edit(edited, edits);
        return edited;
      } catch (Throwable t) {
        MeshBridge.responseHeadersNotEdited(GrpcInstrumentationModule.NAME, t);
        return received;
      }
    }

    /**
     * Applies a route's header edits (the bridge's shape: remove, set, add) to {@code metadata} as
     * text metadata; gRPC's keys are lower case, so the names match case-insensitively.
     */
    private static void edit(Metadata metadata, String[][] edits) {
      for (String name : edits[0]) {
        metadata.discardAll(Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER));
      }
      for (int i = 0; i + 1 < edits[1].length; i += 2) {
        Metadata.Key<String> key = Metadata.Key.of(edits[1][i], Metadata.ASCII_STRING_MARSHALLER);
        metadata.discardAll(key);
        metadata.put(key, edits[1][i + 1]);
      }
      for (int i = 0; i + 1 < edits[2].length; i += 2) {
        metadata.put(Metadata.Key.of(edits[2][i], Metadata.ASCII_STRING_MARSHALLER), edits[2][i + 1]);
      }
    }

    /** Sets the call's trace headers ({@code traceparent}, ...) on an attempt, replacing the application's. */
    private void traceHeaders(Metadata attemptHeaders) {
      try {
        String[] trace = call.traceHeaders();
        if (trace != null) {
          for (int i = 0; i + 1 < trace.length; i += 2) {
            Metadata.Key<String> key = Metadata.Key.of(trace[i], Metadata.ASCII_STRING_MARSHALLER);
            attemptHeaders.discardAll(key);
            attemptHeaders.put(key, trace[i + 1]);
          }
        }
      } catch (Throwable t) {
        MeshBridge.adviceError(GrpcInstrumentationModule.NAME, t);
      }
    }

    /** Gives the attempt what it has not been given yet, in order; the caller set {@code draining}. */
    private void drain(ClientCall<ReqT, RespT> a) {
      while (true) {
        Op<ReqT, RespT> op;
        synchronized (this) {
          if (attempt != a) {
            return; // a newer attempt has its own drainer
          }
          op = queue.poll();
          if (op == null) {
            draining = false;
            return;
          }
        }
        op.apply(a);
      }
    }

    /** Closes the application's call with {@code status}, once. */
    private void closeApplication(Status status, Metadata trailers) {
      synchronized (this) {
        if (closed) {
          return;
        }
        closed = true;
      }
      listener.onClose(status, trailers);
    }

    /** Forwards {@code op} to the current attempt, and keeps it for the next one where needed. */
    private void run(Op<ReqT, RespT> op) {
      ClientCall<ReqT, RespT> a;
      synchronized (this) {
        if (unary && call != null) {
          log.add(op);
        }
        queue.add(op);
        a = attempt;
        if (!inFlight || draining) {
          return; // the next attempt (a closed one may be retried), or the thread draining, takes it
        }
        draining = true;
      }
      drain(a);
    }

    @Override
    public void request(int numMessages) {
      run(new Op<>(Op.REQUEST, numMessages, null));
    }

    @Override
    public void sendMessage(ReqT message) {
      run(new Op<>(Op.SEND, 0, message));
    }

    @Override
    public void halfClose() {
      run(new Op<>(Op.HALF_CLOSE, 0, null));
    }

    @Override
    public void setMessageCompression(boolean enabled) {
      run(new Op<>(Op.COMPRESSION, enabled ? 1 : 0, null));
    }

    @Override
    public void cancel(String message, Throwable cause) {
      ClientCall<ReqT, RespT> a;
      BridgeRpc.Handle h;
      Status s;
      synchronized (this) {
        if (cancelled == null) {
          Status c = Status.CANCELLED;
          c = message != null ? c.withDescription(message) : c.withDescription("Call cancelled without message");
          cancelled = cause != null ? c.withCause(cause) : c;
        }
        s = cancelled;
        a = inFlight ? attempt : null;
        h = rpc;
      }
      if (a != null) {
        // Reaches the server; the attempt's close, committed, ends the RPC through the driver.
        a.cancel(message, cause);
      } else if (h != null) {
        h.cancel(s.getCode().value(), s.getDescription(), s.getCause()); // no attempt in flight
      } else if (listener != null && call == null) {
        closeApplication(s, new Metadata()); // unmeshed, before its attempt
      }
      // Otherwise the driver is starting: its first attempt sees the cancellation.
    }

    @Override
    public boolean isReady() {
      ClientCall<ReqT, RespT> a = attempt;
      return a != null && a.isReady();
    }

    @Override
    public Attributes getAttributes() {
      ClientCall<ReqT, RespT> a = attempt;
      return a != null ? a.getAttributes() : Attributes.EMPTY;
    }

    private static String header(Metadata headers, String name) {
      try {
        return name.endsWith(Metadata.BINARY_HEADER_SUFFIX)
            ? null
            : headers.get(Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER));
      } catch (IllegalArgumentException e) {
        return null; // not a valid metadata name (a pseudo-header): gRPC carries none such
      }
    }

    /**
     * One attempt's callbacks: passes its answer on, and reports its close to the driver, which
     * answers the application or retries; unmeshed ({@code driverAttempt} null), closes it.
     */
    final class AttemptListener extends ClientCall.Listener<RespT> {
      private final ClientCall<ReqT, RespT> self;
      private final BridgeRpc.Attempt<AttemptListener> driverAttempt;
      private final AttemptPick pick;
      Status status; // set at the close, before the driver hears of it
      Metadata trailers;

      AttemptListener(ClientCall<ReqT, RespT> self, BridgeRpc.Attempt<AttemptListener> driverAttempt, AttemptPick pick) {
        this.self = self;
        this.driverAttempt = driverAttempt;
        this.pick = pick;
      }

      @Override
      public void onHeaders(Metadata h) {
        synchronized (MeshClientCall.this) {
          committed = true;
        }
        listener.onHeaders(driverAttempt == null ? h : responseHeaders(h));
      }

      @Override
      public void onMessage(RespT message) {
        synchronized (MeshClientCall.this) {
          committed = true;
        }
        listener.onMessage(message);
      }

      @Override
      public void onReady() {
        if (attempt == self) {
          listener.onReady();
        }
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        this.status = status;
        this.trailers = trailers;
        if (driverAttempt == null) {
          closeApplication(status, trailers);
          return;
        }
        boolean commit;
        synchronized (MeshClientCall.this) {
          inFlight = false;
          commit = committed || cancelled != null;
        }
        try {
          if (commit) {
            driverAttempt.commit();
          }
          report(status);
        } catch (Throwable t) {
          MeshBridge.adviceError(GrpcInstrumentationModule.NAME, t);
          closeApplication(status, trailers); // the driver could not be told: the attempt's close stands
        }
      }

      /** Tells the driver how the attempt went, as the runtime sees it. */
      private void report(Status status) {
        int outcome = pick.outcome();
        if (outcome == AttemptPick.NOT_CONNECTED) {
          driverAttempt.closed(this, 0, -1, GrpcStatuses.notConnected(pick.why()));
        } else if (outcome == AttemptPick.WAITING && !status.isOk()) {
          // Timed out or cancelled while its endpoint connected: nothing was sent.
          Throwable error = GrpcStatuses.error(status);
          driverAttempt.closed(
              this,
              0,
              status.getCode().value(),
              error != null ? error : GrpcStatuses.notConnected("the RPC ended before " + pick.endpoint + " connected"));
        } else {
          driverAttempt.closed(this, GrpcStatuses.httpStatus(status), status.getCode().value(), GrpcStatuses.error(status));
        }
      }
    }
  }

  /** One thing the application asked of the call, to be replayed on a new attempt. */
  static final class Op<ReqT, RespT> {
    static final int REQUEST = 0;
    static final int SEND = 1;
    static final int HALF_CLOSE = 2;
    static final int COMPRESSION = 3;

    private final int kind;
    private final int n;
    private final ReqT message;

    Op(int kind, int n, ReqT message) {
      this.kind = kind;
      this.n = n;
      this.message = message;
    }

    void apply(ClientCall<ReqT, RespT> call) {
      switch (kind) {
        case REQUEST:
          call.request(n);
          break;
        case SEND:
          call.sendMessage(message);
          break;
        case HALF_CLOSE:
          call.halfClose();
          break;
        default:
          call.setMessageCompression(n != 0);
      }
    }
  }
}
