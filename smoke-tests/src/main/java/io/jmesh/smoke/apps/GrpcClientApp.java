package io.jmesh.smoke.apps;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.MethodDescriptor;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A gRPC application with no mesh code: one plain channel, {@code
 * ManagedChannelBuilder.forTarget(target).usePlaintext()}, exactly as an application inside a
 * mesh writes it, and {@code --count} calls of {@code hello.Greeter} one after the other. Prints
 * {@code RESULT <answer>} (the first answer of a stream, with {@code messages=<n>}) or {@code ERROR
 * <status code> <description>} per call, then {@code DONE ok=<n> failed=<n>}.
 *
 * <p>Usage: {@code GrpcClientApp --target hello:8080 --count 10 [--method unary|stream] [--rps 50]
 * [--deadline-ms 5000] [--also-target impostor:8080 --also-count 2] [--linger true]}. Without
 * {@code --rps} calls go back to back; with it they start on a fixed schedule. {@code
 * --also-target} makes a second channel for a second batch, in the same JVM; {@code --linger true}
 * keeps the JVM (and its agent's admin endpoint) up until a line arrives on standard input.
 */
public final class GrpcClientApp {
  private GrpcClientApp() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> opts = HelloServer.parse(args);
    String target = opts.get("target");
    if (target == null) {
      throw new IllegalArgumentException("--target is missing (expected: host:port, for example hello:8080)");
    }
    int count = Integer.parseInt(opts.getOrDefault("count", "1"));
    MethodDescriptor<String, String> method = GreeterService.byOption(opts.getOrDefault("method", "unary"));
    double rps = Double.parseDouble(opts.getOrDefault("rps", "0"));
    long deadlineMs = Long.parseLong(opts.getOrDefault("deadline-ms", "5000"));

    int[] okFailed = new int[2];
    run(target, count, method, rps, deadlineMs, okFailed);
    String also = opts.get("also-target");
    if (also != null) {
      run(also, Integer.parseInt(opts.getOrDefault("also-count", "1")), method, rps, deadlineMs, okFailed);
    }
    System.out.println("DONE ok=" + okFailed[0] + " failed=" + okFailed[1]);
    System.out.flush();
    if (Boolean.parseBoolean(opts.getOrDefault("linger", "false"))) {
      new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
    }
    System.exit(0);
  }

  private static void run(
      String target, int count, MethodDescriptor<String, String> method, double rps, long deadlineMs, int[] okFailed)
      throws InterruptedException {
    ManagedChannel channel = ManagedChannelBuilder.forTarget(target).usePlaintext().build();
    long period = rps > 0 ? (long) (TimeUnit.SECONDS.toNanos(1) / rps) : 0;
    long start = System.nanoTime();
    try {
      for (int i = 0; i < count; i++) {
        if (period > 0) {
          // A fixed schedule, so that a slow call does not lower the rate of the ones after it.
          long wait = start + i * period - System.nanoTime();
          if (wait > 0) {
            LockSupport.parkNanos(wait);
          }
        }
        CallOptions options = CallOptions.DEFAULT.withDeadlineAfter(deadlineMs, TimeUnit.MILLISECONDS);
        String request = "call-" + i;
        try {
          String answer;
          if (method.getType() == MethodDescriptor.MethodType.UNARY) {
            answer = unpadded(ClientCalls.blockingUnaryCall(channel, method, options, request));
          } else {
            Iterator<String> answers = ClientCalls.blockingServerStreamingCall(channel, method, options, request);
            answer = unpadded(answers.next());
            int messages = 1;
            while (answers.hasNext()) {
              answers.next();
              messages++;
            }
            answer = answer + " messages=" + messages;
          }
          System.out.println("RESULT " + answer);
          okFailed[0]++;
        } catch (StatusRuntimeException e) {
          System.out.println("ERROR " + e.getStatus().getCode() + " " + e.getStatus().getDescription());
          okFailed[1]++;
        }
      }
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /** The answer without the padding that {@code --body-bytes} added. */
  private static String unpadded(String answer) {
    int end = answer.length();
    while (end > 0 && answer.charAt(end - 1) == '.') {
      end--;
    }
    return answer.substring(0, end);
  }
}
