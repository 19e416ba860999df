package io.jmesh.runtime.identity;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.jmesh.runtime.identity.ca.IstioCertificateRequest;
import io.jmesh.runtime.identity.ca.IstioCertificateResponse;
import io.jmesh.runtime.identity.ca.IstioCertificateServiceGrpc;
import io.jmesh.runtime.retry.Backoff;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A renewal after the kubelet rotated the projected token sends the new token: a real gRPC CA over
 * real TLS on loopback records the {@code authorization} header of each request; the renewal is
 * triggered with the manager's fake clock, not waited for.
 */
class RotatedTokenIT {
  private static final SpiffeId ME = SpiffeId.of("cluster.local", "shop", "hello");
  private static final String CA_NAME = "jmesh-controller.test";

  @TempDir Path dir;
  private final FakeTime time = new FakeTime(Instant.now());
  private final List<String> authorizations = new CopyOnWriteArrayList<>();
  private final ExecutorService grpc = Executors.newSingleThreadExecutor();
  private TestCa ca;
  private Server server;
  private GrpcCertificateClient client;
  private IdentityManager manager;

  @BeforeEach
  void startCa() throws Exception {
    ca = new TestCa("mesh", Instant.now());
    KeyPair serverKeys = Csr.newKeyPair();
    X509Certificate serverCert =
        ca.server(serverKeys.getPublic(), CA_NAME, Instant.now().minus(Duration.ofMinutes(1)), Instant.now().plus(Duration.ofDays(3)));
    IstioCertificateServiceGrpc.IstioCertificateServiceImplBase service =
        new IstioCertificateServiceGrpc.IstioCertificateServiceImplBase() {
          @Override
          public void createCertificate(
              IstioCertificateRequest request, StreamObserver<IstioCertificateResponse> answer) {
            try {
              // Valid from now (real time, which the client checks the chain at) for two days
              // (past the fake clock's renewal, which the manager checks the leaf at).
              answer.onNext(
                  IstioCertificateResponse.newBuilder()
                      .addAllCertChain(ca.answer(request.getCsr(), Instant.now(), Duration.ofDays(2)))
                      .build());
              answer.onCompleted();
            } catch (Exception e) {
              answer.onError(e);
            }
          }
        };
    Metadata.Key<String> authorization = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    ServerInterceptor recorder =
        new ServerInterceptor() {
          @Override
          public <Q, A> ServerCall.Listener<Q> interceptCall(
              ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
            authorizations.add(String.valueOf(headers.get(authorization)));
            return next.startCall(call, headers);
          }
        };
    server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .sslContext(
                GrpcSslContexts.configure(
                        SslContextBuilder.forServer(serverKeys.getPrivate(), serverCert, ca.issuer), SslProvider.JDK)
                    .build())
            .addService(ServerInterceptors.intercept(service, recorder))
            .build()
            .start();
  }

  @AfterEach
  void stop() throws Exception {
    if (manager != null) {
      manager.close();
    }
    if (client != null) {
      client.close();
    }
    server.shutdownNow();
    grpc.shutdownNow();
    assertThat(server.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    assertThat(grpc.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void aRenewalAfterTheKubeletRotatedTheTokenSendsTheNewToken() throws Exception {
    ProjectedVolume volume = new ProjectedVolume(Files.createDirectory(dir.resolve("jmesh")), "jmesh1.first");
    Path anchors = Files.writeString(dir.resolve("trust-anchors.pem"), Pem.encode(ca.anchor));

    client =
        new GrpcCertificateClient(
            "127.0.0.1",
            server.getPort(),
            new TokenFile(volume.token(), "jmesh1.first"),
            grpc,
            ControllerTls.fromAnchorsFile(anchors, CA_NAME, null));
    manager =
        new IdentityManager(
            ME,
            answeredOnTheTestThread(client),
            time,
            time.clock(),
            Backoff.exponential(Duration.ofSeconds(1), Duration.ofSeconds(60), 0, new SplittableRandom(1)),
            IdentityManager.DEFAULT_LIFETIME);
    manager.start();
    time.runDue();
    WorkloadCertificate firstCert = manager.current();
    assertThat(firstCert).as("first certificate; last error: %s", manager.lastError()).isNotNull();
    assertThat(authorizations).containsExactly("Bearer jmesh1.first");

    volume.rotate("jmesh1.second"); // as the kubelet does before the token expires

    // The renewal is the one timer pending: move the clock to it.
    assertThat(time.pending()).hasSize(1);
    time.forward(time.pending().get(0));

    assertThat(authorizations).containsExactly("Bearer jmesh1.first", "Bearer jmesh1.second");
    assertThat(manager.lastError()).isNull();
    assertThat(manager.current()).isNotNull().isNotSameAs(firstCert);
  }

  /**
   * The manager's clock is single-threaded; so that every step runs on the test thread, each
   * answer of the real CA is awaited (bounded) before the manager sees it.
   */
  private static CertificateClient answeredOnTheTestThread(GrpcCertificateClient real) {
    return new CertificateClient() {
      @Override
      public CompletionStage<List<String>> create(String csrPem, Duration lifetime) {
        CompletableFuture<List<String>> answer = new CompletableFuture<>();
        try {
          answer.complete(real.create(csrPem, lifetime).toCompletableFuture().get(20, TimeUnit.SECONDS));
        } catch (Exception e) {
          answer.completeExceptionally(e);
        }
        return answer;
      }

      @Override
      public String target() {
        return real.target();
      }

      @Override
      public void close() {
        real.close();
      }
    };
  }
}
