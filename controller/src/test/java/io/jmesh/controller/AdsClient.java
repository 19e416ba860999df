package io.jmesh.controller;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A bare ADS client on loopback for tests: sends the requests the test writes, queues what the
 * server sends. Not an xDS client: it ACKs and NACKs only when told to.
 */
final class AdsClient implements AutoCloseable {
  static final Duration TIMEOUT = Duration.ofSeconds(10);

  private final ManagedChannel channel;
  private final StreamObserver<DiscoveryRequest> requests;
  private final BlockingQueue<DiscoveryResponse> responses = new LinkedBlockingQueue<>();
  private final BlockingQueue<Throwable> errors = new LinkedBlockingQueue<>();

  AdsClient(int port) {
    this(NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build());
  }

  /** A stream on {@code channel} (TLS, with or without a client certificate); closes it. */
  AdsClient(ManagedChannel channel) {
    this.channel = channel;
    requests =
        AggregatedDiscoveryServiceGrpc.newStub(channel)
            .streamAggregatedResources(
                new StreamObserver<>() {
                  @Override
                  public void onNext(DiscoveryResponse response) {
                    responses.add(response);
                  }

                  @Override
                  public void onError(Throwable t) {
                    errors.add(t);
                  }

                  @Override
                  public void onCompleted() {}
                });
  }

  static Node node(String id) {
    return Node.newBuilder()
        .setId(id)
        .setCluster("hello.default")
        .setUserAgentName("ads-test-client")
        .build();
  }

  /** Subscribes (empty nonce): {@code names} empty means every resource of the type. */
  void subscribe(Node node, String typeUrl, List<String> names) {
    DiscoveryRequest.Builder b =
        DiscoveryRequest.newBuilder().setTypeUrl(typeUrl).addAllResourceNames(names);
    if (node != null) {
      b.setNode(node);
    }
    requests.onNext(b.build());
  }

  /** Subscribes on a new stream naming {@code version}, the one held: as an agent reconnects. */
  void resume(Node node, String typeUrl, List<String> names, String version) {
    requests.onNext(
        DiscoveryRequest.newBuilder()
            .setNode(node)
            .setTypeUrl(typeUrl)
            .setVersionInfo(version)
            .addAllResourceNames(names)
            .build());
  }

  /** Accepts {@code response}, keeping the subscription {@code names}. */
  void ack(DiscoveryResponse response, List<String> names) {
    requests.onNext(
        DiscoveryRequest.newBuilder()
            .setTypeUrl(response.getTypeUrl())
            .setVersionInfo(response.getVersionInfo())
            .setResponseNonce(response.getNonce())
            .addAllResourceNames(names)
            .build());
  }

  /** Rejects {@code response}: the request repeats {@code keptVersion}, as xDS says. */
  void nack(DiscoveryResponse response, String keptVersion, List<String> names, String error) {
    requests.onNext(
        DiscoveryRequest.newBuilder()
            .setTypeUrl(response.getTypeUrl())
            .setVersionInfo(keptVersion)
            .setResponseNonce(response.getNonce())
            .addAllResourceNames(names)
            .setErrorDetail(com.google.rpc.Status.newBuilder().setCode(3).setMessage(error))
            .build());
  }

  /** The next response, which must be of {@code typeUrl}; waits at most {@link #TIMEOUT}. */
  DiscoveryResponse next(String typeUrl) throws InterruptedException {
    DiscoveryResponse response = responses.poll(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    assertThat(response)
        .as("a %s response within %s (stream errors: %s)", typeUrl, TIMEOUT, errors)
        .isNotNull();
    assertThat(response.getTypeUrl()).isEqualTo(typeUrl);
    return response;
  }

  /**
   * The next responses, one of each of {@code typeUrls} in any order (a push goes out in
   * java-control-plane's order, CDS, EDS, LDS, RDS); a second response of one type fails.
   */
  Map<String, DiscoveryResponse> nextOfEach(String... typeUrls) throws InterruptedException {
    Map<String, DiscoveryResponse> out = new HashMap<>();
    for (int i = 0; i < typeUrls.length; i++) {
      DiscoveryResponse response = responses.poll(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      assertThat(response)
          .as("%d responses of %s within %s each, got %s (stream errors: %s)",
              typeUrls.length, List.of(typeUrls), TIMEOUT, out.keySet(), errors)
          .isNotNull();
      assertThat(List.of(typeUrls)).contains(response.getTypeUrl());
      DiscoveryResponse previous = out.put(response.getTypeUrl(), response);
      assertThat(previous).as("a second %s response: %s", response.getTypeUrl(), response).isNull();
    }
    return out;
  }

  /** Ends the stream from the client side, as an agent that stops does. */
  void finish() {
    requests.onCompleted();
  }

  @Override
  public void close() throws InterruptedException {
    channel.shutdownNow();
    channel.awaitTermination(5, TimeUnit.SECONDS);
  }
}
