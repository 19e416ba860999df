package io.jmesh.runtime.inbound;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.jmesh.runtime.identity.MeshTls;
import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.identity.TestIdentities;
import io.jmesh.runtime.identity.TlsRefusals;
import io.jmesh.runtime.time.FakeTicker;
import io.jmesh.runtime.time.Ticker;
import io.jmesh.runtime.trace.TraceSettings;
import io.jmesh.runtime.trace.Tracing;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.IdentityCipherSuiteFilter;
import io.netty.handler.ssl.JdkSslContext;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * gRPC through the inbound terminator, with real sockets: a grpc-java server as the application
 * on loopback (cleartext HTTP/2), a grpc-java client holding a certificate of the mesh (TLS 1.3,
 * ALPN h2) as the caller. The test service is defined without protoc: UTF-8 strings as messages.
 */
class GrpcInboundIT {
  private static final String TD = "cluster.local";
  private static final SpiffeId SERVER = SpiffeId.of(TD, "default", "hello");
  private static final SpiffeId CLIENT = SpiffeId.of(TD, "shop", "web");
  private static final String SERVICE = "jmesh.test.Echo";
  private static final Duration WAIT = Duration.ofSeconds(20);

  /** UTF-8 strings as messages (shared with {@link MeshHeadersIT}). */
  static final MethodDescriptor.Marshaller<String> UTF8 =
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

  private static MethodDescriptor<String, String> method(String name, MethodDescriptor.MethodType type) {
    return MethodDescriptor.<String, String>newBuilder(UTF8, UTF8)
        .setType(type)
        .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, name))
        .build();
  }

  /** Answers "<request> from <x-jmesh-client-id>". */
  private static final MethodDescriptor<String, String> UNARY = method("Unary", MethodDescriptor.MethodType.UNARY);
  /** Request "n": answers n messages "0".."n-1". */
  private static final MethodDescriptor<String, String> COUNT = method("Count", MethodDescriptor.MethodType.SERVER_STREAMING);
  /** Answers "<messages>:<total characters>" after the caller's half-close. */
  private static final MethodDescriptor<String, String> JOIN = method("Join", MethodDescriptor.MethodType.CLIENT_STREAMING);
  /** Answers each message with "echo:<message>". */
  private static final MethodDescriptor<String, String> ECHO = method("Echo", MethodDescriptor.MethodType.BIDI_STREAMING);
  /** Fails with NOT_FOUND and a trailer of its own. */
  private static final MethodDescriptor<String, String> FAIL = method("Fail", MethodDescriptor.MethodType.UNARY);
  /** Never answers; reports its cancellation. */
  private static final MethodDescriptor<String, String> HANG = method("Hang", MethodDescriptor.MethodType.UNARY);
  /** Streams 64 KiB messages as long as the transport is ready, up to FLOOD_BYTES. */
  private static final MethodDescriptor<String, String> FLOOD = method("Flood", MethodDescriptor.MethodType.SERVER_STREAMING);

  /** Answers only once {@link #GATED} calls are waiting at the same time. */
  private static final MethodDescriptor<String, String> GATE = method("Gate", MethodDescriptor.MethodType.UNARY);
  private static final int GATED = 10;
  private static final Metadata.Key<String> TRACEPARENT = Metadata.Key.of("traceparent", Metadata.ASCII_STRING_MARSHALLER);

  private static final Context.Key<String> CLIENT_ID = Context.key("client-id");
  private static final Metadata.Key<String> CLIENT_ID_HEADER =
      Metadata.Key.of(InboundTerminator.CLIENT_ID_HEADER, Metadata.ASCII_STRING_MARSHALLER);
  private static final Metadata.Key<String> DETAIL = Metadata.Key.of("x-detail", Metadata.ASCII_STRING_MARSHALLER);
  private static final int CHUNK = 64 << 10;
  private static final long FLOOD_BYTES = 32L << 20;

  private final TestIdentities mesh = TestIdentities.mesh("mesh");
  private final TlsRefusals refusals = new TlsRefusals();
  private final InboundStats stats = new InboundStats(io.jmesh.runtime.telemetry.MeshMetrics.noop().server("unknown"));
  /** The terminator's time: only the application's unary call {@code slow} moves it. */
  private final FakeTicker ticker = new FakeTicker();
  private final BlockingQueue<String> hangStarted = new LinkedBlockingQueue<>();
  private final CompletableFuture<String> hangCancelled = new CompletableFuture<>();
  private final AtomicLong flooded = new AtomicLong();
  private final CompletableFuture<Long> floodBlocked = new CompletableFuture<>();
  private final Set<String> appConnections = ConcurrentHashMap.newKeySet();
  private final BlockingQueue<String> traceparents = new LinkedBlockingQueue<>();
  private final List<StreamObserver<String>> gated = new ArrayList<>();
  private final InMemorySpanExporter spans = InMemorySpanExporter.create();
  private volatile AuthorizationPolicy policy = AuthorizationPolicy.allAuthenticated();
  private Tracing tracing = Tracing.disabled();
  private ServerServiceDefinition service;
  private Server app;
  private InboundTerminator terminator;
  private ManagedChannel channel;

  @BeforeEach
  void setUp() throws Exception {
    ServerInterceptor clientId =
        new ServerInterceptor() {
          @Override
          public <Q, A> ServerCall.Listener<Q> interceptCall(
              ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
            appConnections.add(String.valueOf(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR)));
            traceparents.add(String.valueOf(headers.get(TRACEPARENT)));
            return Contexts.interceptCall(
                Context.current().withValue(CLIENT_ID, headers.get(CLIENT_ID_HEADER)), call, headers, next);
          }
        };
    ServerServiceDefinition echo =
        ServerServiceDefinition.builder(SERVICE)
            .addMethod(UNARY, ServerCalls.asyncUnaryCall((req, out) -> {
              if (req.equals("slow")) {
                ticker.advance(Duration.ofMillis(40)); // the application takes 40 ms to answer
              }
              out.onNext(req + " from " + CLIENT_ID.get());
              out.onCompleted();
            }))
            .addMethod(COUNT, ServerCalls.asyncServerStreamingCall((req, out) -> {
              for (int i = 0; i < Integer.parseInt(req); i++) {
                out.onNext(Integer.toString(i));
              }
              out.onCompleted();
            }))
            .addMethod(JOIN, ServerCalls.asyncClientStreamingCall(out -> new StreamObserver<String>() {
              int n;
              long chars;

              @Override
              public void onNext(String value) {
                n++;
                chars += value.length();
              }

              @Override
              public void onError(Throwable t) {}

              @Override
              public void onCompleted() {
                out.onNext(n + ":" + chars);
                out.onCompleted();
              }
            }))
            .addMethod(ECHO, ServerCalls.asyncBidiStreamingCall(out -> new StreamObserver<String>() {
              @Override
              public void onNext(String value) {
                out.onNext("echo:" + value);
              }

              @Override
              public void onError(Throwable t) {}

              @Override
              public void onCompleted() {
                out.onCompleted();
              }
            }))
            .addMethod(FAIL, ServerCalls.asyncUnaryCall((req, out) -> {
              Metadata trailers = new Metadata();
              trailers.put(DETAIL, "looked in the shelf");
              out.onError(Status.NOT_FOUND.withDescription("no item " + req + " (100%)").asRuntimeException(trailers));
            }))
            .addMethod(HANG, ServerCalls.asyncUnaryCall((req, out) -> {
              Context.current().addListener(c -> hangCancelled.complete(req), Runnable::run);
              hangStarted.add(req);
            }))
            .addMethod(GATE, ServerCalls.asyncUnaryCall((req, out) -> {
              // Holds every call until GATED calls are open at once, then answers them all.
              synchronized (gated) {
                gated.add(out);
                if (gated.size() == GATED) {
                  for (StreamObserver<String> o : gated) {
                    o.onNext("through");
                    o.onCompleted();
                  }
                }
              }
            }))
            .addMethod(FLOOD, ServerCalls.asyncServerStreamingCall((req, out) -> {
              ServerCallStreamObserver<String> call = (ServerCallStreamObserver<String>) out;
              String chunk = "x".repeat(CHUNK);
              java.util.concurrent.atomic.AtomicBoolean completed = new java.util.concurrent.atomic.AtomicBoolean();
              Runnable pump = () -> {
                while (call.isReady() && flooded.get() < FLOOD_BYTES) {
                  call.onNext(chunk);
                  flooded.addAndGet(CHUNK);
                }
                if (flooded.get() >= FLOOD_BYTES) {
                  if (completed.compareAndSet(false, true)) {
                    call.onCompleted(); // once: onReady may come again after the last message
                  }
                } else {
                  floodBlocked.complete(flooded.get()); // the first time it had to wait
                }
              };
              call.setOnReadyHandler(pump);
              pump.run();
            }))
            .build();
    service = ServerInterceptors.intercept(echo, clientId);
    app = startApp(b -> {});
  }

  private Server startApp(java.util.function.Consumer<NettyServerBuilder> settings) throws IOException {
    NettyServerBuilder b =
        NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).addService(service);
    settings.accept(b);
    return b.build().start();
  }

  /** Replaces the application by one with other HTTP/2 settings. */
  private void restartApp(java.util.function.Consumer<NettyServerBuilder> settings) throws Exception {
    app.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    app = startApp(settings);
  }

  @AfterEach
  void tearDown() throws Exception {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }
    if (terminator != null) {
      terminator.close();
    }
    app.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    tracing.close();
  }

  private void start(int appPort) throws Exception {
    start(appPort, InboundTerminator.Limits.defaults());
  }

  private void start(int appPort, InboundTerminator.Limits limits) throws Exception {
    terminator =
        InboundTerminator.start(
            InboundTerminator.Options.of(
                    new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                    new InetSocketAddress(InetAddress.getLoopbackAddress(), appPort))
                .withLimits(limits),
            mesh.tls(SERVER, refusals),
            () -> policy,
            stats,
            tracing,
            ticker);
    // The caller: the mesh's client context (it checks the server's SPIFFE id, not a host name).
    JdkSslContext ssl = callerSsl(mesh.tls(CLIENT, refusals));
    channel =
        NettyChannelBuilder.forAddress("127.0.0.1", terminator.port())
            .sslContext(ssl)
            .overrideAuthority("hello.default")
            .flowControlWindow(1 << 20) // fixed, so that the flood test knows the bound
            .build();
  }

  /** A caller's Netty TLS: the mesh's client context for hello.default, ALPN h2, TLS 1.3. */
  static JdkSslContext callerSsl(MeshTls tls) {
    return new JdkSslContext(
        tls.clientContext("hello.default", Set.of(SERVER)),
        true,
        null,
        IdentityCipherSuiteFilter.INSTANCE,
        new ApplicationProtocolConfig(
            ApplicationProtocolConfig.Protocol.ALPN,
            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
            ApplicationProtocolNames.HTTP_2),
        ClientAuth.NONE,
        new String[] {"TLSv1.3"},
        false);
  }

  private CallOptions options() {
    return CallOptions.DEFAULT.withDeadlineAfter(WAIT.toMillis(), TimeUnit.MILLISECONDS);
  }

  @Test
  void unaryCallReachesTheApplicationWithTheCallersIdentity() throws Exception {
    start(app.getPort());

    String answer = ClientCalls.blockingUnaryCall(channel, UNARY, options(), "hi");

    assertThat(answer).isEqualTo("hi from " + CLIENT);
    // Recorded just after the last frame went out: the caller may have it first.
    await().atMost(WAIT).until(() -> stats.succeeded() == 1);
    assertThat(refusals.total()).isZero();
  }

  @Test
  void aCallsLatencyIsTheTimeTheTickerMovedWhileItWasRelayed() throws Exception {
    start(app.getPort());

    assertThat(ClientCalls.blockingUnaryCall(channel, UNARY, options(), "slow")).isEqualTo("slow from " + CLIENT);

    // Recorded just after the last frame went out: the caller may have it first.
    await().atMost(WAIT).untilAsserted(() -> {
      assertThat(stats.succeeded()).isEqualTo(1);
      assertThat(stats.latencyNanosTotal()).isEqualTo(TimeUnit.MILLISECONDS.toNanos(40));
    });
  }

  @Test
  void aForgedIdentityHeaderIsReplaced() throws Exception {
    start(app.getPort());
    Metadata forged = new Metadata();
    forged.put(CLIENT_ID_HEADER, "spiffe://evil/ns/x/sa/y");

    String answer =
        ClientCalls.blockingUnaryCall(
            io.grpc.ClientInterceptors.intercept(channel, io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(forged)),
            UNARY,
            options(),
            "hi");

    assertThat(answer).isEqualTo("hi from " + CLIENT);
  }

  @Test
  void serverStreamingKeepsOrderAndEnds() throws Exception {
    start(app.getPort());

    Iterator<String> answers = ClientCalls.blockingServerStreamingCall(channel, COUNT, options(), "2000");
    List<String> got = new ArrayList<>();
    answers.forEachRemaining(got::add);

    assertThat(got).hasSize(2000);
    for (int i = 0; i < 2000; i++) {
      assertThat(got.get(i)).isEqualTo(Integer.toString(i));
    }
  }

  @Test
  void clientStreamingWithAMessageLargerThanTheWindow() throws Exception {
    start(app.getPort());
    CompletableFuture<String> answer = new CompletableFuture<>();
    StreamObserver<String> requests =
        ClientCalls.asyncClientStreamingCall(channel.newCall(JOIN, options()), observer(answer));

    // 500 small messages, then one of 1 MiB: far beyond HTTP/2's initial 64 KiB window, so the
    // relay must pass window updates on both of its streams.
    for (int i = 0; i < 500; i++) {
      requests.onNext("m");
    }
    requests.onNext("b".repeat(1 << 20));
    requests.onCompleted();

    assertThat(answer.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo("501:" + (500 + (1 << 20)));
  }

  @Test
  void bidiStreamingEchoesAThousandMessagesAndALargeOne() throws Exception {
    start(app.getPort());
    BlockingQueue<String> echoed = new LinkedBlockingQueue<>();
    CompletableFuture<Void> done = new CompletableFuture<>();
    StreamObserver<String> requests =
        ClientCalls.asyncBidiStreamingCall(
            channel.newCall(ECHO, options()),
            new StreamObserver<String>() {
              @Override
              public void onNext(String value) {
                echoed.add(value);
              }

              @Override
              public void onError(Throwable t) {
                done.completeExceptionally(t);
              }

              @Override
              public void onCompleted() {
                done.complete(null);
              }
            });

    // Interleaved: each answer arrives while the caller is still sending.
    for (int i = 0; i < 1000; i++) {
      requests.onNext("m" + i);
    }
    assertThat(echoed.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo("echo:m0");
    String big = "B".repeat(200 << 10);
    requests.onNext(big);
    requests.onCompleted();
    done.get(WAIT.toSeconds(), TimeUnit.SECONDS);

    List<String> rest = new ArrayList<>();
    echoed.drainTo(rest);
    assertThat(rest).hasSize(1000);
    for (int i = 1; i < 1000; i++) {
      assertThat(rest.get(i - 1)).isEqualTo("echo:m" + i);
    }
    assertThat(rest.get(999)).isEqualTo("echo:" + big);
  }

  @Test
  void theApplicationsStatusAndTrailersReachTheCaller() throws Exception {
    start(app.getPort());

    assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel, FAIL, options(), "42"))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
              assertThat(e.getStatus().getDescription()).isEqualTo("no item 42 (100%)");
              assertThat(e.getTrailers().get(DETAIL)).isEqualTo("looked in the shelf");
            });
    // A NOT_FOUND is the caller's problem, not a server error.
    await().atMost(WAIT).until(() -> stats.requests() == 1);
    assertThat(stats.succeeded()).isEqualTo(1);
  }

  @Test
  void aCallerCancelReachesTheApplication() throws Exception {
    start(app.getPort());
    ClientCall<String, String> call = channel.newCall(HANG, options());
    CompletableFuture<Status> closed = new CompletableFuture<>();
    call.start(
        new ClientCall.Listener<>() {
          @Override
          public void onClose(Status status, Metadata trailers) {
            closed.complete(status);
          }
        },
        new Metadata());
    call.sendMessage("wait");
    call.halfClose();
    call.request(1);
    assertThat(hangStarted.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo("wait");

    call.cancel("the caller gave up", null);

    assertThat(hangCancelled.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo("wait");
    assertThat(closed.get(WAIT.toSeconds(), TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.CANCELLED);
    await().atMost(WAIT).until(() -> stats.requests() == 1);
  }

  @Test
  void theCallersDeadlineReachesTheApplication() throws Exception {
    start(app.getPort());
    // One call first: a channel's first call (the TLS handshake, the relay's h2c connection to the
    // application, first-use class loading) took more than a 300 ms deadline on a loaded machine,
    // and the application then never saw the call whose expiry this test follows.
    ClientCalls.blockingUnaryCall(channel, UNARY, options(), "warm");

    // grpc-timeout is relayed with the headers: the application's call expires with the caller's.
    // 1 s: the application holds the call until it is cancelled, so only the deadline ends it.
    assertThatThrownBy(
            () ->
                ClientCalls.blockingUnaryCall(
                    channel, HANG, CallOptions.DEFAULT.withDeadlineAfter(1, TimeUnit.SECONDS), "late"))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
    assertThat(hangCancelled.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo("late");
    await().atMost(WAIT).until(() -> stats.requests() == 2);
  }

  @Test
  void aSlowCallerHoldsBackTheApplication() throws Exception {
    start(app.getPort());
    ClientCall<String, String> call = channel.newCall(FLOOD, options());
    BlockingQueue<String> received = new LinkedBlockingQueue<>();
    CompletableFuture<Status> closed = new CompletableFuture<>();
    call.start(
        new ClientCall.Listener<>() {
          @Override
          public void onMessage(String message) {
            received.add(message);
          }

          @Override
          public void onClose(Status status, Metadata trailers) {
            closed.complete(status);
          }
        },
        new Metadata());
    call.sendMessage("go");
    call.halfClose();
    call.request(1); // one message, then nothing until asked

    // The application must find its stream not ready long before 32 MiB: the caller's window
    // (1 MiB) fills, the relay stops reading the application's stream, whose window fills too.
    long sentWhenBlocked = floodBlocked.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertThat(sentWhenBlocked).isLessThan(8L << 20);
    assertThat(received.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).hasSize(CHUNK);

    // Asking for the rest lets it all through.
    call.request(Integer.MAX_VALUE);
    assertThat(closed.get(WAIT.toSeconds(), TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.OK);
    assertThat(received.size() + 1L).isEqualTo(FLOOD_BYTES / CHUNK);
  }

  @Test
  void aDeniedMethodGetsPermissionDeniedNamingThePolicy() throws Exception {
    // Shop may call Unary and nothing else of the service.
    policy =
        new AuthorizationPolicy(
            "hello-authz",
            AuthorizationPolicy.Mode.ENFORCE,
            AuthorizationPolicy.Default.DENY,
            List.of(new AuthorizationPolicy.Rule(
                "shop-unary", true, List.of(), List.of("shop"), List.of(), "/" + SERVICE + "/Unary", List.of("POST"))));
    start(app.getPort());

    assertThat(ClientCalls.blockingUnaryCall(channel, UNARY, options(), "ok")).isEqualTo("ok from " + CLIENT);
    assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel, FAIL, options(), "x"))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
              assertThat(e.getStatus().getDescription())
                  .isEqualTo("jmesh: denied by authorization policy hello-authz/default:deny: " + CLIENT
                      + " may not call /" + SERVICE + "/Fail");
            });
    // A denied streaming call too: the caller's stream ends at once, with the same status.
    Iterator<String> counted = ClientCalls.blockingServerStreamingCall(channel, COUNT, options(), "3");
    assertThatThrownBy(counted::hasNext)
        .isInstanceOfSatisfying(
            StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED));

    await().atMost(WAIT).until(() -> stats.requests() == 3);
    assertThat(stats.denied()).isEqualTo(2);
    assertThat(stats.succeeded()).isEqualTo(1);
  }

  @Test
  void anApplicationThatIsDownGivesUnavailable() throws Exception {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closedPort = s.getLocalPort();
    }
    start(closedPort);

    assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel, UNARY, options(), "hi"))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
              assertThat(e.getStatus().getDescription())
                  .startsWith("jmesh: the application on 127.0.0.1:" + closedPort + " did not answer: ");
            });
    assertThat(stats.unreachable()).isEqualTo(1);
  }

  @Test
  void manyConcurrentCallsShareOneConnectionPerLoop() throws Exception {
    start(app.getPort());
    List<CompletableFuture<String>> answers = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      CompletableFuture<String> answer = new CompletableFuture<>();
      ClientCalls.asyncUnaryCall(channel.newCall(UNARY, options()), "n" + i, observer(answer));
      answers.add(answer);
    }
    for (int i = 0; i < 50; i++) {
      assertThat(answers.get(i).get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo("n" + i + " from " + CLIENT);
    }
    // One caller connection lives on one loop: its calls share that loop's one h2c connection.
    assertThat(terminator.grpcConnections()).isEqualTo(1);
  }

  @Test
  void callsBeyondTheApplicationsStreamLimitGoToMoreConnections() throws Exception {
    // The application takes two streams per connection; ten calls must be open at once.
    restartApp(b -> b.maxConcurrentCallsPerConnection(2));
    start(app.getPort());
    List<CompletableFuture<String>> answers = new ArrayList<>();
    for (int i = 0; i < GATED; i++) {
      CompletableFuture<String> answer = new CompletableFuture<>();
      ClientCalls.asyncUnaryCall(channel.newCall(GATE, options()), "g" + i, observer(answer));
      answers.add(answer);
    }

    for (CompletableFuture<String> answer : answers) {
      assertThat(answer.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo("through");
    }
    assertThat(appConnections).hasSizeGreaterThanOrEqualTo(GATED / 2);
    assertThat(stats.unreachable()).isZero();
  }

  @Test
  void aCallBeyondTheCapOnConnectionsToTheApplicationGetsUnavailableAtOnce() throws Exception {
    // One stream per application connection, and one such connection per event loop: the
    // caller's connection lives on one loop, so its second open call finds no room.
    restartApp(b -> b.maxConcurrentCallsPerConnection(1));
    start(app.getPort(), InboundTerminator.Limits.defaults().withMaxGrpcConnectionsToApplication(2));
    CompletableFuture<String> held = new CompletableFuture<>();
    ClientCalls.asyncUnaryCall(channel.newCall(GATE, options()), "held", observer(held)); // stays open
    await().atMost(WAIT).until(() -> appConnections.size() == 1);

    assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel, UNARY, options(), "one more"))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
              assertThat(e.getStatus().getDescription()).contains("maxGrpcConnectionsToApplication");
            });
    assertThat(stats.refusals(InboundStats.Refusal.GRPC_CONNECTIONS)).isEqualTo(1);
    assertThat(terminator.grpcConnections()).isEqualTo(1);
    assertThat(held).isNotDone();
  }

  @Test
  void aConnectionTheApplicationRetiresWithGoawayIsReplaced() throws Exception {
    // The application ends each connection after 200 ms (GOAWAY, in-flight calls may finish).
    restartApp(b -> b.maxConnectionAge(200, TimeUnit.MILLISECONDS).maxConnectionAgeGrace(10, TimeUnit.SECONDS));
    start(app.getPort());

    // Calls keep succeeding while the connections under them are replaced; every one must.
    await()
        .atMost(WAIT)
        .until(
            () -> {
              assertThat(ClientCalls.blockingUnaryCall(channel, UNARY, options(), "x")).isEqualTo("x from " + CLIENT);
              return appConnections.size() >= 3;
            });
    assertThat(stats.unreachable()).isZero();
  }

  @Test
  void theServerSpanContinuesTheCallersTraceAndIsTheApplicationsParent() throws Exception {
    tracing =
        Tracing.create(
            TraceSettings.from(java.util.Map.of("OTEL_TRACES_EXPORTER", "otlp")::get, k -> null, "hello"),
            SimpleSpanProcessor.create(spans),
            Ticker.system());
    start(app.getPort());
    Metadata parent = new Metadata();
    parent.put(TRACEPARENT, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");

    ClientCalls.blockingUnaryCall(
        io.grpc.ClientInterceptors.intercept(channel, io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(parent)),
        UNARY,
        options(),
        "traced");

    await().atMost(WAIT).until(() -> spans.getFinishedSpanItems().size() == 1);
    SpanData span = spans.getFinishedSpanItems().get(0);
    assertThat(span.getKind()).isEqualTo(SpanKind.SERVER);
    assertThat(span.getTraceId()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
    assertThat(span.getParentSpanId()).isEqualTo("00f067aa0ba902b7");
    assertThat(span.getAttributes().get(AttributeKey.stringKey("url.path"))).isEqualTo("/" + SERVICE + "/Unary");
    assertThat(span.getAttributes().get(AttributeKey.longKey("http.response.status_code"))).isEqualTo(200L);
    // The application got the server span as its parent.
    assertThat(traceparents.poll(WAIT.toSeconds(), TimeUnit.SECONDS))
        .isEqualTo("00-4bf92f3577b34da6a3ce929d0e0e4736-" + span.getSpanId() + "-01");
  }

  private static StreamObserver<String> observer(CompletableFuture<String> answer) {
    return new StreamObserver<>() {
      @Override
      public void onNext(String value) {
        answer.complete(value);
      }

      @Override
      public void onError(Throwable t) {
        answer.completeExceptionally(t);
      }

      @Override
      public void onCompleted() {
        answer.complete(null); // no-op when a value came
      }
    };
  }
}
