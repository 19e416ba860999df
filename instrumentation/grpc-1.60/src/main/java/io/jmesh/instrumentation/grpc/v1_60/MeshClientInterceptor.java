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
import io.jmesh.bridge.MeshBridge;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Routes each RPC of a meshed channel when it starts and drives its attempts. The runtime matches
 * the route with the method as the path ({@code /package.Service/Method}), {@code POST}, the
 * logical authority and the RPC's metadata as headers, picks the backend (a weighted split, a
 * subset) and admits the call (rate limit, concurrency cap, faults, the deadline's start). The
 * endpoint is picked per attempt by {@link MeshLoadBalancer}, which finds the attempt's {@link
 * RpcState} in its {@link CallOptions}. Stateless; one per channel.
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
   * One RPC as the application sees it, made of one or more attempts (each a call on the next
   * channel layer, with its own {@link RpcState}):
   *
   * <ul>
   *   <li>Deadline: each attempt gets the runtime's attempt timeout (the route's timeout, the
   *       per-try timeout, what is left of the caller's {@code x-jmesh-deadline-ms} budget) as its
   *       gRPC deadline when that is stricter than the application's.
   *   <li>Retries, of unary RPCs only: the single request message is kept, and when an attempt
   *       closes before the application saw any of its answer (no headers, no message) and the
   *       runtime's {@code attemptFinished} says retry (the route's statuses, attempts, budget,
   *       deadline), a new attempt starts after the runtime's backoff, on an endpoint the runtime
   *       picks again. Streaming RPCs are never retried.
   * </ul>
   *
   * <p>Thread-safety: the application calls it from its threads, attempts call back on the call's
   * executor, and a delayed retry starts on a timer thread; the state that they share is guarded
   * by this object, and calls into an attempt are made outside no lock that an attempt's callback
   * could need on another thread.
   */
  static final class MeshClientCall<ReqT, RespT> extends ClientCall<ReqT, RespT> {
    private final MeshClientInterceptor owner;
    private final MethodDescriptor<ReqT, RespT> method;
    private final CallOptions callOptions;
    private final Channel next;
    private final boolean unary;

    private Listener<RespT> listener;
    private Metadata headers; // the application's, copied for each attempt
    private BridgeCall call; // null: unmeshed (agent error)
    // What the application asked for: all of it for a unary RPC (replayed on each attempt), and
    // what the current attempt has not been given yet (applied in order by one thread at a time).
    private final List<Op<ReqT, RespT>> log = new ArrayList<>();
    private final ArrayDeque<Op<ReqT, RespT>> queue = new ArrayDeque<>();
    private boolean draining; // a thread is giving the queue to the attempt
    private volatile ClientCall<ReqT, RespT> attempt; // null before the first attempt and between attempts
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
      try {
        BridgeCalls calls = MeshBridge.calls();
        call =
            calls == null
                ? null
                : calls.route("http", owner.host, owner.port, "POST", "/" + method.getFullMethodName(), name -> header(headers, name));
      } catch (Throwable t) {
        MeshBridge.adviceError(GrpcInstrumentationModule.NAME, t);
        call = null;
      }
      if (call == null) {
        startAttempt();
        return;
      }
      int refused;
      try {
        // The one request message of a unary RPC is kept here, whatever its size, as gRPC's own
        // retries keep it; streaming RPCs are never replayed.
        refused = call.admit(unary, unary ? 0 : -1);
      } catch (Throwable t) {
        MeshBridge.adviceError(GrpcInstrumentationModule.NAME, t);
        refused = 0;
      }
      if (refused != 0) {
        closeLocally(GrpcStatuses.refusal(refused, call.refusalReason()));
        return;
      }
      long delay = call.admissionDelayNanos();
      CompletableFuture<Void> slot = call.admissionSlot();
      if (delay <= 0 && slot == null) {
        startAttempt();
        return;
      }
      CompletableFuture<Void> ready =
          delay > 0
              ? CompletableFuture.runAsync(() -> {}, CompletableFuture.delayedExecutor(delay, TimeUnit.NANOSECONDS))
              : CompletableFuture.completedFuture(null);
      if (slot != null) {
        ready = ready.thenCompose(v -> slot);
      }
      ready.whenComplete(
          (v, error) -> {
            if (error == null) {
              startAttempt();
              return;
            }
            // The destination's pending queue gave up on this call: refused as a full queue is.
            Throwable cause = error instanceof java.util.concurrent.CompletionException && error.getCause() != null ? error.getCause() : error;
            closeLocally(
                GrpcStatuses.refusal(503, "overloaded: " + call.authority() + ": " + cause.getMessage()).withCause(cause));
          });
    }

    /** Starts the next attempt with what the application has asked for so far. */
    private void startAttempt() {
      ClientCall<ReqT, RespT> a;
      RpcState state;
      Metadata attemptHeaders = new Metadata();
      attemptHeaders.merge(headers); // gRPC edits an attempt's headers (grpc-timeout, user-agent)
      synchronized (this) {
        if (closed) {
          return;
        }
        if (cancelled != null) {
          closeLocally(cancelled);
          return;
        }
        state = new RpcState(owner.meshTls, call);
        CallOptions options = callOptions.withOption(RpcState.KEY, state);
        if (call != null) {
          long timeout = call.attemptTimeoutNanos();
          if (timeout == 0) {
            closeLocally(Status.DEADLINE_EXCEEDED.withDescription(call.deadlineMessage()));
            return;
          }
          if (timeout > 0) {
            Deadline mesh = Deadline.after(timeout, TimeUnit.NANOSECONDS);
            if (options.getDeadline() == null || mesh.isBefore(options.getDeadline())) {
              options = options.withDeadline(mesh);
            }
          }
        }
        a = next.newCall(method, options);
        attempt = a;
        if (replayable()) {
          queue.clear();
          queue.addAll(log);
        }
        draining = true;
      }
      a.start(new AttemptListener(a, state), attemptHeaders);
      drain(a);
    }

    /** Whether attempts after the first get the application's requests again (unary RPCs). */
    private boolean replayable() {
      return unary && call != null;
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

    /** Ends the RPC with {@code status} without (another) attempt. */
    private void closeLocally(Status status) {
      synchronized (this) {
        if (closed) {
          return;
        }
        closed = true;
        attempt = null;
      }
      if (call != null) {
        call.finish(status.getCode().value());
      }
      listener.onClose(status, new Metadata());
    }

    /** Forwards {@code op} to the current attempt, and keeps it for the next one where needed. */
    private void run(Op<ReqT, RespT> op) {
      ClientCall<ReqT, RespT> a;
      synchronized (this) {
        if (replayable()) {
          log.add(op);
        }
        queue.add(op);
        a = attempt;
        if (a == null || draining) {
          return; // the next attempt, or the thread draining, takes it
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
      synchronized (this) {
        if (cancelled == null) {
          Status s = Status.CANCELLED;
          s = message != null ? s.withDescription(message) : s.withDescription("Call cancelled without message");
          cancelled = cause != null ? s.withCause(cause) : s;
        }
        a = attempt;
      }
      if (a != null) {
        a.cancel(message, cause); // its close reaches the application through AttemptListener
      } else if (listener != null) {
        closeLocally(cancelled); // between attempts, or before the first
      }
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

    /** One attempt's callbacks: passes them on, and at its close ends the RPC or retries it. */
    final class AttemptListener extends ClientCall.Listener<RespT> {
      private final ClientCall<ReqT, RespT> self;
      private final RpcState state;

      AttemptListener(ClientCall<ReqT, RespT> self, RpcState state) {
        this.self = self;
        this.state = state;
      }

      @Override
      public void onHeaders(Metadata h) {
        synchronized (MeshClientCall.this) {
          committed = true;
        }
        listener.onHeaders(h);
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
        long retryIn = -1;
        try {
          retryIn = state.attemptEnded(status);
        } catch (Throwable t) {
          MeshBridge.adviceError(GrpcInstrumentationModule.NAME, t);
        }
        boolean retry;
        synchronized (MeshClientCall.this) {
          retry = !status.isOk() && unary && call != null && !committed && cancelled == null && !closed && retryIn >= 0;
          if (retry) {
            attempt = null;
          } else {
            closed = true;
          }
        }
        if (retry) {
          if (retryIn == 0) {
            startAttempt();
          } else {
            CompletableFuture.delayedExecutor(retryIn, TimeUnit.NANOSECONDS).execute(MeshClientCall.this::startAttempt);
          }
          return;
        }
        if (call != null) {
          if (status.getCode() == Status.Code.DEADLINE_EXCEEDED && call.deadlineExpired()) {
            // Say which budget ran out: the route's timeout, not only "deadline exceeded".
            status = status.augmentDescription(call.deadlineMessage());
          }
          call.finish(status.getCode().value());
        }
        listener.onClose(status, trailers);
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
