package io.jmesh.runtime.identity;

import io.grpc.CallCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.jmesh.runtime.identity.ca.IstioCertificateRequest;
import io.jmesh.runtime.identity.ca.IstioCertificateResponse;
import io.jmesh.runtime.identity.ca.IstioCertificateServiceGrpc;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * The controller's CA over gRPC ({@code istio.v1.auth.IstioCertificateService/CreateCertificate}),
 * proving the workload's identity with {@code authorization: Bearer <token>}. Each request has a
 * 10 s deadline.
 */
public final class GrpcCertificateClient implements CertificateClient {
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  private static final long DEADLINE_SECONDS = 10;

  private final String target;
  private final ManagedChannel channel;
  private final IstioCertificateServiceGrpc.IstioCertificateServiceStub stub;

  /**
   * @param host the controller's host
   * @param port its gRPC port (the xDS port serves the CA too)
   * @param token the bearer token that proves this workload's identity; never logged
   * @param executor where gRPC runs callbacks
   */
  public GrpcCertificateClient(String host, int port, String token, Executor executor) {
    this.target = host + ":" + port;
    // Plaintext to the controller for now: the CSR and the certificates are public, the token is
    // not. TLS to the controller's port is the next step (controller README, "Certificate authority").
    this.channel = NettyChannelBuilder.forAddress(host, port).usePlaintext().executor(executor).build();
    this.stub =
        IstioCertificateServiceGrpc.newStub(channel).withCallCredentials(new BearerToken(token));
  }

  @Override
  public CompletionStage<List<String>> create(String csrPem, Duration lifetime) {
    CompletableFuture<List<String>> answer = new CompletableFuture<>();
    IstioCertificateRequest request =
        IstioCertificateRequest.newBuilder()
            .setCsr(csrPem)
            .setValidityDuration(lifetime.toSeconds())
            .build();
    stub.withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS)
        .createCertificate(
            request,
            new StreamObserver<IstioCertificateResponse>() {
              @Override
              public void onNext(IstioCertificateResponse response) {
                answer.complete(List.copyOf(response.getCertChainList()));
              }

              @Override
              public void onError(Throwable t) {
                Status s = Status.fromThrowable(t);
                answer.completeExceptionally(
                    new IllegalStateException(
                        "CA " + target + ": " + s.getCode()
                            + (s.getDescription() == null ? "" : ": " + s.getDescription()),
                        t));
              }

              @Override
              public void onCompleted() {
                answer.completeExceptionally(new IllegalStateException("CA " + target + ": no answer"));
              }
            });
    return answer;
  }

  @Override
  public String target() {
    return target;
  }

  @Override
  public void close() {
    channel.shutdownNow();
  }

  private static final class BearerToken extends CallCredentials {
    private final String token;

    BearerToken(String token) {
      this.token = token;
    }

    @Override
    public void applyRequestMetadata(RequestInfo info, Executor executor, MetadataApplier applier) {
      Metadata headers = new Metadata();
      headers.put(AUTHORIZATION, "Bearer " + token);
      applier.apply(headers);
    }
  }
}
