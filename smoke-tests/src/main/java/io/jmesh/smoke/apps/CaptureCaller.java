package io.jmesh.smoke.apps;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.stub.ClientCalls;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Calls each of {@code --urls} (comma-separated) with {@code java.net.http} and the gRPC target
 * {@code --grpc} once, printing {@code RESULT <url> <status> <body>} or {@code ERROR <url>
 * <exception>} per call, then {@code DONE}. No mesh code.
 */
public final class CaptureCaller {
  private CaptureCaller() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> opts = HelloServer.parse(args);
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    for (String url : opts.get("urls").split(",")) {
      try {
        HttpResponse<String> r =
            client.send(
                HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        System.out.println("RESULT " + url + " " + r.statusCode() + " " + r.body());
      } catch (Exception e) {
        System.out.println("ERROR " + url + " " + e);
      }
    }
    String target = opts.get("grpc");
    if (target != null) {
      ManagedChannel channel = ManagedChannelBuilder.forTarget(target).usePlaintext().build();
      try {
        String answer =
            ClientCalls.blockingUnaryCall(
                channel,
                GreeterService.SAY_HELLO,
                CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS),
                "capture");
        System.out.println("RESULT grpc://" + target + " 0 " + answer);
      } catch (Exception e) {
        System.out.println("ERROR grpc://" + target + " " + e);
      } finally {
        channel.shutdownNow();
      }
    }
    System.out.println("DONE");
    System.out.flush();
    System.exit(0);
  }
}
