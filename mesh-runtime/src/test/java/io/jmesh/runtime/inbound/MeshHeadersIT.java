package io.jmesh.runtime.inbound;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.grpc.CallOptions;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.ServerCalls;
import io.jmesh.runtime.identity.MeshTls;
import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.identity.TestIdentities;
import io.jmesh.runtime.identity.TlsRefusals;
import io.jmesh.runtime.time.FakeTicker;
import io.jmesh.runtime.trace.Tracing;
import io.netty.handler.ssl.JdkSslContext;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * No {@code x-jmesh-*} header a caller writes reaches the application, over every path of the
 * terminator, with real sockets and real mesh TLS: HTTP/1.1 over TLS and over plaintext
 * (permissive), HTTP/2 converted to HTTP/1.1, and gRPC relayed. The applications echo every
 * {@code x-jmesh-*} header they got; what they may see is only what the terminator wrote: the
 * proven identity, and the caller's deadline written again.
 */
class MeshHeadersIT {
  private static final String TD = "cluster.local";
  private static final SpiffeId SERVER = SpiffeId.of(TD, "default", "hello");
  private static final SpiffeId CLIENT = SpiffeId.of(TD, "shop", "web");
  private static final String FORGED_ID = "spiffe://evil/ns/x/sa/y";

  private final TestIdentities mesh = TestIdentities.mesh("mesh");
  private final TlsRefusals refusals = new TlsRefusals();
  private final InboundStats stats = new InboundStats(io.jmesh.runtime.telemetry.MeshMetrics.noop().server("unknown"));
  /** Never moved: a deadline written again keeps exactly the value the caller sent. */
  private final FakeTicker ticker = new FakeTicker();
  private final ExecutorService appThreads = Executors.newFixedThreadPool(4);
  private HttpServer app;
  private InboundTerminator terminator;
  private volatile AuthorizationPolicy policy = AuthorizationPolicy.allAuthenticated();

  @BeforeEach
  void setUp() throws IOException {
    app = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
    app.setExecutor(appThreads);
    app.createContext(
        "/",
        exchange -> {
          exchange.getRequestBody().readAllBytes();
          Map<String, String> mine = new TreeMap<>();
          exchange.getRequestHeaders().forEach((name, values) -> {
            if (name.toLowerCase(Locale.ROOT).startsWith("x-jmesh-")) {
              mine.put(name.toLowerCase(Locale.ROOT), String.join("|", values));
            }
          });
          byte[] body = mine.toString().getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, body.length);
          try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
          }
        });
    app.start();
  }

  @AfterEach
  void tearDown() {
    if (terminator != null) {
      terminator.close();
    }
    app.stop(0);
    appThreads.shutdownNow();
  }

  private void start(InboundTerminator.Mode mode, int appPort) throws Exception {
    terminator =
        InboundTerminator.start(
            InboundTerminator.Options.of(
                    new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                    new InetSocketAddress(InetAddress.getLoopbackAddress(), appPort))
                .withMode(mode),
            mesh.tls(SERVER, refusals),
            () -> policy,
            stats,
            Tracing.disabled(),
            ticker);
  }

  private HttpRequest forged(String scheme, String deadline) {
    return HttpRequest.newBuilder(URI.create(scheme + "://127.0.0.1:" + terminator.port() + "/echo"))
        .header("x-jmesh-client-id", FORGED_ID)
        .header("X-Jmesh-Anything", "forged")
        .header("X-JMESH-REFUSED", "overloaded")
        .header("x-jmesh-deadline-ms", deadline)
        .timeout(Duration.ofSeconds(10))
        .build();
  }

  private String send(HttpClient client, HttpRequest request) throws Exception {
    HttpResponse<String> r = client.send(request, HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    return r.body();
  }

  private HttpClient tlsClient(HttpClient.Version version) {
    MeshTls tls = mesh.tls(CLIENT, refusals);
    return HttpClient.newBuilder()
        .sslContext(tls.clientContext("hello.default", Set.of(SERVER)))
        .version(version)
        .connectTimeout(Duration.ofSeconds(10))
        .build();
  }

  @Test
  void overTlsHttp11TheApplicationSeesOnlyTheProvenIdentityAndTheDeadline() throws Exception {
    start(InboundTerminator.Mode.STRICT, app.getAddress().getPort());
    HttpClient client = tlsClient(HttpClient.Version.HTTP_1_1);

    String seen = send(client, forged("https", "1500"));

    assertThat(seen).isEqualTo("{x-jmesh-client-id=" + CLIENT + ", x-jmesh-deadline-ms=1500}");
  }

  @Test
  void overHttp2ConvertedToHttp11TheSame() throws Exception {
    start(InboundTerminator.Mode.STRICT, app.getAddress().getPort());
    HttpClient client = tlsClient(HttpClient.Version.HTTP_2);

    HttpResponse<String> r = client.send(forged("https", "1500"), HttpResponse.BodyHandlers.ofString());

    assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_2);
    assertThat(r.body()).isEqualTo("{x-jmesh-client-id=" + CLIENT + ", x-jmesh-deadline-ms=1500}");
  }

  @Test
  void aMalformedDeadlineIsDroppedNotPassedOn() throws Exception {
    start(InboundTerminator.Mode.STRICT, app.getAddress().getPort());

    String seen = send(tlsClient(HttpClient.Version.HTTP_2), forged("https", "soon"));

    assertThat(seen).isEqualTo("{x-jmesh-client-id=" + CLIENT + "}");
  }

  @Test
  void headerNamesInAnyCaseAndRepeatedAreAllRemoved() throws Exception {
    start(InboundTerminator.Mode.STRICT, app.getAddress().getPort());
    MeshTls tls = mesh.tls(CLIENT, refusals);

    try (SSLSocket s =
        (SSLSocket) tls.clientContext("hello.default", Set.of(SERVER)).getSocketFactory()
            .createSocket(InetAddress.getLoopbackAddress(), terminator.port())) {
      s.setSoTimeout(10_000);
      SSLParameters params = s.getSSLParameters();
      params.setApplicationProtocols(new String[] {"http/1.1"});
      s.setSSLParameters(params);
      s.getOutputStream().write(
          ("GET /raw HTTP/1.1\r\nHost: hello\r\nX-JMESH-CLIENT-ID: " + FORGED_ID + "\r\nx-JmEsH-client-id: "
                  + FORGED_ID + "\r\nX-Jmesh-Anything: a\r\nx-jmesh-anything: b\r\nConnection: close\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);

      assertThat(answer).startsWith("HTTP/1.1 200 OK").endsWith("\r\n\r\n{x-jmesh-client-id=" + CLIENT + "}");
    }
  }

  @Test
  void permissivePlaintextIsStrippedAndGetsNoIdentity() throws Exception {
    policy = new AuthorizationPolicy("migrating", AuthorizationPolicy.Mode.ENFORCE, AuthorizationPolicy.Default.ALL, List.of());
    start(InboundTerminator.Mode.PERMISSIVE, app.getAddress().getPort());
    HttpClient plain = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    String seen = send(plain, forged("http", "1500"));

    // No identity at all: a plaintext caller proves none. Its deadline only shortens the
    // application's own, so it is carried, written again.
    assertThat(seen).isEqualTo("{x-jmesh-deadline-ms=1500}");
  }

  @Test
  void grpcCallsCarryOnlyTheProvenIdentityAndTheDeadline() throws Exception {
    MethodDescriptor<String, String> headers =
        MethodDescriptor.<String, String>newBuilder(GrpcInboundIT.UTF8, GrpcInboundIT.UTF8)
            .setType(MethodDescriptor.MethodType.UNARY)
            .setFullMethodName("jmesh.test.Echo/Headers")
            .build();
    io.grpc.Context.Key<String> seenKey = io.grpc.Context.key("seen");
    ServerInterceptor echoHeaders =
        new ServerInterceptor() {
          @Override
          public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata md, ServerCallHandler<Q, A> next) {
            Map<String, String> mine = new TreeMap<>();
            for (String key : md.keys()) {
              if (key.startsWith("x-jmesh-")) {
                mine.put(key, String.join("|", md.getAll(Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER))));
              }
            }
            return io.grpc.Contexts.interceptCall(io.grpc.Context.current().withValue(seenKey, mine.toString()), call, md, next);
          }
        };
    ServerServiceDefinition service =
        ServerInterceptors.intercept(
            ServerServiceDefinition.builder("jmesh.test.Echo")
                .addMethod(headers, ServerCalls.asyncUnaryCall((req, out) -> {
                  out.onNext(seenKey.get());
                  out.onCompleted();
                }))
                .build(),
            echoHeaders);
    Server grpcApp =
        NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).addService(service).build().start();
    ManagedChannel channel = null;
    try {
      start(InboundTerminator.Mode.STRICT, grpcApp.getPort());
      JdkSslContext ssl = GrpcInboundIT.callerSsl(mesh.tls(CLIENT, refusals));
      channel = NettyChannelBuilder.forAddress("127.0.0.1", terminator.port()).sslContext(ssl).overrideAuthority("hello.default").build();
      Metadata forged = new Metadata();
      forged.put(Metadata.Key.of("x-jmesh-client-id", Metadata.ASCII_STRING_MARSHALLER), FORGED_ID);
      forged.put(Metadata.Key.of("x-jmesh-anything", Metadata.ASCII_STRING_MARSHALLER), "forged");
      forged.put(Metadata.Key.of("x-jmesh-deadline-ms", Metadata.ASCII_STRING_MARSHALLER), "1500");

      String seen =
          ClientCalls.blockingUnaryCall(
              ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(forged)),
              headers,
              CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS),
              "hi");

      assertThat(seen).isEqualTo("{x-jmesh-client-id=" + CLIENT + ", x-jmesh-deadline-ms=1500}");
    } finally {
      if (channel != null) {
        channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
      }
      grpcApp.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }
  }
}
