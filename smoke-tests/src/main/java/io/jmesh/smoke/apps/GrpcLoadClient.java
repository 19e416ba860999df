package io.jmesh.smoke.apps;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.stub.ClientCalls;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The benchmark's gRPC load client, an application with no mesh code: one channel, {@code
 * ManagedChannelBuilder.forTarget(--target).usePlaintext()}, and unary {@code
 * /hello.Greeter/SayHello} calls (blocking stub calls, each with a 10 s deadline) driven by {@link
 * LoadClient}'s loops, so that its {@code saturate} (closed loop: at most {@code --concurrency} RPCs
 * in flight) and {@code rate} (open loop at {@code --rps}, latency from the intended send time)
 * modes and its {@code WINDOW}/{@code RESULT} lines are the HTTP client's, with {@code
 * client=grpc} (and {@code once} and {@code footprint}, as there). An RPC that ends with a status other than OK, or an empty answer, is an error.
 *
 * <p>Usage: {@code GrpcLoadClient --target hello:8080 --mode saturate|rate|once|footprint [--seconds 10]
 * [--warmup-seconds 5] [--concurrency 8] [--rps 1000] [--late-ms 10]}
 */
public final class GrpcLoadClient {
  private GrpcLoadClient() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> opts = HelloServer.parse(args);
    String target = opts.get("target");
    if (target == null) {
      throw new IllegalArgumentException("--target is required (expected: host:port, for example hello:8080)");
    }
    String mode = opts.getOrDefault("mode", "saturate");
    double seconds = Double.parseDouble(opts.getOrDefault("seconds", "10"));
    double warmup = Double.parseDouble(opts.getOrDefault("warmup-seconds", "5"));
    int concurrency = Integer.parseInt(opts.getOrDefault("concurrency", "8"));
    int rps = Integer.parseInt(opts.getOrDefault("rps", "1000"));
    long lateNanos = TimeUnit.MILLISECONDS.toNanos(Long.parseLong(opts.getOrDefault("late-ms", "10")));

    ManagedChannel channel = ManagedChannelBuilder.forTarget(target).usePlaintext().build();
    LoadClient.Client client =
        ignoredUrl -> {
          String answer =
              ClientCalls.blockingUnaryCall(
                  channel,
                  GreeterService.SAY_HELLO,
                  CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS),
                  "load");
          return answer.isEmpty() ? -1 : 200;
        };
    String result;
    switch (mode) {
      case "saturate":
        result = LoadClient.saturate(client, "grpc", target, LoadClient.nanos(warmup), LoadClient.nanos(seconds), concurrency);
        break;
      case "rate":
        result =
            LoadClient.rate(
                client, "grpc", target, LoadClient.nanos(warmup), LoadClient.nanos(seconds), concurrency, rps, lateNanos);
        break;
      case "once":
        result = LoadClient.once(client, "grpc", target);
        break;
      case "footprint":
        result =
            LoadClient.footprint(client, "grpc", target, Integer.parseInt(opts.getOrDefault("warmup-calls", "200")),
                LoadClient.nanos(seconds), concurrency, rps, lateNanos);
        break;
      default:
        throw new IllegalArgumentException("--mode " + mode + " (expected: saturate, rate, once or footprint)");
    }
    System.out.println(result + " rss_kb=" + LoadClient.rssKb());
    System.out.flush();
    channel.shutdownNow();
    System.exit(0);
  }
}
