package io.jmesh.instrumentation.grpc.v1_60;

import io.grpc.Attributes;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServerTransportFilter;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A real gRPC server (grpc-netty-shaded, plaintext) on one loopback address, defined without
 * protoc: two services with one unary String method each, answering {@code instance=<name>
 * method=<full method> authority=<:authority> client=<x-jmesh-client-id or null> env=<x-env>
 * debug=<x-debug>} (every value, comma-joined); a server
 * stream ({@link #COUNT}); and two methods that hold the RPC open until the client cancels it
 * ({@link #HANG}, {@link #WATCH}). A delay makes it a slow endpoint; it is applied with a
 * scheduler, never by sleeping.
 */
final class TestGrpcServer implements AutoCloseable {
  static final MethodDescriptor.Marshaller<String> STRING =
      new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(String value) {
          return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
        }

        @Override
        public String parse(InputStream stream) {
          try {
            return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
      };

  static final MethodDescriptor<String, String> HELLO = unary("test.Greeter/Hello");
  static final MethodDescriptor<String, String> STATS = unary("test.Admin/Stats");
  /** Request "n": answers n messages "0".."n-1", or the server's failure before any message. */
  static final MethodDescriptor<String, String> COUNT =
      MethodDescriptor.<String, String>newBuilder()
          .setType(MethodDescriptor.MethodType.SERVER_STREAMING)
          .setFullMethodName("test.Counter/Count")
          .setRequestMarshaller(STRING)
          .setResponseMarshaller(STRING)
          .build();

  /** Never answered: the RPC ends when the client cancels it (or its deadline passes). */
  static final MethodDescriptor<String, String> HANG = unary("test.Waiter/Hang");
  /** Answers one message "0" and then nothing more, until the client cancels it. */
  static final MethodDescriptor<String, String> WATCH =
      MethodDescriptor.<String, String>newBuilder()
          .setType(MethodDescriptor.MethodType.SERVER_STREAMING)
          .setFullMethodName("test.Waiter/Watch")
          .setRequestMarshaller(STRING)
          .setResponseMarshaller(STRING)
          .build();

  private static final Context.Key<String> AUTHORITY = Context.key("authority");
  private static final Context.Key<String> CLIENT = Context.key("client");
  private static final Context.Key<String> ENV = Context.key("env");
  private static final Context.Key<String> DEBUG = Context.key("debug");
  /** Set by a jmesh inbound terminator in front of the server: the caller's SPIFFE id. */
  private static final Metadata.Key<String> CLIENT_ID =
      Metadata.Key.of("x-jmesh-client-id", Metadata.ASCII_STRING_MARSHALLER);
  private static final ScheduledExecutorService DELAYS =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "test-grpc-server-delays");
            t.setDaemon(true);
            return t;
          });

  private final String name;
  private final Server server;
  private volatile long delayMillis;
  private volatile io.grpc.Status failure; // null: answer normally
  private final java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
  private final java.util.concurrent.atomic.AtomicInteger connections = new java.util.concurrent.atomic.AtomicInteger();
  private final java.util.concurrent.atomic.AtomicInteger hanging = new java.util.concurrent.atomic.AtomicInteger();
  private final java.util.concurrent.atomic.AtomicInteger cancelled = new java.util.concurrent.atomic.AtomicInteger();

  TestGrpcServer(String name, String ip) throws IOException {
    this.name = name;
    ServerInterceptor authority =
        new ServerInterceptor() {
          @Override
          public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
              ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
            calls.incrementAndGet();
            Context c = Context.current().withValues(AUTHORITY, call.getAuthority(), CLIENT, headers.get(CLIENT_ID),
                ENV, all(headers, "x-env"), DEBUG, all(headers, "x-debug"));
            // Response headers for routes to edit.
            ServerCall<ReqT, RespT> withHeaders =
                new io.grpc.ForwardingServerCall.SimpleForwardingServerCall<>(call) {
                  @Override
                  public void sendHeaders(Metadata responseHeaders) {
                    responseHeaders.put(Metadata.Key.of("x-resp-env", Metadata.ASCII_STRING_MARSHALLER), "server");
                    responseHeaders.put(Metadata.Key.of("x-resp-tag", Metadata.ASCII_STRING_MARSHALLER), "server");
                    responseHeaders.put(Metadata.Key.of("x-resp-debug", Metadata.ASCII_STRING_MARSHALLER), "on");
                    super.sendHeaders(responseHeaders);
                  }
                };
            return Contexts.interceptCall(c, withHeaders, headers, next);
          }
        };
    this.server =
        NettyServerBuilder.forAddress(new InetSocketAddress(ip, 0))
            .addTransportFilter(
                new ServerTransportFilter() {
                  @Override
                  public Attributes transportReady(Attributes attributes) {
                    connections.incrementAndGet();
                    return attributes;
                  }

                  @Override
                  public void transportTerminated(Attributes attributes) {
                    connections.decrementAndGet();
                  }
                })
            .addService(ServerInterceptors.intercept(service("test.Greeter", HELLO), authority))
            .addService(ServerInterceptors.intercept(service("test.Admin", STATS), authority))
            .addService(
                ServerInterceptors.intercept(
                    ServerServiceDefinition.builder("test.Waiter")
                        .addMethod(HANG, ServerCalls.asyncUnaryCall((String request, StreamObserver<String> out) -> hang(out, false)))
                        .addMethod(WATCH, ServerCalls.asyncServerStreamingCall((String request, StreamObserver<String> out) -> hang(out, true)))
                        .build(),
                    authority))
            .addService(
                ServerInterceptors.intercept(
                    ServerServiceDefinition.builder("test.Counter")
                        .addMethod(COUNT, ServerCalls.asyncServerStreamingCall(this::count))
                        .build(),
                    authority))
            .build()
            .start();
  }

  private static MethodDescriptor<String, String> unary(String fullName) {
    return MethodDescriptor.<String, String>newBuilder()
        .setType(MethodDescriptor.MethodType.UNARY)
        .setFullMethodName(fullName)
        .setRequestMarshaller(STRING)
        .setResponseMarshaller(STRING)
        .build();
  }

  private ServerServiceDefinition service(String serviceName, MethodDescriptor<String, String> method) {
    return ServerServiceDefinition.builder(serviceName)
        .addMethod(method, ServerCalls.asyncUnaryCall((String request, StreamObserver<String> out) -> answer(method, out)))
        .build();
  }

  /** Every value of header {@code name}, comma-joined, or null. */
  private static String all(Metadata headers, String name) {
    Iterable<String> values = headers.getAll(Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER));
    return values == null ? null : String.join(",", values);
  }

  private void answer(MethodDescriptor<String, String> method, StreamObserver<String> out) {
    String body = "instance=" + name + " method=" + method.getFullMethodName() + " authority=" + AUTHORITY.get() + " client=" + CLIENT.get()
        + " env=" + ENV.get() + " debug=" + DEBUG.get();
    Runnable reply =
        () -> {
          out.onNext(body);
          out.onCompleted();
        };
    io.grpc.Status fail = failure;
    if (fail != null) {
      out.onError(fail.withDescription(name + " is failing on purpose").asRuntimeException());
      return;
    }
    long delay = delayMillis;
    if (delay > 0) {
      DELAYS.schedule(reply, delay, TimeUnit.MILLISECONDS);
    } else {
      reply.run();
    }
  }

  private void count(String request, StreamObserver<String> out) {
    io.grpc.Status fail = failure;
    if (fail != null) {
      out.onError(fail.withDescription(name + " is failing on purpose").asRuntimeException());
      return;
    }
    for (int i = 0; i < Integer.parseInt(request); i++) {
      out.onNext(Integer.toString(i));
    }
    out.onCompleted();
  }

  /**
   * Holds the RPC open, counted in {@link #hanging()}, until the client cancels it, which is
   * counted in {@link #cancelled()} (gRPC's server-side view of a cancellation).
   */
  private void hang(StreamObserver<String> out, boolean firstMessage) {
    ServerCallStreamObserver<String> call = (ServerCallStreamObserver<String>) out;
    call.setOnCancelHandler(cancelled::incrementAndGet);
    if (firstMessage) {
      out.onNext("0");
    }
    hanging.incrementAndGet();
  }

  /** RPCs of {@link #HANG} or {@link #WATCH} that this server holds open (or held). */
  int hanging() {
    return hanging.get();
  }

  /** RPCs that their client cancelled while this server held them open. */
  int cancelled() {
    return cancelled.get();
  }

  int port() {
    return server.getPort();
  }

  /** Client connections open now (HTTP/2 handshake done, not yet closed). */
  int connections() {
    return connections.get();
  }

  /** RPCs that reached this server. */
  int calls() {
    return calls.get();
  }

  /** Answers every RPC with {@code status} from now on; {@code null} to answer normally again. */
  void failWith(io.grpc.Status status) {
    failure = status;
  }

  void delay(long millis) {
    delayMillis = millis;
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow();
    server.awaitTermination(10, TimeUnit.SECONDS);
  }
}
