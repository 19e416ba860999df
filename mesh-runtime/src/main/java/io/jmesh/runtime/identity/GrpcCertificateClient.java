package io.jmesh.runtime.identity;

import io.grpc.CallCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.jmesh.runtime.identity.ca.IstioCertificateRequest;
import io.jmesh.runtime.identity.ca.IstioCertificateResponse;
import io.jmesh.runtime.identity.ca.IstioCertificateServiceGrpc;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import javax.net.ssl.SSLException;

/**
 * The controller's CA over gRPC ({@code istio.v1.auth.IstioCertificateService/CreateCertificate}),
 * proving the workload's identity with {@code authorization: Bearer <token>}. The token is asked of
 * its source at each request (a {@link TokenFile} reads its file again, so a token the kubelet
 * rotated is the one sent at the next renewal). Each request has a 10 s deadline.
 *
 * <p>The channel is the controller's {@link ControllerTls}: TLS verified with trust anchors from a
 * file, so that a man in the middle gets neither the token nor the chance to answer; and an answer
 * whose chain does not root in those anchors is refused (it would hand the runtime foreign mesh
 * anchors). Plaintext only when explicitly asked for.
 */
public final class GrpcCertificateClient implements CertificateClient {
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  private static final long DEADLINE_SECONDS = 10;

  private final String target;
  private final ControllerTls tls;
  private final ManagedChannel channel;
  private final IstioCertificateServiceGrpc.IstioCertificateServiceStub stub;

  /**
   * @param host the controller's host
   * @param port its gRPC port (the xDS port serves the CA too)
   * @param token gives the bearer token that proves this workload's identity, at each request (on
   *     {@code executor}: it may read a file); never logged
   * @param executor where gRPC runs callbacks
   * @param tls how the controller is verified
   */
  public GrpcCertificateClient(
      String host, int port, Supplier<String> token, Executor executor, ControllerTls tls) {
    this.target = host + ":" + port;
    this.tls = Objects.requireNonNull(tls, "tls");
    this.channel = tls.channel(host, port).executor(executor).build();
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
                List<String> chain = List.copyOf(response.getCertChainList());
                try {
                  tls.requireRootedInAnchors(chain, Instant.now());
                } catch (GeneralSecurityException e) {
                  answer.completeExceptionally(
                      new IllegalStateException("CA " + target + ": " + e.getMessage(), e));
                  return;
                }
                answer.complete(chain);
              }

              @Override
              public void onError(Throwable t) {
                Status s = Status.fromThrowable(t);
                SSLException refused = ControllerTls.tlsFailure(t);
                answer.completeExceptionally(
                    new IllegalStateException(
                        "CA " + target + ": " + s.getCode()
                            + (s.getDescription() == null ? "" : ": " + s.getDescription())
                            + (refused == null
                                ? ""
                                : ": TLS handshake refused: " + refused.getMessage()
                                    + " (expected: " + tls.expectation() + ")"),
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

  /** Asks the source for the token at each call, off the event loop: the source may read a file. */
  private static final class BearerToken extends CallCredentials {
    private final Supplier<String> token;

    BearerToken(Supplier<String> token) {
      this.token = Objects.requireNonNull(token, "token");
    }

    @Override
    public void applyRequestMetadata(RequestInfo info, Executor executor, MetadataApplier applier) {
      executor.execute(() -> {
        String t;
        try {
          t = token.get();
        } catch (RuntimeException e) {
          applier.fail(Status.UNAUTHENTICATED.withDescription("no bootstrap token: " + e).withCause(e));
          return;
        }
        if (t == null || t.isEmpty()) {
          applier.fail(Status.UNAUTHENTICATED.withDescription("no bootstrap token (expected: a token from its source)"));
          return;
        }
        Metadata headers = new Metadata();
        headers.put(AUTHORIZATION, "Bearer " + t);
        applier.apply(headers);
      });
    }
  }
}
